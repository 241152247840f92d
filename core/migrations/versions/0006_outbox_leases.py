"""outbox leases name the process that holds them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:58:00

Rows already in the outbox keep NULL: a lease without a holder simply runs out, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_by', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.drop_column('leased_by')
