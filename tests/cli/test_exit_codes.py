"""The documented exit codes of an operator's own actions and of a busy database, each
seen from a real `crm` process on SQLite and PostgreSQL: declining a confirmation (12),
Ctrl-C (130), a database busy past its timeout (11). Nothing is written in any case."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from crm_cli.domain.errors import ExitCode
from tests.support import crm_command, crm_env

REPO = Path(__file__).resolve().parents[2]


def _branches(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT name FROM branch")).scalars())


def _one_clean_line(err: str) -> str:
    err = err.strip()
    assert "Traceback" not in err and err.count("\n") == 0 and err.startswith("error: "), err
    return err


def _on_a_terminal(argv: list[str], env: dict, answer: bytes | None) -> tuple[int, str]:
    """Run with stdin and stderr on a pseudo-terminal; type ``answer`` at the prompt
    (None: end of input, as Ctrl-D)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=subprocess.PIPE, stderr=slave, cwd=REPO)
    os.close(slave)
    out, deadline = b"", time.monotonic() + 60
    try:
        while b"[y/N]" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                out += os.read(master, 4096)
        assert b"[y/N]" in out, out
        os.write(master, answer if answer is not None else b"\x04")
        while True:
            if not select.select([master], [], [], 1)[0]:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        return proc.wait(timeout=60), out.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_declining_a_confirmation_exits_12_and_deletes_nothing(shop, db_url, engine, tmp_path):
    argv = crm_command("--db", db_url, "store", "delete", "cafe")
    for answer in (b"n\n", None):
        code, out = _on_a_terminal(argv, crm_env(tmp_path), answer)
        assert code == ExitCode.DECLINED, out
        assert "nothing was done" in out or "was not deleted" in out, out
        assert "Traceback" not in out
    assert shop.json("store", "show")["slug"] == "cafe"


def test_database_busy_past_its_timeout_exits_11(shop, db_url, engine, tmp_path):
    argv = crm_command("--db", db_url, "--store", "cafe", "branch", "add", "Thonglor")
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url.split(":///", 1)[1], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held
        env = crm_env(tmp_path, CRM_BUSY_TIMEOUT="0.3")
    else:
        holder = create_engine(db_url).connect()
        holder.execute(text("LOCK TABLE branch IN ACCESS EXCLUSIVE MODE"))
        env = crm_env(tmp_path, PGOPTIONS="-c lock_timeout=300")
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == ExitCode.DATABASE_BUSY, proc.stderr
    err = _one_clean_line(proc.stderr)
    assert "busy" in err and "try again" in err
    assert _branches(engine) == ["Ari", "Siam"]


def test_ctrl_c_exits_130_and_writes_nothing(shop, db_url, engine, tmp_path):
    from crm_cli.cli.context import dispose_engines

    if db_url.startswith("sqlite"):
        # a long import, interrupted once it has started writing
        path = Path(db_url.split(":///", 1)[1])
        dispose_engines()  # this process's connections closed: the -wal file is gone
        csv = tmp_path / "members.csv"
        csv.write_text("phone,name,points\n" + "".join(f"08{50000000 + i:08d},Member {i},{i % 500}\n" for i in range(20_000)))
        proc = subprocess.Popen(crm_command("--db", db_url, "--store", "cafe", "member", "import", csv, "--branch", "Siam",
                                            "--max-rows", "20000"),
                                env=crm_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        wal = Path(f"{path}-wal")
        deadline = time.monotonic() + 60
        while not wal.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        # a shell reports 130 both for exit(130) and for a process that ended on SIGINT
        # (-2 here), which Python chooses when the interrupt lands while it is shutting down
        assert proc.returncode in (ExitCode.INTERRUPTED, -signal.SIGINT), err
        assert "Traceback" not in err
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM member")).scalar_one() == 0
    else:
        # a command waiting for a lock, interrupted while it waits
        holder = create_engine(db_url).connect()
        holder.execute(text("LOCK TABLE branch IN ACCESS EXCLUSIVE MODE"))
        try:
            proc = subprocess.Popen(crm_command("--db", db_url, "--store", "cafe", "branch", "add", "Thonglor"),
                                    env=crm_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            _wait_for_lock_wait(holder, db_url)
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=60)
        finally:
            holder.rollback()
            holder.close()
        assert proc.returncode == ExitCode.INTERRUPTED, err
        assert _branches(engine) == ["Ari", "Siam"]
    assert "interrupted" in _one_clean_line(err)


def _wait_for_lock_wait(conn, db_url: str) -> int:
    """The pid of the backend of this database that waits for a lock (the command's)."""
    from sqlalchemy.engine import make_url

    name = make_url(db_url).database
    watcher = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with watcher.connect() as w:
                pid = w.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND wait_event_type = 'Lock'"),
                                {"d": name}).scalar()
            if pid:
                return pid
            time.sleep(0.02)
        raise AssertionError("the command never waited for the lock")
    finally:
        watcher.dispose()
