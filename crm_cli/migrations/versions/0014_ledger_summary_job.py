"""PostgreSQL: the expiry job keeps ``ledger_summary`` itself for the allocations it writes.

The allocation trigger of migration 0011 finds each new allocation's member by joining the
statement's allocations to ``ledger_entry`` (by the lot's id), then takes the points off
the members' summary rows. The expiry job already holds every lot's member (its expire
entries carry it), so it takes the points off the summary in the same statement that
writes the allocations, one row per member, and tells the trigger so with a setting that
lasts for that transaction only: ``crm.summary_by_job = 'on'``
(``set_config(..., true)``; the job switches it off again right after the statement). With
the setting on, ``ledger_summary_allocations()`` does nothing; every other writer leaves
it unset and the trigger works as before. ``crm points check`` still compares every row
with the ledger.

On a backlog of 386,666 expiring lots (200,000 members) the trigger's join read the whole
``ledger_entry`` table into a hash of 64 batches for its 386,666 allocations; see
docs/performance.md. SQLite keeps its row trigger (one indexed lookup per allocation).

Revision ID: 0014_ledger_summary_job
Revises: 0013_reward_number
Create Date: 2026-11-30
"""
from alembic import op

revision, down_revision = '0014_ledger_summary_job', '0013_reward_number'

#: the transaction-local setting the expiry job turns on around its one statement
SETTING = "crm.summary_by_job"

_UPDATE = """
    UPDATE ledger_summary s SET points = s.points - d.used
    FROM (SELECT l.member_id, SUM(n.points) AS used FROM ledger_summary_alloc_new n
          JOIN ledger_entry l ON l.id = n.lot_entry_id GROUP BY l.member_id) d
    WHERE s.member_id = d.member_id;"""


def _function(skip: bool) -> str:
    check = (f"""
    -- the expiry job took these allocations off the summary itself, in the same statement
    IF current_setting('{SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;""" if skip else "")
    return f"""
CREATE OR REPLACE FUNCTION ledger_summary_allocations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{check}{_UPDATE}
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(skip=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(skip=False))
