"""PostgreSQL: crm's own triggers fire whatever the session's replication role.

The statement triggers that keep derived rows (``trg_ledger_lot_expiry``: the expiry
queue; ``trg_ledger_summary_entry`` and ``trg_ledger_summary_alloc``: ledger_summary) are
made ``ENABLE ALWAYS``. A member import into a store without members may then write its
COPYs with ``session_replication_role = replica``, which leaves out only the per-row
foreign-key checks (the import takes the store and branch rows' key-share locks itself,
and its member ids are the ones it has just written): those checks were about half the
server's CPU of such an import (docs/performance.md). SQLite: nothing to do.

(A logical-replication subscriber that receives ``ledger_entry`` *and* the derived tables
would now also run these triggers on apply: replicate the ledger alone, or disable them on
the subscriber.)

Revision ID: 0015_triggers_always
Revises: 0014_ledger_summary_job
"""
from alembic import op

revision, down_revision = '0015_triggers_always', '0014_ledger_summary_job'

TRIGGERS = (
    ("ledger_entry", "trg_ledger_lot_expiry"),
    ("ledger_entry", "trg_ledger_summary_entry"),
    ("lot_allocation", "trg_ledger_summary_alloc"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in TRIGGERS:
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in TRIGGERS:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
