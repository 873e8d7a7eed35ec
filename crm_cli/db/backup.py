"""Backups, restores and integrity checks of the whole database (SQLite and PostgreSQL).

* SQLite: a backup is a consistent copy taken with SQLite's online backup API (one read
  snapshot, so other processes keep writing meanwhile), checked with ``PRAGMA
  quick_check``, written to a temporary file of mode 0600 beside the target and renamed
  over it. A restore copies the backup into the live database through the same API, in
  one write transaction (other processes see the old or the new database, never a mix).
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot) to a temporary file,
  renamed into place; a restore pipes ``pg_restore``'s script into ``psql
  --single-transaction`` after dropping the old schema, so it is all or nothing.

Checks: SQLite ``PRAGMA integrity_check`` (pages, indexes, constraints) and
``foreign_key_check``; on PostgreSQL, which keeps its own pages consistent, every foreign
key is re-verified by a query (rows whose referenced row is missing, which only a
disabled trigger or ``session_replication_role = replica`` could leave) and, when the
``amcheck`` extension is installed, every B-tree index with ``bt_index_check``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_cli.db.engine import busy_timeout_ms, safe_url, sqlite_file
from crm_cli.domain.errors import Conflict, DatabaseError, InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
BACKUP_PREFIX = "crm-"
SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".dump"}
PG_CLIENT_HINT = ("install the PostgreSQL client programs of the server's major version or newer "
                  "(Debian/Ubuntu: apt install postgresql-client)")


@dataclass(frozen=True)
class BackupResult:
    database: str
    file: str
    bytes: int
    method: str
    removed: list[str]


@dataclass(frozen=True)
class RestoreResult:
    database: str
    file: str
    method: str
    revision_before: list[str]
    revision_after: list[str]
    replaced_data: bool


@dataclass(frozen=True)
class CheckLine:
    check: str
    scope: str
    ok: bool
    detail: str


# ---------------------------------------------------------------- files


def _temp_beside(path: Path) -> Path:
    """A new, empty file of mode 0600 beside ``path`` (same file system, so rename is atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise InvalidInput(f"cannot write the backup in {path.parent}: {exc.strerror}") from None
    return tmp


def _commit_file(tmp: Path, path: Path) -> None:
    """fsync the finished temporary file, rename it over ``path`` and fsync the directory."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - some systems cannot open a directory
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _write_backup(target: Path, write: Callable[[Path], None], *, database: str, method: str) -> BackupResult:
    """Run ``write`` on a temporary file beside ``target``, then move it into place (removed on failure)."""
    tmp = _temp_beside(target)
    try:
        write(tmp)
        _commit_file(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(database=database, file=str(target), bytes=target.stat().st_size, method=method, removed=[])


def backup_target(out: Path, *, dialect: str, stamp: str) -> Path:
    """The file to write: ``out`` itself, or ``crm-STAMP.sqlite3|.dump`` inside the directory ``out``."""
    if out.is_dir():
        return out / f"{BACKUP_PREFIX}{stamp}{SUFFIX[dialect]}"
    if not out.parent.is_dir():
        raise InvalidInput(f"cannot write {out}: the directory {out.parent} does not exist")
    return out


def rotate(directory: Path, *, dialect: str, keep: int) -> list[str]:
    """Delete this tool's older backups in ``directory`` (crm-*.sqlite3 or crm-*.dump),
    keeping the newest ``keep`` by name (the names hold the time they were taken)."""
    mine = sorted(p for p in directory.glob(f"{BACKUP_PREFIX}*{SUFFIX[dialect]}") if p.is_file())
    removed = []
    for p in mine[:-keep] if keep > 0 else mine:
        p.unlink(missing_ok=True)
        removed.append(str(p))
    return removed


def kind_of_file(path: Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes; InvalidInput otherwise."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise InvalidInput(f"backup file {path} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read backup file {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise InvalidInput(f"{path} is not a crm backup (neither a SQLite database nor a pg_dump custom-format file)")


# ---------------------------------------------------------------- SQLite


def _sqlite_connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    con = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms() / 1000, isolation_level=None)
    con.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    return con


def sqlite_backup(db_path: Path, target: Path) -> BackupResult:
    def copy(tmp: Path) -> None:
        src = _sqlite_connect(db_path)
        try:
            dst = sqlite3.connect(tmp, isolation_level=None)
            try:
                src.backup(dst)  # all pages in one step: one read snapshot, writers go on
                dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
                verdict = dst.execute("PRAGMA quick_check").fetchall()
            finally:
                dst.close()
        finally:
            src.close()
        if verdict != [("ok",)]:
            raise DatabaseError(f"the copy of {db_path} failed its check ({verdict[0][0]}): run `crm db check`")

    return _write_backup(target, copy, database=str(db_path), method="SQLite online backup")


def sqlite_revisions(path: Path) -> set[str] | None:
    """The alembic revisions recorded in a SQLite file (None: not a crm database)."""
    try:
        con = _sqlite_connect(path, readonly=True)
        try:
            has = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone()
            if not has:
                return None
            return {r[0] for r in con.execute("SELECT version_num FROM alembic_version")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"backup file {path} is damaged ({exc}): use another backup") from None


def sqlite_restore(backup: Path, db_path: Path) -> None:
    """Copy ``backup`` into the live database in one write transaction of the target."""
    src = _sqlite_connect(backup, readonly=True)
    try:
        verdict = src.execute("PRAGMA quick_check").fetchall()
        if verdict != [("ok",)]:
            raise InvalidInput(f"backup file {backup} is damaged ({verdict[0][0]}): use another backup")
        dst = _sqlite_connect(db_path)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()


#: references that no foreign key enforces (a per-row trigger cost more than the write: migrations
#: 0009 and 0017), and the rule of who may hold a tier (migration 0019), as (what, query
#: counting the rows that break it)
UNKEYED_REFERENCES: tuple[tuple[str, str], ...] = (
    ("member_tier.member_id -> member",
     "SELECT COUNT(*) FROM member_tier t WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.id = t.member_id)"),
    ("member_tier.tier_id -> tier of the member's store",
     "SELECT COUNT(*) FROM member_tier t JOIN member m ON m.id = t.member_id "
     "WHERE NOT EXISTS (SELECT 1 FROM tier x WHERE x.id = t.tier_id AND x.store_id = m.store_id)"),
    ("tier_history.member_id -> member of the store",
     "SELECT COUNT(*) FROM tier_history h "
     "WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.id = h.member_id AND m.store_id = h.store_id)"),
    # a rule, not a reference, kept by the same writers: the recalculation relies on it (tiers.py)
    ("member_tier.member_id -> a registered member, not erased",
     "SELECT COUNT(*) FROM member_tier t JOIN member m ON m.id = t.member_id "
     "WHERE m.registered_at IS NULL OR m.erased_at IS NOT NULL"),
)


def unkeyed_check(conn) -> CheckLine:
    """The references of :data:`UNKEYED_REFERENCES`, verified by query on either database."""
    from sqlalchemy import text

    bad = []
    for what, sql in UNKEYED_REFERENCES:
        n = conn.execute(text(sql)).scalar_one()
        if n:
            bad.append(f"{what}: {n} row(s) break it")
    return CheckLine("tier references", f"{len(UNKEYED_REFERENCES)} checks no key enforces", not bad,
                     "every referenced row exists" if not bad else "; ".join(bad))


def sqlite_checks(engine) -> list[CheckLine]:
    out = []
    with engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        ok = rows == ["ok"]
        out.append(CheckLine("integrity", "database file", ok, "ok" if ok else "; ".join(rows[:5])))
        fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        detail = "every referenced row exists" if not fk else "; ".join(
            f"{r[0]} row {r[1]} -> missing {r[2]}" for r in fk[:5]) + (f" (+{len(fk) - 5} more)" if len(fk) > 5 else "")
        out.append(CheckLine("foreign keys", "every table", not fk, detail))
        out.append(unkeyed_check(conn))
        conn.rollback()
    return out


# ---------------------------------------------------------------- PostgreSQL


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DatabaseError(f"{name} not found: {PG_CLIENT_HINT}")
    return path


def _pg_env_and_dsn(url: str) -> tuple[dict[str, str], str]:
    """libpq settings for the client programs: the password only in the environment."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("username", "PGUSER"), ("database", "PGDATABASE")):
        value = getattr(u, key)
        if value:
            env[var] = str(value)
    for k, v in u.query.items():  # sslmode=require and friends
        env[f"PG{k.upper()}"] = v if isinstance(v, str) else v[0]
    return env, str(u.database or "")


def _run(argv: list[str], env: dict, what: str, url: str, *, stdin=None, input_bytes: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(argv, env=env, stdin=stdin, input=input_bytes, capture_output=True)
    except OSError as exc:
        raise DatabaseError(f"cannot run {argv[0]}: {exc.strerror}: {PG_CLIENT_HINT}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else f"exit {proc.returncode}")
        raise DatabaseError(f"{what} of {safe_url(url)} failed: {first[:300]}")
    return proc.stdout


def pg_backup(url: str, target: Path) -> BackupResult:
    pg_dump = _pg_tool("pg_dump")
    env, _db = _pg_env_and_dsn(url)

    def dump(tmp: Path) -> None:
        _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}"], env, "pg_dump", url)

    return _write_backup(target, dump, database=safe_url(url), method="pg_dump --format=custom")


def pg_dump_revisions(backup: Path, url: str) -> set[str] | None:
    """The alembic revisions inside a custom-format dump (None: it has no alembic_version)."""
    pg_restore = _pg_tool("pg_restore")
    env, _db = _pg_env_and_dsn(url)
    listing = _run([pg_restore, "--list", str(backup)], env, "reading the backup", url).decode(errors="replace")
    if " TABLE DATA public alembic_version " not in listing:
        return None
    script = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(backup)], env,
                  "reading the backup", url).decode(errors="replace")
    revs, copying = set(), False
    for line in script.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying and line.strip():
            revs.add(line.strip())
    return revs


def pg_restore(backup: Path, url: str) -> None:
    """Replace the database's schema and data with the backup, in one transaction: the
    script ``pg_restore`` makes of the backup is streamed into ``psql --single-transaction``
    after a prologue that drops the old schema (nothing of it stays if any statement fails)."""
    import tempfile

    pg_restore_bin, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    env, _db = _pg_env_and_dsn(url)
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        writer = subprocess.Popen([psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
                                   "--file=-"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err)
        reader = subprocess.Popen([pg_restore_bin, "--no-owner", "--no-privileges", "--file=-", str(backup)], env=env,
                                  stdout=subprocess.PIPE, stderr=restore_err)
        assert writer.stdin is not None and reader.stdout is not None
        try:
            writer.stdin.write(b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
            for line in reader.stdout:
                if not line.startswith(b"CREATE SCHEMA public;"):
                    writer.stdin.write(line)
        except BrokenPipeError:  # psql stopped at an error: its message says which
            pass
        finally:
            reader.stdout.close()
            reader.wait()
            if reader.returncode != 0:
                writer.kill()  # before its input ends: psql would commit what it got; killed, the server rolls back
            try:
                writer.stdin.close()
            except BrokenPipeError:
                pass
            writer.wait()
        for proc, err, what in ((reader, restore_err, "reading the backup"), (writer, psql_err, "restoring")):
            if proc.returncode != 0:
                err.seek(0)
                lines = [ln.strip() for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
                first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else f"exit {proc.returncode}")
                raise DatabaseError(f"{what} of {safe_url(url)} failed: {first[:300]}; the database is unchanged")


def pg_checks(engine) -> list[CheckLine]:
    from sqlalchemy import text

    out = []
    with engine.connect() as conn:
        fks = conn.execute(text("""
            SELECT c.conname, cl.relname, pcl.relname,
                   (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
                   (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)
            FROM pg_constraint c
            JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
            JOIN pg_class pcl ON pcl.oid = c.confrelid
            WHERE c.contype = 'f' AND n.nspname = current_schema()
            ORDER BY cl.relname, c.conname""")).all()
        bad = []
        for name, child, parent, cols, pcols in fks:
            notnull = " AND ".join(f'c."{col}" IS NOT NULL' for col in cols)
            match = " AND ".join(f'p."{pc}" = c."{col}"' for col, pc in zip(cols, pcols))
            n = conn.execute(text(f'SELECT COUNT(*) FROM "{child}" c WHERE {notnull} '
                                  f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE {match})')).scalar_one()
            if n:
                bad.append(f"{child}.{','.join(cols)} -> {parent}: {n} row(s) with no referenced row ({name})")
        out.append(CheckLine("foreign keys", f"{len(fks)} constraints", not bad,
                             "every referenced row exists" if not bad else "; ".join(bad[:5])))
        invalid = conn.execute(text("""
            SELECT conrelid::regclass::text || ' ' || conname FROM pg_constraint c
            JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE NOT c.convalidated AND n.nspname = current_schema()""")).scalars().all()
        out.append(CheckLine("constraints validated", "every table", not invalid,
                             "all validated" if not invalid else "not validated: " + ", ".join(invalid[:5])))
        out.append(unkeyed_check(conn))
        has_amcheck = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).scalar()
        if has_amcheck:
            idx = conn.execute(text("""
                SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE am.amname = 'btree' AND n.nspname = current_schema() AND i.indisvalid""")).scalars().all()
            broken = []
            for name in idx:
                try:
                    with conn.begin_nested():
                        conn.execute(text("SELECT bt_index_check(CAST(:i AS regclass))"), {"i": name})
                except Exception as exc:  # noqa: BLE001 - a corrupt index is reported, not raised
                    broken.append(f"{name}: {' '.join(str(getattr(exc, 'orig', exc)).split())[:120]}")
            out.append(CheckLine("indexes (amcheck)", f"{len(idx)} B-tree indexes", not broken,
                                 "consistent" if not broken else "; ".join(broken[:5])))
        else:
            out.append(CheckLine("indexes (amcheck)", "B-tree indexes", True,
                                 "not checked: the amcheck extension is not installed (CREATE EXTENSION amcheck)"))
        conn.rollback()
    return out


# ---------------------------------------------------------------- either


def has_data(engine) -> int:
    """How many stores the database holds (0 when it has no crm schema yet)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("store"):
            return 0
        n = conn.execute(text("SELECT COUNT(*) FROM store")).scalar_one()
        conn.rollback()
    return int(n)


def refuse_overwrite(engine, url: str, *, force: bool) -> int:
    n = has_data(engine)
    if n and not force:
        raise Conflict(f"database {safe_url(url)} holds data ({n} store{'s' if n != 1 else ''}): "
                       f"restoring replaces all of it; pass --force to do so (take a backup first)")
    return n


def database_file(url: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise InvalidInput("an in-memory database cannot be backed up or restored")
    return path
