"""store.point_value: the THB value of one point, set by the store for the liability report

Revision ID: 0002_store_point_value
Revises: 0001_initial
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import crm_cli.db.types


revision = '0002_store_point_value'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.add_column(sa.Column('point_value', crm_cli.db.types.PointValue(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.drop_column('point_value')
