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
ENV_BUSY_TIMEOUT = "CRM_BUSY_TIMEOUT"


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


def make_engine(target: DbTarget, *, create: bool = True, pool_size: int | None = None):
    """The engine for ``target``. ``pool_size``: connections kept open (default 5; a server
    answering concurrent requests keeps one per request in flight instead of reconnecting)."""
    from sqlalchemy import create_engine, event

    url = target.url
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 2 * pool_size}
    if target.is_sqlite:
        path = sqlite_file(url)
        if path is not None:
            if not path.exists() and not create:
                raise DatabaseError(f"database file {path} does not exist")
            try:
                _ensure_sqlite_file(path)
            except OSError as exc:
                raise DatabaseError(f"cannot create database file {path}: {exc.strerror}") from None
        busy_ms = busy_timeout_ms()
        engine = create_engine(url, connect_args={"timeout": busy_ms / 1000}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = conn.info.get("crm_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # PostgreSQL: the driver (psycopg) is imported here, for PostgreSQL URLs only. crm stores no
    # hstore values, so the dialect need not look the type up on every first connection.
    options = {"use_native_hstore": False} if url.startswith(("postgresql+psycopg", "postgresql://")) else {}
    try:
        return create_engine(url, pool_pre_ping=False, **options, **pool)
    except Exception as exc:  # bad URL, missing driver
        raise DatabaseError(f"cannot use database URL {safe_url(url)}: {exc}") from None


# ---------------------------------------------------------------- damage, one clear line

_SQLITE_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
_SQLITE_FULL = ("SQLITE_FULL",)
_PG_GONE = ("57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004")
_PG_BUSY = ("55P03", "40P01", "57014")


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    text = text.split("(Background on this error")[0].strip()
    return (text[:200] + "...") if len(text) > 200 else (text or exc.__class__.__name__)


def describe_db_error(exc: BaseException, url: str | None) -> DatabaseError | None:
    """The database error ``exc`` (a SQLAlchemy/driver error) as one line that names the
    file or server and says what to do; None when it is not about the database itself
    (a constraint, a bug). A busy database is :class:`DatabaseBusy` (its own exit code)."""
    from crm_cli.domain.errors import DatabaseBusy

    orig = getattr(exc, "orig", None) or exc
    first = _first_line(exc)
    low = first.lower()
    path = sqlite_file(url) if url else None
    if url is not None and url.startswith("sqlite"):
        name = getattr(orig, "sqlite_errorname", "") or ""
        where = f"database file {path}" if path else "the SQLite database"
        if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "database is locked" in low:
            return DatabaseBusy(f"{where} is busy: another process held its write lock past the "
                                f"{busy_timeout_ms() / 1000:g} s timeout; nothing was written, try again")
        if name in _SQLITE_DAMAGED or "not a database" in low or "malformed" in low:
            return DatabaseError(f"{where} is damaged or is not a crm database ({first}): restore it from a "
                                 f"backup with `crm db restore BACKUP --force`, or point --db at the right file")
        if name in _SQLITE_FULL or "disk is full" in low or "disk i/o error" in low or name.startswith("SQLITE_IOERR"):
            return DatabaseError(f"{where}: the disk is full or a file-size limit was reached ({first}); nothing "
                                 f"was written: free some space, then run the command again")
        if name.startswith("SQLITE_READONLY") or "readonly" in low or "read-only" in low:
            return DatabaseError(f"{where} is read-only for this user ({first}): the file and its directory must "
                                 f"be writable (SQLite writes {path.name if path else 'the file'}-wal and -shm beside it)")
        if name.startswith("SQLITE_CANTOPEN") or "unable to open" in low:
            return DatabaseError(f"cannot open {where} ({first}): its directory must exist and be writable by "
                                 f"this user (SQLite writes -wal and -shm files beside it)")
        return None
    if url is not None and url.startswith("postgresql"):
        server = safe_url(url)
        state = getattr(orig, "sqlstate", None)
        if state in _PG_BUSY:
            return DatabaseBusy(f"database {server} is busy ({first}); nothing was written, try again")
        if state == "53100" or "no space left" in low:
            return DatabaseError(f"database server {server} is out of disk space ({first}); nothing was written: "
                                 f"free space on the server, then run the command again")
        if state == "25006" or "read-only transaction" in low:
            return DatabaseError(f"database {server} is read-only ({first}): connect to the primary server")
        if state in _PG_GONE or (state is None and (
                "server closed the connection" in low or "consuming input failed" in low
                or "connection is lost" in low or "connection refused" in low or "could not connect" in low
                or "terminating connection" in low or "the connection is closed" in low)):
            return DatabaseError(f"lost the connection to the database server {server} ({first}); the unfinished "
                                 f"transaction was rolled back: check that the server is running, then run the command again")
        return None
    return None


def busy_timeout_ms() -> int:
    """SQLite busy timeout: CRM_BUSY_TIMEOUT seconds (default 30)."""
    raw = os.environ.get(ENV_BUSY_TIMEOUT)
    try:
        value = float(raw) if raw else BUSY_TIMEOUT_MS / 1000
    except ValueError:
        value = BUSY_TIMEOUT_MS / 1000
    return int(min(max(value, 0.0), 3600.0) * 1000)
