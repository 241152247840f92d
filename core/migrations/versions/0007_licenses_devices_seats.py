"""licenses, devices and team seats

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:45:58

A product's `license_seats` and a key's `seat_limit` always counted devices; they are renamed
`activation_limit` with their values. `products.seats` is new and means team members. Keys,
products and orders already stored keep working as they did: no key expires, every product lets
customers deactivate their devices, and no product becomes a team product.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _rename(table: str, old: str, new: str) -> None:
    # Both databases rename in place (SQLite since 3.25), so rows and references stay put.
    op.execute(f'ALTER TABLE {table} RENAME COLUMN {old} TO {new}')


def upgrade() -> None:
    _rename('products', 'license_seats', 'activation_limit')
    _rename('licenses', 'seat_limit', 'activation_limit')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('license_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_can_deactivate', sa.Boolean(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('lemonsqueezy_store_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('lemonsqueezy_product_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('lemonsqueezy_variant_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('activations',
    sa.Column('license_id', Id, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('platform', sa.String(length=60), nullable=True),
    sa.Column('fingerprint', sa.String(length=200), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_by', sa.String(length=120), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_activations_license_id_licenses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activations')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_activations_instance_id'))
    )
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activations_license_id'), ['license_id'], unique=False)

    op.create_table('seats',
    sa.Column('order_item_id', Id, nullable=False),
    sa.Column('product_id', Id, nullable=False),
    sa.Column('owner_id', Id, nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('license_id', Id, nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unassigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_seats_license_id_licenses')),
    sa.ForeignKeyConstraint(['member_id'], ['customers.id'], name=op.f('fk_seats_member_id_customers')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_seats_order_item_id_order_items')),
    sa.ForeignKeyConstraint(['owner_id'], ['customers.id'], name=op.f('fk_seats_owner_id_customers')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_seats_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seats'))
    )
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seats_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seats_order_item_id'), ['order_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seats_owner_id'), ['owner_id'], unique=False)

    # SQLite copies the table to add the foreign key; nothing refers to entitlements, so it may.
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seat_id', Id, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_entitlements_seat_id_seats'), 'seats', ['seat_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entitlements_seat_id_seats'), type_='foreignkey')
        batch_op.drop_column('seat_id')
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seats_owner_id'))
        batch_op.drop_index(batch_op.f('ix_seats_order_item_id'))
        batch_op.drop_index(batch_op.f('ix_seats_member_id'))
    op.drop_table('seats')
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activations_license_id'))
    op.drop_table('activations')
    # Dropping columns copies these tables on SQLite; licenses and products are referenced by
    # others, so a downgrade there wants foreign keys off (PRAGMA foreign_keys=OFF).
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('lemonsqueezy_variant_id')
        batch_op.drop_column('lemonsqueezy_product_id')
        batch_op.drop_column('lemonsqueezy_store_id')
        batch_op.drop_column('customer_can_deactivate')
        batch_op.drop_column('license_days')
        batch_op.drop_column('seats')
    _rename('licenses', 'activation_limit', 'seat_limit')
    _rename('products', 'activation_limit', 'license_seats')
