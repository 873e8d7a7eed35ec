"""reward.number: a reward's short id (R1, R2, ...) counts within its store instead of
being the table-wide id. Rewards that exist keep the id they showed (number = id), so an
R17 written down before still names the same reward; a new reward takes its store's
highest number plus one (2026-11-30).

Revision ID: 0013_reward_number
Revises: 0012_order_phone_anon
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0013_reward_number', '0012_order_phone_anon'


def upgrade() -> None:
    op.add_column('reward', sa.Column('number', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE reward SET number = id")
    op.create_index('uq_reward_store_number', 'reward', ['store_id', 'number'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_reward_store_number', table_name='reward')
    with op.batch_alter_table('reward') as batch:
        batch.drop_column('number')
