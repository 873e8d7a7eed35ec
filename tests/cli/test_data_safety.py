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
