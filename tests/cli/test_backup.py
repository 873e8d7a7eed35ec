"""crm db backup / restore / check on SQLite and PostgreSQL, run as real processes.

The main test takes a backup while 4 writer processes keep giving points, restores it
into a fresh database, and requires that the restored database passes `crm db check`
and holds every write acknowledged before the backup started (and nothing that was
never written).
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import bindparam, create_engine, text

from crm_cli.db.types import Money, UTCDateTime
from crm_cli.domain.errors import ExitCode
from tests.support import Cli, crm_env, fresh_database

REPO = Path(__file__).resolve().parents[2]
WRITERS = 4


def _keys(url: str) -> set[str]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return set(conn.execute(text("SELECT idem_key FROM ledger_entry WHERE idem_key IS NOT NULL")).scalars())
    finally:
        eng.dispose()


def _acks(logs: Path) -> list[tuple[str, float]]:
    out = []
    for f in logs.glob("*.log"):
        for line in f.read_text().splitlines():
            key, at = line.split("\t")
            out.append((key, float(at)))
    return out


def test_backup_during_four_writers_restores_every_acknowledged_write(shop, db_url, engine, tmp_path):
    from crm_cli.cli.context import dispose_engines

    phones = [f"08{61000000 + i:08d}" for i in range(8)]
    with engine.connect() as conn:
        store_id = conn.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
    dispose_engines()
    logs = tmp_path / "logs"
    logs.mkdir()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"db_url": db_url, "store_id": store_id, "phones": phones, "stop": str(tmp_path / "stop"),
                                "logs": str(logs), "max_ops": 5000}))
    env = crm_env(tmp_path)
    writers = [subprocess.Popen([sys.executable, "-m", "tests.fault.backup_writer", str(plan), f"w{n}"], env=env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(WRITERS)]
    backup = tmp_path / "backups" / "nightly.bak"
    backup.parent.mkdir()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every writer is writing
            if all((logs / f"w{n}.log").exists() and len((logs / f"w{n}.log").read_text().splitlines()) >= 5
                   for n in range(WRITERS)):
                break
            assert all(w.poll() is None for w in writers), [w.communicate() for w in writers if w.poll() is not None]
            time.sleep(0.02)
        started = time.time()
        done = Cli(db_url).json("db", "backup", "--out", backup)  # in this process; the writers are others
        finished = time.time()
        time.sleep(0.3)  # the writers go on after the backup, too
    finally:
        (tmp_path / "stop").touch()
        outputs = [w.communicate(timeout=120) for w in writers]
    assert all(w.returncode == 0 for w in writers), outputs
    assert done["file"] == str(backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in backup.parent.iterdir()) == ["nightly.bak"]  # no temporary file left

    acks = _acks(logs)
    before = {k for k, at in acks if at < started}
    during = {k for k, at in acks if started <= at <= finished}
    after = {k for k, at in acks if at > finished}
    assert len(before) >= WRITERS * 5 and after, (len(before), len(during), len(after))
    live = _keys(db_url)
    assert {k for k, _ in acks} <= live

    with fresh_database(db_url, tmp_path, "restored") as restored:
        Cli(restored).ok("db", "restore", backup)
        assert all(line["ok"] for line in Cli(restored).json("db", "check"))
        got = _keys(restored)
        _dispose(restored)
    assert before <= got, f"{len(before - got)} writes acknowledged before the backup are missing"
    assert got <= live  # nothing that was never written
    assert not (got & after), "writes acknowledged after the backup finished cannot be in it"


def test_restore_refuses_data_without_force_and_upgrades_an_older_backup(shop, db_url, engine, tmp_path):
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import HEADS, upgrade

    backup = tmp_path / "old.bak"
    with fresh_database(db_url, tmp_path, "old") as old_url:
        old = make_engine(DbTarget(url=old_url, embedded_default=False))
        upgrade(old, "0001_initial")
        with old.begin() as conn:  # a store as the first version wrote it
            conn.execute(text(
                "INSERT INTO store (slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
                "tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES ('oldshop', 'Old Shop', "
                "'https://crm.example.com', 1, :per, 0, 'never', :off, 12, 5000, :at)"
            ).bindparams(bindparam("per", type_=Money()), bindparam("at", type_=UTCDateTime())),
                {"per": Decimal("25.00"), "off": False, "at": datetime.now(timezone.utc)})
        old.dispose()
        Cli(old_url).ok("db", "backup", "--out", backup)  # a database behind the schema can be backed up
        _dispose(old_url)

    err = shop.fails(ExitCode.CONFLICT, "db", "restore", backup)
    assert err.startswith("error: ") and "--force" in err and "\n" not in err
    assert shop.json("store", "show")["slug"] == "cafe"  # untouched

    out = shop.json("db", "restore", backup, "--force")
    assert out["revision_before"] == ["0001_initial"] and out["revision_after"] == sorted(HEADS)
    assert out["replaced_data"] is True
    assert [s["slug"] for s in shop.json("store", "list", store=None)] == ["oldshop"]


def test_backup_needs_no_client_on_sqlite_and_names_it_on_postgresql(shop, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no pg_dump on the PATH
    if db_url.startswith("sqlite"):
        shop.ok("db", "backup", "--out", tmp_path / "x.bak")
    else:
        err = shop.fails(ExitCode.DATABASE, "db", "backup", "--out", tmp_path / "x.bak")
        assert "pg_dump not found" in err and "postgresql-client" in err
        assert not (tmp_path / "x.bak").exists()


def test_keep_rotates_the_backups_in_a_directory(shop, db_url, tmp_path):
    folder = tmp_path / "nightly"
    folder.mkdir()
    suffix = ".sqlite3" if db_url.startswith("sqlite") else ".dump"
    for stamp in ("20260101-190000", "20260102-190000", "20260103-190000"):
        (folder / f"crm-{stamp}{suffix}").write_bytes(b"old")
    (folder / "notes.txt").write_text("not a backup")
    out = shop.json("db", "backup", "--out", folder, "--keep", "2")
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["crm-20260103-190000" + suffix, Path(out["file"]).name, "notes.txt"]
    assert len(out["removed"]) == 2 and stat.S_IMODE(Path(out["file"]).stat().st_mode) == 0o600
    shop.fails(ExitCode.INVALID_INPUT, "db", "backup", "--out", folder / "one.bak", "--keep", "2")


def test_db_check_reports_a_broken_foreign_key(shop, db_url, engine, tmp_path):
    assert all(line["ok"] for line in shop.json("db", "check"))
    raw = create_engine(db_url)
    with raw.begin() as conn:
        if db_url.startswith("sqlite"):
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text("INSERT INTO branch (store_id, name, created_at) VALUES (9999, 'Ghost', :at)")
                     .bindparams(bindparam("at", type_=UTCDateTime())), {"at": datetime.now(timezone.utc)})
    raw.dispose()
    r = shop("db", "check", fmt="json")
    assert r.exit_code == ExitCode.CHECK_FAILED, r.stderr
    lines = {line["check"]: line for line in json.loads(r.stdout)}
    assert not lines["foreign keys"]["ok"] and "branch" in lines["foreign keys"]["detail"]
    assert lines["points ledger"]["ok"]
    assert r.stderr.strip() == "error: 1 check(s) failed: foreign keys (" + lines["foreign keys"]["scope"] + ")"


def _dispose(url: str) -> None:
    """Close this process's pooled connections to ``url`` (so its database can be dropped)."""
    from crm_cli.cli.context import _ENGINES

    for key in [k for k in _ENGINES if k.startswith(url)]:
        _ENGINES.pop(key).dispose()


def test_a_truncated_backup_changes_nothing(shop, db_url, tmp_path):
    backup = tmp_path / "full.bak"
    shop.ok("db", "backup", "--out", backup)
    cut = tmp_path / "cut.bak"
    data = backup.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    shop.ok("branch", "add", "Thonglor")  # written after the backup: must survive the failed restore
    # SQLite: the copy fails its check before anything is touched; PostgreSQL: the restore
    # stops where the file ends and the server rolls it back
    code = ExitCode.INVALID_INPUT if db_url.startswith("sqlite") else ExitCode.DATABASE
    err = shop.fails(code, "db", "restore", cut, "--force")
    assert str(cut) in err or "reading the backup" in err
    assert [b["name"] for b in shop.json("branch", "list")] == ["Ari", "Siam", "Thonglor"]


def test_db_check_verifies_tier_references_that_no_key_enforces(shop, db_url, engine):
    """member_tier and tier_history carry no foreign keys (migrations 0009, 0017): `crm db
    check` verifies them by query, and names a member's tier from another store."""
    shop.ok("tier", "set", "Gold", "--threshold", "10")
    shop.ok("store", "create", "other", "--name", "Other", "--no-use")
    shop.ok("points", "give", "0811111111", "--spend", "100", "--branch", "Siam")
    assert all(line["ok"] for line in shop.json("db", "check"))
    with engine.begin() as conn:  # cafe's Gold given to a member of 'other', and a row for no member
        conn.execute(text("INSERT INTO member (store_id, phone, source, created_at) "
                          "SELECT s.id, m.phone, m.source, m.created_at FROM store s, member m WHERE s.slug = 'other'"))
        conn.execute(text("INSERT INTO member_tier (member_id, tier_id) SELECT m.id, t.id FROM member m, tier t "
                          "WHERE m.store_id = (SELECT id FROM store WHERE slug = 'other')"))
        conn.execute(text("INSERT INTO member_tier (member_id, tier_id) SELECT MAX(id) + 100, 1 FROM member"))
    r = shop("db", "check", fmt="json")
    assert r.exit_code == ExitCode.CHECK_FAILED, r.stderr
    lines = {line["check"]: line for line in json.loads(r.stdout)}
    detail = lines["tier references"]["detail"]
    assert not lines["tier references"]["ok"] and lines["foreign keys"]["ok"]
    assert "member_tier.member_id -> member: 1 row(s)" in detail
    assert "member_tier.tier_id -> tier of the member's store: 1 row(s)" in detail
    # the member of 'other' never registered: no tier is theirs to hold either
    assert "member_tier.member_id -> a registered member, not erased: 1 row(s) break it" in detail
    assert "tier_history" not in detail
