"""Database URL resolution and engine creation (SQLite default, PostgreSQL by URL).

The embedded default is a SQLite file in the user data directory (platformdirs),
created mode 0600, WAL, foreign keys on, busy timeout. Writers take an immediate
write lock (``BEGIN IMMEDIATE``) so concurrent processes serialize instead of
failing half-way; readers use a deferred transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crm_cli.domain.errors import DatabaseError

ENV_URL = "CRM_DATABASE_URL"
ENV_DATA_DIR = "CRM_DATA_DIR"
BUSY_TIMEOUT_MS = 30_000


def default_data_dir() -> Path:
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("crm", appauthor=False))


def default_sqlite_path() -> Path:
    return default_data_dir() / "crm.sqlite3"


@dataclass(frozen=True)
class DbTarget:
    url: str
    embedded_default: bool  # True when no URL was given: auto-created and auto-upgraded

    @property
    def safe_url(self) -> str:
        return safe_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def resolve_url(cli_url: str | None) -> DbTarget:
    url = cli_url or os.environ.get(ENV_URL)
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return DbTarget(url=url, embedded_default=False)
    return DbTarget(url=f"sqlite:///{default_sqlite_path()}", embedded_default=True)


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable URL: still never echo a password
        return url.split("@")[-1]


def sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return None
    return Path(path)


def _ensure_sqlite_file(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)


def make_engine(target: DbTarget, *, create: bool = True):
    from sqlalchemy import create_engine, event

    url = target.url
    if target.is_sqlite:
        path = sqlite_file(url)
        if path is not None:
            if not path.exists() and not create:
                raise DatabaseError(f"database file {path} does not exist")
            try:
                _ensure_sqlite_file(path)
            except OSError as exc:
                raise DatabaseError(f"cannot create database file {path}: {exc.strerror}") from None
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = conn.info.get("crm_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    try:
        return create_engine(url, pool_pre_ping=False)
    except Exception as exc:  # bad URL, missing driver
        raise DatabaseError(f"cannot use database URL {safe_url(url)}: {exc}") from None
