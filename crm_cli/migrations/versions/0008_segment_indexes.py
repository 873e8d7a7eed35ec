"""Segment counts: an index for a member's last visit (2026-11-30).

``ix_ledger_member_visit`` (member_id, created_at, id, branch_id) answers "the branch of
the member's latest ledger entry with a branch" (`crm segment create --branch`) from the
index alone, newest first, without sorting each member's entries.
"""
from crm_cli.migrations.helpers import Step, add_indexes, migration

revision, down_revision = '0008_segment_indexes', '0007_lot_expiry'


def _steps() -> list[Step]:
    return [add_indexes('ledger_entry', ix_ledger_member_visit=['member_id', 'created_at', 'id', 'branch_id'])]


upgrade, downgrade = migration(_steps)
