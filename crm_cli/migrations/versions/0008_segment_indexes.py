"""Segment counts: an index for a member's last visit.

``ix_ledger_member_visit`` (member_id, created_at, id, branch_id) answers "the branch of
the member's latest ledger entry with a branch" (`crm segment create --branch`) from the
index alone, newest first, without sorting each member's entries.

Revision ID: 0008_segment_indexes
Revises: 0007_lot_expiry
Create Date: 2026-11-30
"""
from alembic import op


revision = '0008_segment_indexes'
down_revision = '0007_lot_expiry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_member_visit', ['member_id', 'created_at', 'id', 'branch_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_member_visit')
