"""Real concurrency: two OS processes running `crm` at the same moment, on SQLite and PostgreSQL.

A third connection holds the database (SQLite: the write lock; PostgreSQL: the row both
processes need) until both processes are waiting on it, then lets go, so the two
commands really race instead of running one after the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from crm_cli.domain.errors import Conflict

RUN_ALL = os.environ.get("CRM_TEST_ALL") == "1"

PHONE = "0812345678"


def _spawn(db_url: str, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "crm_cli", "--db", db_url, "--store", "cafe", "--format", "json", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_for_lock_waiters(conn, procs, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        waiting = conn.execute(text(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar_one()
        conn.rollback()  # statistics are a snapshot per transaction
        if waiting >= len(procs):
            return
        if any(p.poll() is not None for p in procs):
            return  # one finished without waiting: let the assertions show what it did
        time.sleep(0.05)
    raise AssertionError(f"the {len(procs)} processes never reached the lock")


def _race(db_url: str, backend: str, hold_sql: str | None, *commands: tuple[str, ...]):
    """Start the commands while a blocker holds the database; release it once all wait."""
    blocker = create_engine(db_url)
    conn = blocker.connect()
    try:
        if backend == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text(hold_sql))
        procs = [_spawn(db_url, *c) for c in commands]
        if backend == "sqlite":
            time.sleep(2.5)  # both interpreters start and block on the write lock (busy timeout 30 s)
        else:
            watcher = blocker.connect()
            try:
                _wait_for_lock_waiters(watcher, procs)
            finally:
                watcher.close()
        conn.rollback()
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    finally:
        conn.close()
        blocker.dispose()
    return results


def _scalar(db_url: str, sql: str):
    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            return c.execute(text(sql)).scalar_one()
    finally:
        eng.dispose()


def test_two_processes_claim_the_same_qr(shop, db_url, backend):
    token = shop.json("points", "qr", "--spend", "350", "--branch", "Siam")["token"]
    results = _race(
        db_url, backend,
        "SELECT id FROM qr_claim FOR UPDATE",  # both claims pass their checks, then queue on the claim row
        ("points", "claim", token, "--phone", PHONE),
        ("points", "claim", token, "--phone", "0899999999"),
    )
    codes = sorted(r[0] for r in results)
    assert codes == [0, Conflict.exit_code], results
    loser = next(r for r in results if r[0] != 0)
    assert loser[2].strip() == "error: this QR code was already claimed: each code gives points once" or \
        loser[2].strip().startswith("error: this QR code was already claimed at ")
    assert _scalar(db_url, "SELECT COUNT(*) FROM ledger_entry") == 1
    assert _scalar(db_url, "SELECT COUNT(*) FROM ledger_entry WHERE idem_source = 'qr'") == 1
    assert _scalar(db_url, "SELECT COUNT(*) FROM member") == 1  # the loser's account was rolled back
    shop.ok("points", "check")


def test_two_processes_give_to_a_new_phone(shop, db_url, backend):
    # PostgreSQL: an uncommitted account for the phone makes both processes queue on its insert
    hold = "INSERT INTO member (store_id, phone, source, created_at) VALUES (1, '+66855555555', 'points', now())"
    results = _race(
        db_url, backend, hold,
        ("points", "give", "085-555-5555", "--spend", "100", "--branch", "Siam"),
        ("points", "give", "085-555-5555", "--spend", "200", "--branch", "Ari"),
    )
    assert [r[0] for r in results] == [0, 0], results
    assert _scalar(db_url, "SELECT COUNT(*) FROM member") == 1
    assert _scalar(db_url, "SELECT COUNT(*) FROM ledger_entry") == 2
    assert shop.json("points", "balance", "0855555555")["balance"] == 12
    shop.ok("points", "check")


@pytest.mark.slow
@pytest.mark.skipif(not RUN_ALL, reason="heavy variant: set CRM_TEST_ALL=1")
def test_two_processes_same_key(shop, db_url, backend):
    hold = "LOCK TABLE ledger_entry IN EXCLUSIVE MODE"
    results = _race(
        db_url, backend, hold,
        ("points", "give", PHONE, "--spend", "100", "--key", "R-9"),
        ("points", "give", PHONE, "--spend", "100", "--key", "R-9"),
    )
    assert [r[0] for r in results] == [0, 0], results
    import json

    outs = [json.loads(r[1]) for r in results]
    assert sorted(o["duplicate"] for o in outs) == [False, True]
    assert outs[0]["entry_id"] == outs[1]["entry_id"]
    assert _scalar(db_url, "SELECT COUNT(*) FROM ledger_entry") == 1
