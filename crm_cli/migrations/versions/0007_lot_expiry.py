"""Lots waiting for their expiry: ``lot_expiry`` holds one row per lot that has an expiry
date and has not yet been through an expiry run after that date. A trigger on
``ledger_entry`` adds the row whenever a lot with an expiry date is written (counter,
QR, import, adjustment, refund, any INSERT, also with an expiry already past); the expiry
job reads the rows that are due, writes the expire entries and deletes those rows. The
nightly run therefore reads only the lots due, not every lot that ever expired.

SQLite: a row trigger (``FOR EACH ROW``, inside the engine). PostgreSQL: a statement
trigger over the inserted rows (transition table), one INSERT ... SELECT per statement,
so bulk loads (COPY, INSERT ... SELECT) pay one statement, not one call per row.

The table is filled from the ledger: every lot with an expiry date and points left (2026-11-30).
"""
from alembic import op

from crm_cli.migrations.helpers import Step, integer, key, migration, moment, table

revision, down_revision = '0007_lot_expiry', '0006_engage'

_REMAINDER = "e.points - COALESCE((SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0)"

_PG_FUNCTION = """
CREATE FUNCTION lot_expiry_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lot_expiry (lot_entry_id, store_id, expires_at)
    SELECT n.id, n.store_id, n.expires_at FROM lot_expiry_new n
    WHERE n.points > 0 AND n.expires_at IS NOT NULL;
    RETURN NULL;
END
$$
"""

_PG_TRIGGER = """
CREATE TRIGGER trg_ledger_lot_expiry AFTER INSERT ON ledger_entry
REFERENCING NEW TABLE AS lot_expiry_new
FOR EACH STATEMENT EXECUTE FUNCTION lot_expiry_enqueue()
"""

_SQLITE_TRIGGER = """
CREATE TRIGGER trg_ledger_lot_expiry AFTER INSERT ON ledger_entry
FOR EACH ROW WHEN NEW.points > 0 AND NEW.expires_at IS NOT NULL
BEGIN
    INSERT INTO lot_expiry (lot_entry_id, store_id, expires_at) VALUES (NEW.id, NEW.store_id, NEW.expires_at);
END
"""


class _Queue:
    """The queue's first rows (from the ledger) and the trigger that keeps it filled."""

    def apply(self) -> None:
        op.execute(
            "INSERT INTO lot_expiry (lot_entry_id, store_id, expires_at) "
            "SELECT e.id, e.store_id, e.expires_at FROM ledger_entry e "
            f"WHERE e.points > 0 AND e.expires_at IS NOT NULL AND {_REMAINDER} > 0"
        )
        if op.get_bind().dialect.name == "postgresql":
            op.execute(_PG_FUNCTION)
            op.execute(_PG_TRIGGER)
        else:
            op.execute(_SQLITE_TRIGGER)

    def revert(self) -> None:
        op.execute("DROP TRIGGER IF EXISTS trg_ledger_lot_expiry" + (
            " ON ledger_entry" if op.get_bind().dialect.name == "postgresql" else ""))
        if op.get_bind().dialect.name == "postgresql":
            op.execute("DROP FUNCTION IF EXISTS lot_expiry_enqueue()")


def _steps() -> list[Step]:
    return [
        table('lot_expiry', key('lot_entry_id'), integer('store_id'), moment('expires_at'),
              primary=['lot_entry_id'], indexes={'ix_lot_expiry_due': ['expires_at', 'store_id']}),
        _Queue(),
    ]


upgrade, downgrade = migration(_steps)
