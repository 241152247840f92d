"""account transfers and codes that confirm a change

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00

A one-time code now says what it is for: signing in (every code stored so far, which keeps
working as it did) or confirming a pending change, such as moving an account to another
address, whose code goes to that address. Moves of an account are kept, with the window in
which the old address may undo them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('account_transfers',
    sa.Column('customer_id', Id, nullable=False),
    sa.Column('old_email', sa.String(length=320), nullable=False),
    sa.Column('new_email', sa.String(length=320), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('transferred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undo_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_account_transfers_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_transfers'))
    )
    with op.batch_alter_table('account_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_transfers_customer_id'), ['customer_id'], unique=False)

    # Every code stored so far was a sign-in code: the server default says so for each row.
    with op.batch_alter_table('code_challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), server_default='sign_in',
                                      nullable=False))
        batch_op.add_column(sa.Column('pending_action_id', Id, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_code_challenges_pending_action_id_pending_actions'),
                                    'pending_actions', ['pending_action_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('code_challenges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_code_challenges_pending_action_id_pending_actions'),
                                 type_='foreignkey')
        batch_op.drop_column('pending_action_id')
        batch_op.drop_column('purpose')
    with op.batch_alter_table('account_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_transfers_customer_id'))
    op.drop_table('account_transfers')
