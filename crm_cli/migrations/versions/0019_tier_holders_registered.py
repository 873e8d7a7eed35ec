"""Only registered, not erased members hold a tier: the rows of others dropped, recorded.

Lifts and recalculations never gave a tier to a member who has not registered or was
erased, but an erasure left the member's tier in place until the next ``tier recalc``
dropped it. Erasure now drops it at once (reason 'erased'), and the recalculation on
PostgreSQL relies on the rule: it reads a member row only for a member it would place,
not for every holder (docs/performance.md). This migration drops the tier of every
member who breaks the rule today, with a ``tier_history`` row each (reason 'erased', or
'not registered'), as ``tier recalc`` would have; `crm db check` verifies the rule.

Revision ID: 0019_tier_holders_registered
Revises: 0018_member_tier_fillfactor
"""
from alembic import op

revision, down_revision = '0019_tier_holders_registered', '0018_member_tier_fillfactor'

_BREAKING = "m.registered_at IS NULL OR m.erased_at IS NOT NULL"


def upgrade() -> None:
    # times are stored as UTC without a zone
    now = "(now() AT TIME ZONE 'UTC')" if op.get_bind().dialect.name == 'postgresql' else "CURRENT_TIMESTAMP"
    op.execute(
        "INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at) "
        "SELECT m.store_id, m.id, x.name, NULL, 0, "
        f"CASE WHEN m.erased_at IS NOT NULL THEN 'erased' ELSE 'not registered' END, {now} "
        "FROM member_tier t JOIN member m ON m.id = t.member_id LEFT JOIN tier x ON x.id = t.tier_id "
        f"WHERE {_BREAKING} ORDER BY m.id"
    )
    op.execute(f"DELETE FROM member_tier WHERE member_id IN (SELECT m.id FROM member m WHERE {_BREAKING})")


def downgrade() -> None:
    pass  # the dropped tiers are not given back: the rule held before in all but name
