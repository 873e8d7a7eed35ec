"""Per-member summary of the ledger for segment counts: ``ledger_summary``.

One row per member who has a lot or an entry with a branch: ``points`` is the sum of the
remainders of the member's lots (lot points minus their allocations, expired or not) and
``visit_*`` is the member's newest entry with a branch (by ``created_at``, then id). The
ledger stays the source of truth: the rows are derived from it by triggers, in the same
transaction as every INSERT into ``ledger_entry`` (a lot adds its points, an entry with a
branch may become the last visit) and into ``lot_allocation`` (an allocation takes its
points from the lot's member). ``crm points check`` compares the rows with the ledger.

A balance at an instant is ``points`` minus the remainders of the lots that are past their
expiry and still queued in ``lot_expiry`` (every lot past expiry with points left is
queued until an expiry run writes its expire entry), so a count needs no ledger scan.

SQLite: row triggers with an UPSERT. PostgreSQL: statement triggers over the inserted rows
(transition tables), so bulk writes (COPY, INSERT ... SELECT) pay one statement each.

Revision ID: 0011_ledger_summary
Revises: 0010_member_tier_hot
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import crm_cli.db.types

revision, down_revision = '0011_ledger_summary', '0010_member_tier_hot'

#: the newest of two visits (``o`` the stored one, ``excluded`` the new one)
_LATER = ("excluded.visit_entry_id IS NOT NULL AND (o.visit_at IS NULL OR excluded.visit_at > o.visit_at "
          "OR (excluded.visit_at = o.visit_at AND excluded.visit_entry_id > o.visit_entry_id))")
_VISIT_SET = ", ".join(f"{c} = CASE WHEN {_LATER} THEN excluded.{c} ELSE o.{c} END"
                       for c in ("visit_at", "visit_entry_id", "visit_branch_id"))
#: SQLite takes no table alias inside a trigger
_SQLITE_SET = f"points = o.points + excluded.points, {_VISIT_SET}".replace("o.", "ledger_summary.")

_SQLITE_TRIGGERS = (
    f"""
CREATE TRIGGER trg_ledger_summary_entry AFTER INSERT ON ledger_entry
FOR EACH ROW WHEN NEW.points > 0 OR NEW.branch_id IS NOT NULL
BEGIN
    INSERT INTO ledger_summary (member_id, store_id, points, visit_at, visit_entry_id, visit_branch_id)
    VALUES (NEW.member_id, NEW.store_id, MAX(NEW.points, 0),
            CASE WHEN NEW.branch_id IS NOT NULL THEN NEW.created_at END,
            CASE WHEN NEW.branch_id IS NOT NULL THEN NEW.id END, NEW.branch_id)
    ON CONFLICT (member_id) DO UPDATE SET {_SQLITE_SET};
END
""",
    """
CREATE TRIGGER trg_ledger_summary_alloc AFTER INSERT ON lot_allocation
FOR EACH ROW
BEGIN
    UPDATE ledger_summary SET points = points - NEW.points
    WHERE member_id = (SELECT l.member_id FROM ledger_entry l WHERE l.id = NEW.lot_entry_id);
END
""",
)

_PG_FUNCTIONS = (
    f"""
CREATE FUNCTION ledger_summary_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- one row per member: the sum of the new lots, and the newest new entry with a branch
    -- (sorted first); one upsert per member
    INSERT INTO ledger_summary AS o (member_id, store_id, points, visit_at, visit_entry_id, visit_branch_id)
    SELECT DISTINCT ON (n.member_id) n.member_id, n.store_id,
           SUM(CASE WHEN n.points > 0 THEN n.points ELSE 0 END) OVER (PARTITION BY n.member_id),
           CASE WHEN n.branch_id IS NOT NULL THEN n.created_at END,
           CASE WHEN n.branch_id IS NOT NULL THEN n.id END, n.branch_id
    FROM ledger_summary_new n WHERE n.points > 0 OR n.branch_id IS NOT NULL
    ORDER BY n.member_id, n.branch_id IS NULL, n.created_at DESC, n.id DESC
    ON CONFLICT (member_id) DO UPDATE SET points = o.points + excluded.points, {_VISIT_SET};
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION ledger_summary_allocations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_summary s SET points = s.points - d.used
    FROM (SELECT l.member_id, SUM(n.points) AS used FROM ledger_summary_alloc_new n
          JOIN ledger_entry l ON l.id = n.lot_entry_id GROUP BY l.member_id) d
    WHERE s.member_id = d.member_id;
    RETURN NULL;
END
$$
""",
)

_PG_TRIGGERS = (
    """
CREATE TRIGGER trg_ledger_summary_entry AFTER INSERT ON ledger_entry
REFERENCING NEW TABLE AS ledger_summary_new
FOR EACH STATEMENT EXECUTE FUNCTION ledger_summary_entries()
""",
    """
CREATE TRIGGER trg_ledger_summary_alloc AFTER INSERT ON lot_allocation
REFERENCING NEW TABLE AS ledger_summary_alloc_new
FOR EACH STATEMENT EXECUTE FUNCTION ledger_summary_allocations()
""",
)

def upgrade() -> None:
    op.create_table('ledger_summary',
    sa.Column('member_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('visit_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('visit_entry_id', sa.Integer(), nullable=True),
    sa.Column('visit_branch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('member_id')
    )
    with op.batch_alter_table('ledger_summary', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_summary_points', ['store_id', 'points', 'member_id'], unique=False)
        batch_op.create_index('ix_ledger_summary_visit', ['visit_branch_id', 'member_id'], unique=False)
    from crm_cli.services.ledger_summary import fill_sql

    op.execute(fill_sql())
    if op.get_bind().dialect.name == "postgresql":
        for sql in _PG_FUNCTIONS + _PG_TRIGGERS:
            op.execute(sql)
    else:
        for sql in _SQLITE_TRIGGERS:
            op.execute(sql)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS trg_ledger_summary_entry" + (" ON ledger_entry" if pg else ""))
    op.execute("DROP TRIGGER IF EXISTS trg_ledger_summary_alloc" + (" ON lot_allocation" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION IF EXISTS ledger_summary_entries()")
        op.execute("DROP FUNCTION IF EXISTS ledger_summary_allocations()")
    with op.batch_alter_table('ledger_summary', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_summary_visit')
        batch_op.drop_index('ix_ledger_summary_points')
    op.drop_table('ledger_summary')
