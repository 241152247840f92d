"""purchase fingerprints: the parsed request an order was recorded from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:55:00

Orders stored before this keep NULL: their replays answer as they always did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('request')
