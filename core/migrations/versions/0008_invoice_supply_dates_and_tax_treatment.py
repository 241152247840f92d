"""invoice supply dates and tax treatment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00

Invoices are now dated when they are made and keep the date of supply (the purchase or
renewal) beside it, with the tax treatment they were issued under (standard, reverse_charge,
exempt). Issued documents are immutable: their amounts, numbers and snapshots stay as they
are. Invoices and receipts already stored were dated with their order's time, which is their
supply date; those that charged tax were issued at the standard rate. The others' treatment
was never recorded and stays empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tax_treatment', sa.String(length=20), nullable=True))
    op.execute("UPDATE documents SET supplied_at = (SELECT orders.placed_at FROM orders"
               " WHERE orders.id = documents.order_id)"
               " WHERE order_id IS NOT NULL AND kind IN ('invoice', 'receipt')")
    op.execute("UPDATE documents SET tax_treatment = 'standard'"
               " WHERE kind IN ('invoice', 'receipt') AND tax_total > 0")


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('tax_treatment')
        batch_op.drop_column('supplied_at')
