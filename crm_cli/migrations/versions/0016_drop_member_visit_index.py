"""Drop ``ix_ledger_member_visit`` (migration 0008): the last visit that `crm segment create
--branch` needed it for is read from ``ledger_summary`` since migration 0011, and every
ledger insert still paid for it. On the nightly expiry job it was about half the CPU on
SQLite, and the part that grew with the expired history (`bench/bench_expiry.py`: 5 years
against 1 year 1.21-1.39x with it, 1.02-1.08x without; docs/performance.md).

Revision ID: 0016_drop_member_visit_index
Revises: 0015_triggers_always
"""
from alembic import op

revision, down_revision = '0016_drop_member_visit_index', '0015_triggers_always'


def upgrade() -> None:
    op.drop_index('ix_ledger_member_visit', table_name='ledger_entry')


def downgrade() -> None:
    op.create_index('ix_ledger_member_visit', 'ledger_entry', ['member_id', 'created_at', 'id', 'branch_id'])
