"""Test helpers shared by the suite."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path


class Cli:
    """Runs `crm` in-process through Typer's CliRunner against one database."""

    def __init__(self, db_url: str, store: str | None = None):
        from typer.testing import CliRunner

        self.db_url = db_url
        self.store = store
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, store: str | None = "__default__", fmt: str | None = None):
        from crm_cli.cli.app import app

        argv = ["--db", self.db_url]
        s = self.store if store == "__default__" else store
        if s:
            argv += ["--store", s]
        if fmt:
            argv += ["--format", fmt]
        argv += [str(a) for a in args]
        return self.runner.invoke(app, argv, input=input, catch_exceptions=False)

    def ok(self, *args: str, **kw):
        r = self(*args, **kw)
        assert r.exit_code == 0, f"crm {' '.join(map(str, args))} exited {r.exit_code}: {r.stderr or r.output}"
        return r

    def at(self, when: str, *args: str, **kw):
        """``ok`` with the clock frozen at ``when`` (e.g. "2026-08-01T10:00:00+07:00")."""
        from freezegun import freeze_time

        with freeze_time(when):
            return self.ok(*args, **kw)

    def json(self, *args: str, **kw):
        r = self.ok(*args, fmt="json", **kw)
        return json.loads(r.stdout)

    def fails(self, code: int, *args: str, **kw):
        r = self(*args, **kw)
        assert r.exit_code == code, f"expected exit {code}, got {r.exit_code}: {r.stderr or r.output}"
        err = r.stderr.strip()
        assert "Traceback" not in r.output, r.output
        return err


def crm_env(tmp_path, **extra) -> dict:
    """Environment for `crm` run as a real process: config and data in ``tmp_path``."""
    import os
    from pathlib import Path

    env = dict(os.environ)
    env.update({
        "CRM_DATA_DIR": str(Path(tmp_path) / "data"),
        "CRM_CONFIG_DIR": str(Path(tmp_path) / "config"),
        "CRM_ACTOR": "tester",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    })
    for name in ("CRM_DATABASE_URL", "CRM_STORE", "CRM_DEBUG"):
        env.pop(name, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def crm_command(*args: str) -> list[str]:
    """argv that runs `crm ARGS` in a new Python process."""
    import sys

    return [sys.executable, "-m", "crm_cli", *map(str, args)]


#: `make test-all` (CRM_TEST_ALL=1) runs the fault and concurrency tests at full size;
#: `make test` runs them smaller, so the whole suite stays within minutes on two cores.
RUN_ALL = os.environ.get("CRM_TEST_ALL") == "1"


def sized(quick, full):
    """``full`` under `make test-all`, else ``quick``."""
    return full if RUN_ALL else quick


@contextmanager
def fresh_database(db_url: str, tmp_path: Path, name: str):
    """An empty database of the same kind as ``db_url`` (a new file, or a new PostgreSQL database)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN_URL

    dbname = f"crm_{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield make_url(db_url).set(database=dbname).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def members_with_points(session, points: dict[str, int], *, at) -> None:
    """Registered members at ``at`` (phone -> points), then their points earned at ``at``."""
    from tests.services.test_tiers_helpers import earn, member

    for phone in points:
        member(session, phone, now=at)
    for phone, n in points.items():
        earn(session, phone, n, at=at)


class ServeProcess:
    """A `crm serve` process (see :func:`serving`): ``url`` while it runs; ``returncode``,
    ``out`` and ``err`` once it has stopped."""

    def __init__(self, proc):
        self.proc = proc
        self.url = ""
        self.out = self.err = ""

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


@contextmanager
def serving(db_url: str, *args: str, env: dict | None = None, banner: str = "", start_within: float = 10,
            stop_within: float = 15):
    """`crm serve --port 0 ARGS` as a real process on 127.0.0.1; yields a :class:`ServeProcess` once
    ``/healthz`` answers 200 (its first stderr line must match the URL followed by the regex
    ``banner``), and stops it with SIGINT (Ctrl-C) on leaving."""
    import re
    import signal
    import subprocess
    import time

    import httpx

    proc = subprocess.Popen(crm_command("--db", db_url, "serve", "--port", "0", *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})), text=True)
    served = ServeProcess(proc)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)" + banner, line)
        assert m, line
        served.url = f"http://127.0.0.1:{m.group(1)}"
        deadline = time.monotonic() + start_within
        while True:  # with --workers, each worker starts its own interpreter
            try:
                if httpx.get(served.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.05)
        yield served
    finally:
        proc.send_signal(signal.SIGINT)
        served.out, served.err = proc.communicate(timeout=stop_within)
