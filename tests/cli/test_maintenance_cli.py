"""`crm maintenance run` on both databases: order of jobs, idempotence, failure isolation, the lock, purge."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from crm_cli.services import maintenance

ROOT = Path(__file__).resolve().parents[2]
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00 ")


def _lines(stdout: str) -> list[str]:
    """The job lines of a run in cron mode (not a terminal): each starts with a Bangkok timestamp."""
    lines = stdout.splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    return [STAMP.sub("", line) for line in lines]


def test_run_all_jobs_in_order_and_again_changes_nothing(shop, engine):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        out = _lines(shop.ok("maintenance", "run").stdout)
        assert [line.split(":")[0] for line in out] == list(maintenance.JOBS)
        assert all(": ok: " in line for line in out)
        assert "INV-2027-000001 (2026-12) 280.20 THB" in out[3]
        again = shop.json("maintenance", "run")
        assert [r["job"] for r in again] == list(maintenance.JOBS)
        assert again[3]["summary"] == "no new invoices (up to 2026-12)"
        assert again[4]["summary"] == "no changes"
        history = shop.json("maintenance", "history")
    assert len(history) == 2 * len(maintenance.JOBS) and {h["status"] for h in history} == {"ok"}


def test_a_failing_job_gives_exit_9_and_later_jobs_still_run(shop, monkeypatch):
    def broken(session, *, now, actor, **only):
        raise RuntimeError("tier table on fire")

    monkeypatch.setitem(maintenance.JOB_FUNCS, "tiers", broken)
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-01")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        r = shop("maintenance", "run")
        assert r.exit_code == 9
        lines = _lines(r.stdout)
        assert lines[1] == "tiers: failed: RuntimeError: tier table on fire"
        assert lines[3].startswith("invoices: ok: cafe: INV-2027-000001")
        assert all(": ok: " in line for i, line in enumerate(lines) if i != 1)
        assert "1 maintenance job(s) failed: tiers" in r.stderr
        history = {h["job"]: h["status"] for h in shop.json("maintenance", "history")}
    assert history["tiers"] == "failed" and history["retention"] == "ok"


def test_only_and_bad_job_names(shop):
    with freeze_time("2027-01-01T19:00:00+07:00"):
        out = _lines(shop.ok("maintenance", "run", "--only", "retention", "--only", "expire").stdout)
        assert [line.split(":")[0] for line in out] == ["expire", "retention"]
        assert "unknown maintenance job 'nap'" in shop.fails(ExitCode.INVALID_INPUT, "maintenance", "run", "--only", "nap")


HOLDER = textwrap.dedent(
    """
    import sys
    from crm_cli.cli.context import AppState
    from crm_cli.services.maintenance import run_lock
    engine = AppState(db_url=sys.argv[1]).engine()
    with run_lock(engine):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_lock_refuses_a_second_run_and_dies_with_its_process(shop):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, shop.db_url], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        err = shop.fails(ExitCode.CONFLICT, "maintenance", "run", "--only", "expire")
        assert f"maintenance is already running (pid {proc.pid})" in err
    finally:
        proc.kill()  # no clean release: the lock must go with the process
        proc.wait()
    shop.ok("maintenance", "run", "--only", "expire")


def _populate(cli):
    """Members, points, an order, a reward and form data for store 'cafe' (through services)."""
    from sqlmodel import select

    from crm_cli.cli.context import AppState
    from crm_cli.db.models import FormQuestion, MemberAnswer, MemberTier, Reward, Staff, Store, Tier
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import common, ledger

    now = datetime.now(timezone.utc)
    engine = AppState(db_url=cli.db_url).engine()
    with unit_of_work(engine) as s:
        store = s.exec(select(Store).where(Store.slug == "cafe")).one()
        branch = common.get_branch(s, store.id, "Siam")
        tier = Tier(store_id=store.id, name="Gold", threshold=100, created_at=now)
        s.add(tier)
        s.add(Staff(store_id=store.id, branch_id=branch.id, name="Nok", phone="+66811111111", role="staff", created_at=now))
        s.add(Reward(store_id=store.id, name="Latte", kind="in-store", cost=10, created_at=now, min_tier_id=None))
        q = FormQuestion(store_id=store.id, text="Favourite drink", kind="text", retention_days=30, created_at=now)
        s.add(q)
        s.flush()
        for i in range(3):
            m = common.get_or_create_account(s, store.id, f"+6681234567{i}", now=now)
            s.add(MemberTier(member_id=m.id, tier_id=tier.id))
            s.add(MemberAnswer(member_id=m.id, question_id=q.id, value="latte", created_at=now))
            ledger.credit(s, store=store, member_id=m.id, kind="earn", points=50, now=now, channel="admin")
            ledger.debit(s, store_id=store.id, member_id=m.id, kind="redeem", points=20, now=now, channel="reward")


def _counts(engine, tables):
    from sqlalchemy import text

    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}
        conn.rollback()
    return out


def test_purge_after_90_days_dry_run_then_for_good(shop, engine):
    with freeze_time("2026-10-01T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-10-01")
        _populate(shop)
    with freeze_time("2026-11-20T10:00:00+07:00"):
        status = shop.json("billing", "cancel", "--date", "2026-11-20")
        assert status["purge_after"] == "2027-02-28"
    with freeze_time("2026-12-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run").stdout
        assert "INV-2026-000001 (2026-10) 12.73 THB, INV-2026-000002 (2026-11) 394.83 THB" in out and "cafe: suspended" in out
    tables = ["member", "member_tier", "ledger_entry", "lot_allocation", "tier", "staff", "branch", "reward", "member_answer",
              "form_question", "invoice", "invoice_line", "subscription_event"]
    before = _counts(engine, tables)
    with freeze_time("2027-02-27T19:00:00+07:00"):
        assert "nothing to purge" in shop.ok("maintenance", "run", "--only", "purges").stdout
    with freeze_time("2027-02-28T19:00:00+07:00"):
        dry = shop.json("maintenance", "run", "--only", "purges", "--dry-run")
        assert "dry run" in dry[0]["summary"] and "member 3" in dry[0]["summary"] and "ledger_entry 6" in dry[0]["summary"]
        assert _counts(engine, tables) == before
        assert shop.json("billing", "status")["suspended"] is True
        out = shop.ok("maintenance", "run", "--only", "purges").stdout
        assert "cafe: purged" in out
        after = _counts(engine, tables)
        assert {t: n for t, n in after.items() if n} == {
            "invoice": before["invoice"], "invoice_line": before["invoice_line"],
            "subscription_event": before["subscription_event"]}
        assert "not found" in shop.fails(ExitCode.NOT_FOUND, "store", "show")
        assert "not found" in shop.fails(ExitCode.NOT_FOUND, "maintenance", "run", "--only", "purges")  # --store names a gone store
        assert "nothing to purge" in shop.ok("maintenance", "run", "--only", "purges", store=None).stdout


def test_purge_lists_every_table():
    from sqlmodel import SQLModel

    import crm_cli.db.models  # noqa: F401
    from crm_cli.services.purge import KEPT_TABLES, PURGED_TABLES

    assert PURGED_TABLES | KEPT_TABLES == set(SQLModel.metadata.tables)
    assert not PURGED_TABLES & KEPT_TABLES


def test_retention_deletes_old_answers(shop, engine):
    with freeze_time("2026-10-01T10:00:00+07:00"):
        _populate(shop)
    with freeze_time("2026-10-30T19:00:00+07:00"):
        assert "0 registration answers" in shop.ok("maintenance", "run", "--only", "retention").stdout
    with freeze_time("2026-11-01T19:00:00+07:00"):
        assert "3 registration answers" in shop.ok("maintenance", "run", "--only", "retention").stdout
    assert _counts(engine, ["member_answer", "member"]) == {"member_answer": 0, "member": 3}


def test_tiers_job_recalculates_stores_with_tiers_on(shop):
    with freeze_time("2026-11-24T19:00:00+07:00"):
        assert "tiers not enabled" in shop.ok("maintenance", "run", "--only", "tiers").stdout
        shop.ok("tier", "on")
        _populate(shop)
        out = shop.ok("maintenance", "run", "--only", "tiers").stdout
        # the three members were put in Gold by hand with 50 points earned: recalc moves them down
        assert "tiers: ok: cafe: 3 moved (0 up, 3 down) of 3 members" in out
        assert "cafe: 0 moved" in shop.ok("maintenance", "run", "--only", "tiers").stdout
