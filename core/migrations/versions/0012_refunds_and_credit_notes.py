"""refunds, each with the credit note it issued

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:00:00

Refunds are kept: the order, the customer, the amount and its tax part, the currency, the
reason, the state (pending, succeeded, failed, canceled), the idempotency key the provider is
asked with, the provider's reference, who asked, whether it ended access, and the credit note
that corrects the order's invoice (credit notes are documents already, of their own kind and
number sequence). Existing orders keep their state; none of them has a refund yet.

Downgrading drops the refunds. Their credit notes stay, as every issued document does, and an
order that was refunded in part reads as paid again, the state the previous release knows it by
(an order refunded in full stays refunded).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('refunds',
    sa.Column('order_id', Id, nullable=False),
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('charge_id', Id, nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('tax', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('end_access', sa.Boolean(), nullable=False),
    sa.Column('access_ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credit_note_id', Id, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], name=op.f('fk_refunds_charge_id_charges')),
    sa.ForeignKeyConstraint(['credit_note_id'], ['documents.id'],
                            name=op.f('fk_refunds_credit_note_id_documents')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_refunds_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_refunds_idempotency_key'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    op.execute("UPDATE orders SET status = 'paid' WHERE status = 'partially_refunded'")
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_customer_id'))
    op.drop_table('refunds')
