"""`crm points balance` and `crm store list` read through SQLAlchemy Core: they start without
the ORM model classes (and, on SQLite, without the PostgreSQL driver), and answer as before on
both databases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.support import crm_env

PHONE = "081-234-5678"
NEVER_ON_START = ("crm_cli.db.models", "sqlmodel", "sqlalchemy.orm")


def _run_timed_imports(tmp_path, db_url: str, *args: str) -> tuple[dict | list, set[str]]:
    """Run `crm --format json ARGS` as a new process; (its JSON output, the modules it imported)."""
    argv = [sys.executable, "-X", "importtime", "-m", "crm_cli", "--db", db_url, "--store", "cafe",
            "--format", "json", *args]
    r = subprocess.run(argv, env=crm_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    modules = {m.group(1) for m in re.finditer(r"^import time:.*\| +(\S+)$", r.stderr, re.M)}
    assert "crm_cli.cli.app" in modules  # the listing is real
    return json.loads(r.stdout), modules


def test_balance_and_store_list_start_without_the_models(shop, backend, tmp_path):
    shop.ok("points", "give", PHONE, "--spend", "350", "--branch", "Siam")
    for args in (("points", "balance", PHONE), ("store", "list"), ("store", "show")):
        out, modules = _run_timed_imports(tmp_path, shop.db_url, *args)
        assert out == shop.json(*args), args  # the same answer as in-process
        assert not modules & set(NEVER_ON_START), (args, sorted(modules & set(NEVER_ON_START)))
        if backend == "sqlite":
            assert not {m for m in modules if m == "psycopg" or m.startswith("psycopg.")}, args
        else:
            assert "psycopg" in modules


def test_balance_lots_in_spending_order_with_expiry_and_spent_lots(shop):
    shop.ok("points", "rule", "--points", "1", "--per", "1")
    shop.ok("points", "expiry", "rolling", "12")
    with freeze_time("2025-03-10 05:00:00"):
        march = shop.json("points", "give", PHONE, "--spend", "100", "--branch", "Siam")  # ends 2026-03-10
    shop.ok("points", "expiry", "rolling", "1")
    with freeze_time("2025-11-01 05:00:00"):
        shop.json("points", "give", PHONE, "--spend", "30", "--branch", "Siam")  # ends 2025-12-01
    with freeze_time("2025-12-10 05:00:00"):
        jan = shop.json("points", "give", PHONE, "--spend", "50", "--branch", "Ari")  # ends 2026-01-10
    shop.ok("points", "expiry", "never")
    with freeze_time("2025-12-11 05:00:00"):
        forever = shop.json("points", "give", PHONE, "--spend", "20", "--branch", "Ari")
        shop.ok("points", "adjust", PHONE, "--points", "-60", "--reason", "redeemed a mug")
    with freeze_time("2025-12-20 05:00:00"):
        bal = shop.json("points", "balance", PHONE)
        one = shop.json("points", "balance", PHONE, "--lots", "1")
    # the November lot has expired; the mug took January's 50 and 10 of March's
    assert (bal["phone"], bal["registered"], bal["balance"], bal["debt"]) == ("+66812345678", False, 110, 0)
    assert (bal["next_expiry_on"], bal["next_expiry_points"]) == ("2026-03-10", 90)
    assert [(lot["entry_id"], lot["kind"], lot["points"], lot["remaining"], lot["expires_on"]) for lot in bal["lots"]] == [
        (march["entry_id"], "earn", 100, 90, "2026-03-10"), (forever["entry_id"], "earn", 20, 20, "never")]
    assert bal["lots"][1]["expires_at"] is None and bal["lots"][0]["earned_at"].startswith("2025-03-10T05:00:00")
    assert one["lots"] == bal["lots"][:1] and one["balance"] == 110
    assert jan["entry_id"] not in [lot["entry_id"] for lot in bal["lots"]]


def test_balance_refusals_are_unchanged(shop):
    assert shop.fails(ExitCode.NOT_FOUND, "points", "balance", "0899999999") == \
        "error: no member or points account for 0899999999 in this store"
    assert "0812" not in shop.fails(ExitCode.INVALID_INPUT, "points", "balance", "12ab")
    assert shop.fails(ExitCode.NOT_FOUND, "points", "balance", PHONE, store="nowhere") == \
        "error: store 'nowhere' not found: see `crm store list`"


def test_a_suspended_store_in_balance_and_store_list(shop):
    shop.ok("points", "give", PHONE, "--spend", "100", "--branch", "Siam")
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("store", "create", "bakery", "--name", "Bakery", "--no-use")
        listed = shop.json("store", "list")
        assert [(s["slug"], s["subscription"], s["suspended"], s["branches"]) for s in listed] == [
            ("bakery", "none: not billed", False, 0), ("cafe", "crm trial", False, 2)]
    with freeze_time("2027-01-31T10:00:00+07:00"):
        shop.ok("billing", "cancel", "--date", "2027-01-31")
    with freeze_time("2027-02-01T12:00:00+07:00"):
        err = shop.fails(ExitCode.STORE_SUSPENDED, "points", "balance", PHONE)
        assert err == ("error: store 'cafe' is suspended (MyCustomer | CRM cancelled on 2027-01-31, service ended "
                       "2027-01-31): its CRM service is not active; resume it with `crm billing resume --date YYYY-MM-DD`")
        cafe = [s for s in shop.json("store", "list") if s["slug"] == "cafe"][0]
        assert (cafe["suspended"], cafe["subscription"], cafe["members"]) == (True, "crm cancelled (service off)", 0)
        assert cafe["suspended_reason"] == "MyCustomer | CRM cancelled on 2027-01-31, service ended 2027-01-31"
        shown = shop.json("store", "show")  # store show is allowed on a suspended store
        assert shown == cafe  # no terms set: the same fields and values


def test_core_reads_on_a_session_see_what_it_added(shop, uow):
    """A Core read on the ORM session flushes first, as the session's own queries do."""
    from sqlalchemy import text

    from crm_cli.db.models import SubscriptionEventRow
    from crm_cli.services import store_state

    now = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    with uow() as s:
        sid = s.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
        assert store_state.service_state(s, store_id=sid, now=now).state == "not_subscribed"
        s.add(SubscriptionEventRow(store_id=sid, kind="subscribe", day=datetime(2026, 11, 10).date(), created_at=now))
        assert store_state.service_state(s, store_id=sid, now=now).active
        assert store_state.by_slug(s, "cafe", now=now).id == sid
        assert store_state.store_info(s, sid, now=now).subscription == "crm trial"


def test_the_embedded_database_is_created_and_upgraded_by_a_core_command(tmp_path):
    """No --db: the first command, even one that reads through Core, creates the SQLite file
    in the data directory and brings it to the newest revision."""
    from crm_cli.db.schema import HEADS

    env = crm_env(tmp_path)
    r = subprocess.run([sys.executable, "-m", "crm_cli", "--format", "json", "store", "list"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout) == []
    r = subprocess.run([sys.executable, "-m", "crm_cli", "--format", "json", "db", "status"], env=env,
                       capture_output=True, text=True, timeout=120)
    status = json.loads(r.stdout)
    assert status["up_to_date"] is True and set(status["current"]) == set(HEADS)
    assert (tmp_path / "data" / "crm.sqlite3").stat().st_mode & 0o777 == 0o600
