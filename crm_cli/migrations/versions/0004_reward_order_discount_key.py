"""reward.position (display order; 0 = none: listed after the positioned ones, by cost),
reward.discount_amount / discount_percent (shown on coupons), redemption.idem_key +
fingerprint (reward redeem --key: the same key redeems once)

Revision ID: 0004_reward_order_discount_key
Revises: 0003_line
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import crm_cli.db.types


revision = '0004_reward_order_discount_key'
down_revision = '0003_line'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('discount_amount', crm_cli.db.types.Money(), nullable=True))
        batch_op.add_column(sa.Column('discount_percent', crm_cli.db.types.Money(), nullable=True))
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idem_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_redemption_idem', ['store_id', 'idem_key'])


def downgrade() -> None:
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_constraint('uq_redemption_idem', type_='unique')
        batch_op.drop_column('fingerprint')
        batch_op.drop_column('idem_key')
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.drop_column('discount_percent')
        batch_op.drop_column('discount_amount')
        batch_op.drop_column('position')
