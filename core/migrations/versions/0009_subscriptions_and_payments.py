"""subscriptions that can change, payment methods and charges

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

Every subscription stored so far was sold and billed by the merchant's own store: it becomes
`billed_by = merchant` with the provider `external`, keeps its state and its
`cancel_at_period_end`, and nothing is scheduled for it. States are spelled as the portal spells
them (a stored "cancelled" becomes "canceled"). A customer holds one live subscription per
product from now on: where older data holds two, the newest stays and the older ones end (their
access entitlement ends with them; the newest still grants the product).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = "status IN ('trialing', 'active', 'past_due', 'paused')"


def _timestamp(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referring to `target`. SQLite adds it in place (ALTER TABLE ... ADD
    COLUMN ... REFERENCES): copying `subscriptions`, which others refer to, is what must not
    happen with foreign keys on."""
    name = f'fk_{table}_{column}_{target}'
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER '
                   f'CONSTRAINT {name} REFERENCES {target} (id)')
    else:
        op.add_column(table, sa.Column(column, Id, nullable=True))
        op.create_foreign_key(name, table, target, [column], ['id'])


def upgrade() -> None:
    op.create_table('payment_customers',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=False),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    _timestamp('created_at', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payment_customers_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_customers')),
    sa.UniqueConstraint('customer_id', 'provider', name=op.f('uq_payment_customers_customer_id_provider'))
    )
    op.create_table('payment_methods',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=False),
    sa.Column('setup_ref', sa.String(length=100), nullable=True),
    sa.Column('brand', sa.String(length=30), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('exp_month', sa.Integer(), nullable=False),
    sa.Column('exp_year', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    _timestamp('removed_at'),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    _timestamp('created_at', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payment_methods_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods')),
    sa.UniqueConstraint('setup_ref', name=op.f('uq_payment_methods_setup_ref'))
    )
    op.create_index(op.f('ix_payment_methods_customer_id'), 'payment_methods', ['customer_id'], unique=False)

    with op.batch_alter_table('products', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('subscription_policy', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('subscriptions', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('billed_by', sa.String(length=20), server_default='merchant', nullable=False))
        batch_op.add_column(sa.Column('provider', sa.String(length=30), server_default='external', nullable=False))
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('pause_at_period_end', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(_timestamp('paused_at'))
        batch_op.add_column(_timestamp('pause_until'))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.add_column(_timestamp('canceled_at'))
        batch_op.add_column(_timestamp('ended_at'))
        batch_op.add_column(_timestamp('period_anchor'))
        batch_op.add_column(sa.Column('carry_over', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(_timestamp('next_retry_at'))
        batch_op.add_column(_timestamp('renewal_lease_until'))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    _add_reference('subscriptions', 'payment_method_id', 'payment_methods')
    _add_reference('subscriptions', 'scheduled_plan_id', 'plans')

    op.execute("UPDATE subscriptions SET status = 'canceled' WHERE status = 'cancelled'")
    _end_older_duplicates()
    op.create_index('uq_subscriptions_live', 'subscriptions', ['customer_id', 'product_id'], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))

    op.create_table('charges',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('subscription_id', Id, nullable=True),
    sa.Column('payment_method_id', Id, nullable=True),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    _timestamp('created_at', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_charges_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_charges_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_methods.id'], name=op.f('fk_charges_payment_method_id_payment_methods')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_charges_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_charges_idempotency_key'))
    )
    op.create_index(op.f('ix_charges_customer_id'), 'charges', ['customer_id'], unique=False)
    op.create_index(op.f('ix_charges_subscription_id'), 'charges', ['subscription_id'], unique=False)

    op.create_table('subscription_quotes',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('subscription_id', Id, nullable=False),
    sa.Column('subscription_version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('plan_id', Id, nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('amount_due', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    _timestamp('prorated_at', nullable=False),
    _timestamp('expires_at', nullable=False),
    _timestamp('used_at'),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    _timestamp('created_at', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscription_quotes_customer_id_customers')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_subscription_quotes_plan_id_plans')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_quotes_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_quotes'))
    )
    op.create_index(op.f('ix_subscription_quotes_customer_id'), 'subscription_quotes', ['customer_id'], unique=False)

    op.create_table('merchant_notices',
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('delivery_id', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    _timestamp('next_attempt_at', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    _timestamp('sent_at'),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    _timestamp('created_at', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_notices')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_merchant_notices_delivery_id'))
    )
    op.create_index(op.f('ix_merchant_notices_status'), 'merchant_notices', ['status'], unique=False)


def _end_older_duplicates() -> None:
    """Of two live subscriptions of one product and customer, the newest stays live."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        f"SELECT id, customer_id, product_id, current_period_end FROM subscriptions WHERE {LIVE} "
        "ORDER BY customer_id, product_id, current_period_end DESC, id DESC")).all()
    seen: set[tuple[int, int]] = set()
    for sub_id, customer_id, product_id, period_end in rows:
        if (customer_id, product_id) not in seen:
            seen.add((customer_id, product_id))
            continue
        connection.execute(sa.text(
            "UPDATE subscriptions SET status = 'canceled', cancel_reason = 'replaced by a newer "
            "subscription of the same product', canceled_at = :at, ended_at = :at WHERE id = :id"),
            {"at": period_end, "id": sub_id})
        connection.execute(sa.text(
            "UPDATE entitlements SET status = 'ended', ends_at = :at WHERE subscription_id = :id"),
            {"at": period_end, "id": sub_id})


def downgrade() -> None:
    op.drop_index(op.f('ix_merchant_notices_status'), table_name='merchant_notices')
    op.drop_table('merchant_notices')
    op.drop_index(op.f('ix_subscription_quotes_customer_id'), table_name='subscription_quotes')
    op.drop_table('subscription_quotes')
    op.drop_index(op.f('ix_charges_subscription_id'), table_name='charges')
    op.drop_index(op.f('ix_charges_customer_id'), table_name='charges')
    op.drop_table('charges')
    op.drop_index('uq_subscriptions_live', table_name='subscriptions')
    # Dropping columns copies the table on SQLite; subscriptions are referenced by others, so a
    # downgrade there wants foreign keys off (PRAGMA foreign_keys=OFF).
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        for column in ('scheduled_plan_id', 'payment_method_id', 'version', 'renewal_lease_until',
                       'next_retry_at', 'failed_attempts', 'carry_over', 'period_anchor', 'ended_at', 'canceled_at', 'cancel_reason',
                       'pause_until', 'paused_at', 'pause_at_period_end', 'provider_ref', 'provider',
                       'billed_by'):
            batch_op.drop_column(column)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('subscription_policy')
    op.drop_index(op.f('ix_payment_methods_customer_id'), table_name='payment_methods')
    op.drop_table('payment_methods')
    op.drop_table('payment_customers')
