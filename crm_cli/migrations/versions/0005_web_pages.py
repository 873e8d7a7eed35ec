"""Member and staff pages: the server's signing secrets (shared by every `crm serve`
process on one database), rate-limit hits, and the LINE user behind a member or a
staff member (LINE Login).

Revision ID: 0005_web_pages
Revises: 0004_reward_order_discount_key
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import crm_cli.db.types


revision = '0005_web_pages'
down_revision = '0004_reward_order_discount_key'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_secret',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('rate_hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=120), nullable=False),
    sa.Column('at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rate_hit', schema=None) as batch_op:
        batch_op.create_index('ix_rate_hit_bucket_at', ['bucket', 'at'], unique=False)
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_user_id', sa.String(length=33), nullable=True))
        batch_op.create_unique_constraint('uq_member_store_line_user', ['store_id', 'line_user_id'])
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_user_id', sa.String(length=33), nullable=True))
        batch_op.create_unique_constraint('uq_staff_store_line_user', ['store_id', 'line_user_id'])


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint('uq_staff_store_line_user', type_='unique')
        batch_op.drop_column('line_user_id')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_constraint('uq_member_store_line_user', type_='unique')
        batch_op.drop_column('line_user_id')
    with op.batch_alter_table('rate_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_hit_bucket_at')
    op.drop_table('rate_hit')
    op.drop_table('web_secret')
