"""Data safety: the database file holds its data after every command.

Run as real processes on the embedded default database (``CRM_DATA_DIR`` in a temporary
directory): after a command exits, a copy of ``crm.sqlite3`` alone (without its ``-wal``
and ``-shm`` files) opens with every committed change.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_crm(env_dir: Path, *args: str, check: bool = True, extra_env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update({
        "CRM_DATA_DIR": str(env_dir / "data"),
        "CRM_CONFIG_DIR": str(env_dir / "config"),
        "CRM_ACTOR": "tester",
        "PYTHONPATH": str(REPO),
    })
    env.pop("CRM_DATABASE_URL", None)
    env.pop("CRM_STORE", None)
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "-m", "crm_cli", *args], env=env, capture_output=True, text=True,
                          cwd=REPO, timeout=120, **kw)
    if check:
        assert proc.returncode == 0, f"crm {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
    return proc


def main_file_alone(data_dir: Path, tmp: Path) -> sqlite3.Connection:
    """Copy only crm.sqlite3 (never -wal/-shm) and open the copy."""
    copy_dir = tmp / "copy"
    copy_dir.mkdir(exist_ok=True)
    target = copy_dir / "crm.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(data_dir / "crm.sqlite3", target)
    return sqlite3.connect(target)


def test_first_command_leaves_the_store_in_the_main_file(tmp_path):
    run_crm(tmp_path, "store", "create", "shop", "--name", "Shop S")
    con = main_file_alone(tmp_path / "data", tmp_path)
    try:
        assert con.execute("SELECT slug, name FROM store").fetchall() == [("shop", "Shop S")]
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_demo_leaves_everything_in_the_main_file(tmp_path):
    run_crm(tmp_path, "demo")
    tables = ("store", "member", "ledger_entry", "audit_log")
    con = main_file_alone(tmp_path / "data", tmp_path)  # copied before anything else opens the database
    try:
        got = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        con.close()
    live = sqlite3.connect(tmp_path / "data" / "crm.sqlite3")
    try:
        expected = {t: live.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        live.close()
    assert expected["member"] > 0 and expected["ledger_entry"] > 0
    assert got == expected


# ---------------------------------------------------------------- damage: one clear line, exit 8, nothing written

from contextlib import contextmanager  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from crm_cli.domain.errors import ExitCode  # noqa: E402
from tests.conftest import BACKENDS  # noqa: E402
from tests.support import Cli, crm_command, crm_env  # noqa: E402

#: the SQLite file cases and the PostgreSQL server cases follow CRM_TEST_DB like the rest
on_sqlite = pytest.mark.skipif("sqlite" not in BACKENDS, reason="CRM_TEST_DB selects PostgreSQL only")
on_postgresql = pytest.mark.skipif("postgresql" not in BACKENDS, reason="CRM_TEST_DB selects SQLite only")


def _shop_file(tmp_path: Path, sqlite_template: Path) -> tuple[Path, str]:
    """A SQLite file with store 'cafe' and branch Siam, every connection to it closed."""
    from crm_cli.cli.context import dispose_engines

    path = tmp_path / "shop" / "crm.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    Cli(url).ok("store", "create", "cafe", "--name", "Cafe")
    Cli(url, store="cafe").ok("branch", "add", "Siam")
    dispose_engines()
    assert not Path(f"{path}-wal").exists()
    return path, url


def _run(tmp_path: Path, *args: str, preexec=None, **env) -> subprocess.CompletedProcess:
    return subprocess.run(crm_command(*args), env=crm_env(tmp_path, PYTHONDONTWRITEBYTECODE="1", **env),
                          capture_output=True, text=True, timeout=120, cwd=REPO, preexec_fn=preexec)


def _exit_8_one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == ExitCode.DATABASE, f"exit {proc.returncode}: {proc.stderr}"
    err = proc.stderr.strip()
    assert err.startswith("error: ") and err.count("\n") == 0 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def _read_only(path: Path):
    """Make a file or directory read-only, even for root (the immutable flag)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)


@on_sqlite
def test_a_file_that_is_not_a_database(tmp_path):
    junk = tmp_path / "crm.sqlite3"
    junk.write_text("name,phone\nSomsri,0812345678\n")
    before = _digest(junk)
    err = _exit_8_one_line(_run(tmp_path, "--db", f"sqlite:///{junk}", "--store", "cafe", "branch", "list"),
                           str(junk), "not a crm database", "crm db restore")
    assert "(file is not a database)" in err
    assert _digest(junk) == before
    # the embedded default database, damaged the same way
    (tmp_path / "data").mkdir()
    shutil.copyfile(junk, tmp_path / "data" / "crm.sqlite3")
    _exit_8_one_line(_run(tmp_path, "store", "list"), str(tmp_path / "data" / "crm.sqlite3"), "not a crm database")


@on_sqlite
def test_a_damaged_database_file(tmp_path, sqlite_template):
    path, url = _shop_file(tmp_path, sqlite_template)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # every page but the first (the schema) overwritten
        fh.seek(4096)
        fh.write(b"\xa5" * (size - 4096))
    before = _digest(path)
    _exit_8_one_line(_run(tmp_path, "--db", url, "--store", "cafe", "branch", "list"), str(path), "damaged",
                     "crm db restore")
    assert _digest(path) == before


@on_sqlite
@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_database(tmp_path, sqlite_template, what):
    path, url = _shop_file(tmp_path, sqlite_template)
    before = _digest(path)
    with _read_only(path if what == "file" else path.parent):
        proc = _run(tmp_path, "--db", url, "--store", "cafe", "branch", "add", "Ari")
    err = _exit_8_one_line(proc, str(path))
    assert "read-only" in err or "writable" in err
    assert _digest(path) == before
    assert [b["name"] for b in Cli(url, store="cafe").json("branch", "list")] == ["Siam"]


@on_sqlite
def test_a_full_disk_while_importing(tmp_path, sqlite_template):
    import resource

    path, url = _shop_file(tmp_path, sqlite_template)
    csv = tmp_path / "members.csv"
    csv.write_text("phone,name,points\n" + "".join(f"08{52000000 + i:08d},Member {i},{i % 300}\n" for i in range(3000)))
    before = _digest(path)

    def tiny_files():  # no file this process writes may grow past 64 KiB (`ulimit -f 64`)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = _run(tmp_path, "--db", url, "--store", "cafe", "member", "import", str(csv), "--branch", "Siam",
                preexec=tiny_files)
    _exit_8_one_line(proc, str(path), "disk is full", "nothing was written")
    assert _digest(path) == before
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT COUNT(*) FROM member").fetchone() == (0,)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_a_full_disk_while_exporting(shop, db_url, tmp_path):
    import resource

    for i in range(20):  # about 3 KB of CSV
        shop.ok("points", "give", f"08{53000000 + i:08d}", "--spend", "100", "--branch", "Siam")
    out = tmp_path / "ledger.csv"

    def tiny_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    before = sorted(tmp_path.iterdir())
    proc = _run(tmp_path, "--db", db_url, "--store", "cafe", "points", "export", "--out", str(out), preexec=tiny_files)
    # an output file that cannot be written is a bad --out (exit 5), named, with nothing left behind
    assert proc.returncode == ExitCode.INVALID_INPUT, proc.stderr
    err = proc.stderr.strip()
    assert err == f"error: cannot write {out}: File too large", err
    assert sorted(tmp_path.iterdir()) == before


@on_postgresql
def test_a_postgresql_server_that_goes_away_mid_command(pg_url, tmp_path):
    """The command waits for a lock; its server process is terminated meanwhile."""
    from crm_cli.cli.context import _ENGINES
    from tests.cli.test_exit_codes import _wait_for_lock_wait
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    Cli(pg_url).ok("store", "create", "cafe", "--name", "Cafe")
    holder = create_engine(pg_url).connect()
    holder.execute(text("LOCK TABLE branch IN ACCESS EXCLUSIVE MODE"))
    try:
        proc = subprocess.Popen(crm_command("--db", pg_url, "--store", "cafe", "branch", "add", "Ari"),
                                env=crm_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        pid = _wait_for_lock_wait(holder, pg_url)
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        admin.dispose()
        _out, err = proc.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    from crm_cli.db.engine import safe_url

    done = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    _exit_8_one_line(done, f"lost the connection to the database server {safe_url(pg_url)}", "rolled back")
    assert Cli(pg_url, store="cafe").json("branch", "list") == []
    for key in [k for k in _ENGINES if k.startswith(pg_url)]:
        _ENGINES[key].dispose()


@on_postgresql
def test_a_postgresql_server_that_is_not_there(tmp_path):
    url = "postgresql+psycopg://crm:secret@127.0.0.1:9/crm"  # nothing listens on the discard port
    err = _exit_8_one_line(_run(tmp_path, "--db", url, "store", "list"), "127.0.0.1:9")
    assert "secret" not in err
