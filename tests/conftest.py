"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the Alembic migrations once per test session and backend:
for SQLite into a template file copied per test, for PostgreSQL into a database of
its own (one per xdist worker) that is truncated between tests.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import Cli

PG_ADMIN_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ALL_BACKENDS = ("sqlite", "postgresql")


def _backends() -> tuple[str, ...]:
    """CRM_TEST_DB=sqlite or =postgresql runs one half alone (quick local work); unset or
    'both' runs every database test on both, as `make test` does."""
    raw = os.environ.get("CRM_TEST_DB", "").strip().lower()
    if raw in ("", "both", "all"):
        return ALL_BACKENDS
    aliases = {"sqlite": "sqlite", "sqlite3": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
               "pg": "postgresql"}
    return (aliases[raw],) if raw in aliases else ()


BACKENDS = _backends() or ALL_BACKENDS
#: a test of PostgreSQL's own behaviour (concurrent writers, COPY, roles): its ``db_url`` on
#: PostgreSQL alone (no test at all when CRM_TEST_DB selects SQLite)
on_postgresql = pytest.mark.parametrize("db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
_BACKEND_COUNTS: Counter = Counter()


def pytest_configure(config):
    if not _backends():
        raise pytest.UsageError(f"CRM_TEST_DB={os.environ['CRM_TEST_DB']!r}: use sqlite, postgresql or both")


def pytest_report_header(config):
    where = f" (PostgreSQL admin URL {PG_ADMIN_URL})" if "postgresql" in BACKENDS else ""
    alone = "" if BACKENDS == ALL_BACKENDS else f" only (CRM_TEST_DB={BACKENDS[0]})"
    size = "full-size fault and concurrency tests (CRM_TEST_ALL=1)" if os.environ.get("CRM_TEST_ALL") == "1" \
        else "quick fault and concurrency tests (CRM_TEST_ALL=1 for full size)"
    return [f"crm: database tests run on {', '.join(BACKENDS)}{alone}{where}; {size}"]


def pytest_runtest_logreport(report):
    if report.when == "call" and "[" in report.nodeid:
        for b in BACKENDS:
            if f"[{b}" in report.nodeid or f"-{b}]" in report.nodeid or f"-{b}-" in report.nodeid:
                _BACKEND_COUNTS[(b, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter):
    if _BACKEND_COUNTS:
        parts = []
        for b in BACKENDS:
            passed = _BACKEND_COUNTS[(b, "passed")]
            failed = _BACKEND_COUNTS[(b, "failed")]
            parts.append(f"{b}: {passed} passed, {failed} failed")
        skipped = [b for b in ALL_BACKENDS if b not in BACKENDS]
        if skipped:
            parts.append(f"{', '.join(skipped)}: not run (CRM_TEST_DB={BACKENDS[0]})")
        terminalreporter.write_line("database tests by backend: " + "; ".join(parts))


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    engine = make_engine(DbTarget(url=f"sqlite:///{path}", embedded_default=False))
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url():
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    # one database per test process, so concurrent runs and xdist workers never share one
    name = f"crm_test_{_worker()}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem, fail loudly
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(DbTarget(url=url, embedded_default=False))
    upgrade(engine)
    engine.dispose()
    yield url
    from crm_cli.cli.context import _ENGINES

    for key in [k for k in _ENGINES if k.startswith(url)]:
        _ENGINES.pop(key).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


#: Empty every table and restart every sequence in one round trip. DELETE of a test's few rows
#: takes ~20 ms where TRUNCATE of ~45 tables takes 0.1-0.9 s (new files for every table);
#: the replica role skips the foreign-key triggers, so the order does not matter. Like TRUNCATE,
#: it first waits for any other session still writing (a process a test left behind).
_CLEAR_PG = """
DO $$
DECLARE r record;
BEGIN
  SET LOCAL session_replication_role = replica;
  EXECUTE (SELECT 'LOCK TABLE ' || string_agg(format('%%I', c.relname), ', ') || ' IN ACCESS EXCLUSIVE MODE'
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version');
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM %%I', r.relname);
  END LOOP;
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S' LOOP
    EXECUTE format('ALTER SEQUENCE %%I RESTART', r.relname);
  END LOOP;
END $$
"""
_PG_CLEAR_BY_DELETE = {"ok": True}


def _truncate_pg(url: str) -> None:
    from crm_cli.cli.context import _ENGINES
    from crm_cli.db.engine import DbTarget, make_engine

    key = f"{url}|truncate"
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = make_engine(DbTarget(url=url, embedded_default=False))
    if _PG_CLEAR_BY_DELETE["ok"]:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(_CLEAR_PG)
            return
        except Exception:  # noqa: BLE001 - not a superuser (the replica role): TRUNCATE instead
            _PG_CLEAR_BY_DELETE["ok"] = False
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """A fresh, migrated, empty database URL for one test (both backends)."""
    if request.param == "sqlite":
        target = tmp_path / "crm.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        os.chmod(target, 0o600)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def backend(db_url) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def engine(db_url):
    from crm_cli.cli.context import AppState

    return AppState(db_url=db_url).engine()


@pytest.fixture
def uow(engine):
    """``with uow() as session:`` one committed transaction (services flush, this commits)."""
    from crm_cli.db.uow import unit_of_work

    @contextmanager
    def _uow(write: bool = True):
        with unit_of_work(engine, write=write) as session:
            yield session

    return _uow


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CRM_STORE", raising=False)
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.setenv("CRM_ACTOR", "tester")
    return tmp_path


@pytest.fixture
def cli(db_url, isolated_env) -> Cli:
    return Cli(db_url)


@pytest.fixture
def shop(cli) -> Cli:
    """A store 'cafe' with branches Siam and Ari, selected for every call."""
    cli.ok("store", "create", "cafe", "--name", "Cafe Siam", "--phone", "02-123-4567")
    cli.store = "cafe"
    cli.ok("branch", "add", "Siam")
    cli.ok("branch", "add", "Ari")
    return cli
