"""Bulk member import (the seed's migration path): validate every row, then write set-based.

Speed is a requirement (see docs/members.md): a command that imports 5,000 rows must
finish, process start included, in well under a second, and a million rows within
1.5x of "parse + raw executemany". So this module never imports the ORM: it runs
set-based SQL on the SQLAlchemy Core connection of the command's unit of work
(:func:`crm_cli.db.uow.connection`: the same engine, pragmas, ``BEGIN IMMEDIATE``,
commit and dry-run rollback as every other command; see :class:`Db`).

How a file is written, in ONE transaction (a crash or kill leaves the database unchanged):

1. the file is streamed and every row validated (``crm_cli.fileio.member_rows``);
2. a store with members already (or any store on SQLite): the good rows go into a
   temporary staging table in batches of 10,000 while the file is read (memory stays
   bounded; COPY on PostgreSQL, ``executemany`` on SQLite), then
3. one UPDATE marks the staged phones that already exist in the store;
4. with ``--on-existing error`` (default) those are reported as bad rows too; every
   problem of the whole file is reported in one run and nothing is written;
5. one ``INSERT INTO member ... SELECT`` creates the new members (source ``import``,
   registered at the chosen branch); with ``update`` one UPDATE refreshes the
   profile of existing ones;
6. one ``INSERT INTO ledger_entry ... SELECT`` writes the imported points as lots of
   kind ``import``, expiring per the store's policy from the import day, with the
   idempotency key ``import:<member id>``: re-running a file never doubles points.

A store without members on PostgreSQL (a first migration) skips the staging: each batch
of good rows is COPYed straight into ``member`` and ``ledger_entry`` (same values, same
lots) by a worker thread while the next batch is read, under a savepoint that is rolled
back when any row turns out bad (:class:`_DirectWriter`). The ``ledger_entry`` statement
triggers (``lot_expiry`` queue, ``ledger_summary``) run once per COPY, over its rows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from crm_cli.db import dialect as db_dialect
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from crm_cli.services.store_state import StoreState

ON_EXISTING = ("error", "skip", "update")
BATCH = 10_000
#: the interpreter's thread switch interval while the COPY worker writes (see _DirectWriter)
COPY_SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True)
class ImportError_:
    row: int
    column: str
    value: str
    message: str


@dataclass(frozen=True)
class ImportSummary:
    file: str
    branch: str
    rows: int
    ignored_columns: list[str]
    created: int
    updated: int
    skipped: int
    points_total: int
    expires_at: datetime | None
    dry_run: bool
    phone_only_skipped: int = 0  # phone-only rows of an exported file, left out


@dataclass
class ImportOutcome:
    summary: ImportSummary | None
    errors: list[ImportError_] = field(default_factory=list)
    rows: int = 0


# ---------------------------------------------------------------- database access


class Db:
    """The few operations the import needs, on the SQLAlchemy Core connection of the
    command's unit of work (:func:`crm_cli.db.uow.connection`).

    SQL uses ``:name`` parameters. Datetime and date parameters are bound with the
    column types every table uses (:class:`crm_cli.db.types.UTCDateTime`, ``Date``), so
    they are stored exactly as the ORM stores them on both databases.
    """

    def __init__(self, conn):
        self.sa = conn
        self.dialect = db_dialect.name(conn)  # 'postgresql' or 'sqlite'

    def ts(self, dt: datetime | None):
        return dt

    def day(self, dt: datetime):
        """The Bangkok day of ``dt`` as a date parameter."""
        from crm_cli.domain.timeutil import bkk_date

        return bkk_date(dt)

    @staticmethod
    def _stmt(sql: str, params: dict):
        from sqlalchemy import Date, bindparam, text

        from crm_cli.db.types import UTCDateTime

        stmt = text(sql)
        typed = [
            bindparam(k, type_=UTCDateTime() if isinstance(v, datetime) else Date())
            for k, v in params.items() if isinstance(v, date) and f":{k}" in sql
        ]
        return stmt.bindparams(*typed) if typed else stmt

    def run(self, sql: str, params: dict | None = None) -> int:
        params = params or {}
        return self.sa.execute(self._stmt(sql, params), params).rowcount

    def rows(self, sql: str, params: dict | None = None) -> list[tuple]:
        params = params or {}
        return [tuple(r) for r in self.sa.execute(self._stmt(sql, params), params)]

    def raw_moment(self, dt: datetime | None):
        """``dt`` as the driver receives it for a :class:`~crm_cli.db.types.UTCDateTime`
        column (naive UTC; text on SQLite), for rows written without SQLAlchemy's binding."""
        if dt is None:
            return None
        from crm_cli.db.types import UTCDateTime

        dialect = self.sa.dialect
        process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        return process(dt) if process is not None else dt

    def new_ids(self, sequence: str, n: int) -> list[int]:
        """``n`` fresh values of a PostgreSQL sequence, in increasing order."""
        return [r[0] for r in self.sa.exec_driver_sql(
            "SELECT nextval(%(s)s::regclass) FROM generate_series(1, %(n)s)", {"s": sequence, "n": int(n)})]

    def insert_many(self, table: str, columns: tuple[str, ...], seq: list[tuple]) -> None:
        """SQLite: rows into a table by the driver's executemany."""
        marks = ", ".join("?" for _ in columns)
        self.sa.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", seq)

    def copy_text(self, table: str, columns: tuple[str, ...], data: str) -> None:
        """PostgreSQL: ``data`` (rows in COPY's text format, :func:`copy_field`) into a table by
        COPY on the driver connection of this unit of work. A refusal by the server is raised
        as SQLAlchemy raises it for any statement (a duplicate phone from a concurrent import:
        IntegrityError), so it is reported as any command's conflict or database error."""
        import psycopg
        from sqlalchemy.exc import DBAPIError

        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        cur = self.sa.connection.driver_connection.cursor()
        try:
            with cur.copy(sql) as cp:
                cp.write(data)
        except psycopg.Error as exc:
            raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
        finally:
            cur.close()


#: COPY text format: a backslash, tab, newline or carriage return in a value is escaped
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(v: str | None) -> str:
    """A text value as one field of COPY's text format (``\\N`` for NULL)."""
    return "\\N" if v is None else v.translate(_COPY_ESCAPES)


def load_store(db: Db, *, slug: str, now: datetime) -> StoreState:
    """The store to import into, found and refused (not found, service off) as every command
    finds and refuses it (:func:`crm_cli.services.store_state.by_slug`)."""
    from crm_cli.services import store_state

    return store_state.by_slug(db.sa, slug, now=now)


def branch_id(db: Db, *, store_id: int, name: str) -> int:
    found = db.rows("SELECT id, closed_at FROM branch WHERE store_id = :s AND name = :n", {"s": store_id, "n": name})
    if not found:
        raise NotFound(f"branch '{name}' not found: see `crm branch list`")
    if found[0][1] is not None:
        raise Conflict(f"branch '{name}' is closed: use an open branch (see `crm branch list`)")
    return found[0][0]


def audit(db: Db, *, store_id: int, actor: str, command: str, summary: str, now: datetime) -> None:
    """The import's audit record, as :func:`crm_cli.services.audit.record` writes one (phones
    in the summary masked), without loading the models that module reads."""
    from crm_cli.domain.redact import redact_phones

    db.run(
        "INSERT INTO audit_log (store_id, actor, command, summary, created_at) "
        "VALUES (:store_id, :actor, :command, :summary, :created_at)",
        {"store_id": store_id, "actor": actor[:120], "command": command[:120],
         "summary": redact_phones(summary)[:2000], "created_at": db.ts(now)},
    )


# ---------------------------------------------------------------- reading + validation


def _stream(path: Path, *, max_rows: int, today: date, advance, info, default_points=None, skipped=None) -> Iterator:
    """MemberRow | RowError items from the file layer, streaming (bounded memory)."""
    from crm_cli.fileio import member_rows

    rows = member_rows.read_rows(path, info=info)
    return member_rows.iter_validated(_counting(rows, advance), max_rows=max_rows, today=today,
                                      default_points=default_points, info=info, skipped=skipped)


def _counting(rows: Iterable, advance) -> Iterator:
    n = 0
    for r in rows:
        yield r
        n += 1
        if n == 1000:
            advance(n)
            n = 0
    if n:
        advance(n)


# ---------------------------------------------------------------- staging

_STAGE_COLUMNS = ("seq", "row_no", "phone", "name", "points", "gender", "birthday", "email")


def _create_stage(db: Db) -> None:
    if db.dialect == "postgresql":
        db.run("DROP TABLE IF EXISTS import_stage")
        db.run(
            "CREATE TEMP TABLE import_stage (seq integer PRIMARY KEY, row_no integer NOT NULL, phone varchar(20) NOT NULL, "
            "name varchar(200), points bigint NOT NULL, gender varchar(12), birthday date, email varchar(254), "
            "member_id integer, new_id integer) ON COMMIT DROP"
        )
    else:
        db.run("DROP TABLE IF EXISTS temp.import_stage")
        db.run(
            "CREATE TEMP TABLE import_stage (seq INTEGER PRIMARY KEY, row_no INTEGER NOT NULL, phone TEXT NOT NULL, name TEXT, "
            "points INTEGER NOT NULL, gender TEXT, birthday TEXT, email TEXT, member_id INTEGER, new_id INTEGER)"
        )


def _stage_batch(db: Db, batch: list, first_seq: int) -> None:
    """Stage rows with seq = first_seq, first_seq + 1, ... (file order): COPY on PostgreSQL
    (streams; executemany there keeps every batch's parameters alive until commit),
    executemany on SQLite (dates as SQLAlchemy stores them there: ISO text)."""
    if db.dialect == "postgresql":
        f, null = copy_field, "\\N"
        db.copy_text("import_stage", _STAGE_COLUMNS, "".join([
            f"{i}\t{r.row}\t{r.phone}\t{f(r.name)}\t{r.points}\t{f(r.gender)}\t"
            f"{null if r.birthday is None else r.birthday.isoformat()}\t{f(r.email)}\n"
            for i, r in enumerate(batch, first_seq)
        ]))
        return
    db.insert_many("import_stage", _STAGE_COLUMNS, [
        (i, r.row, r.phone, r.name, r.points, r.gender, None if r.birthday is None else r.birthday.isoformat(), r.email)
        for i, r in enumerate(batch, first_seq)
    ])


class _DirectWriter:
    """Writes validated rows straight into ``member`` and ``ledger_entry`` with COPY on
    PostgreSQL, batch by batch while the file is read, for a store that has no members yet
    (a first migration): no phone can already exist, so nothing needs staging, and the
    member ids come from the member sequence. The COPYs run on a worker thread, so the
    server inserts one batch while this process reads and checks the next (the thread waits
    on the server without holding the interpreter). Everything is written under a savepoint
    that is rolled back as soon as the file turns out to have a bad row: a failed import
    returns its errors having written nothing, as the staged path does.

    (On SQLite the staged ``INSERT ... SELECT`` is faster than row-by-row ``executemany``
    into the real tables: their triggers and foreign keys make every row a statement of its
    own there, so SQLite keeps the staged path.)"""

    _MEMBER = ("id", "store_id", "phone", "registered_at", "name", "gender", "birthday", "email",
               "registered_branch_id", "source", "created_at", "last_activity_at")
    _LOT = ("store_id", "member_id", "kind", "points", "debt", "expires_at", "created_at", "branch_id",
            "channel", "reason", "idem_source", "idem_key", "actor")

    def __init__(self, db: Db, *, store_id: int, branch_id: int, now: datetime, expires: datetime | None,
                 reason: str, actor: str | None):
        import queue
        import threading

        self.db = db
        self.now = db.raw_moment(now)
        self.expires = db.raw_moment(expires)
        self.store_id, self.branch_id, self.reason, self.actor = store_id, branch_id, reason, actor
        self.sequence = db.rows("SELECT pg_get_serial_sequence('member', 'id')")[0][0]
        self.savepoint = db.sa.begin_nested()
        # The foreign keys of the rows written here name the store, the branch and the
        # members the same COPYs write: where the role may leave the per-row checks out
        # (:func:`_unchecked_copies`), the store and branch rows are locked against deletion
        # once instead (the key-share lock each per-row check would take).
        self.unchecked = _unchecked_copies(db)
        if self.unchecked:
            db.run("SELECT 1 FROM store s JOIN branch b ON b.store_id = s.id WHERE s.id = :s AND b.id = :b "
                   "FOR KEY SHARE", {"s": store_id, "b": branch_id})
        self.created = 0
        self.points = 0
        self.failure: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=2)  # bounded: at most ~3 batches in memory
        self._thread = threading.Thread(target=self._work, name="member-import-copy", daemon=True)
        # The worker needs the interpreter for a moment between every chunk the socket takes
        # while the reading thread holds it; at the default 5 ms switch interval those
        # moments kept the server idle for more than a second per 100,000 rows. 0.5 ms while
        # the import writes (restored by _stop): PostgreSQL 3.8 s against 4.5 s (bench_import).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(COPY_SWITCH_INTERVAL)
        self._thread.start()

    def write(self, batch: list) -> None:
        """Queue one batch (the connection belongs to the worker until :meth:`finish`)."""
        if self.failure is not None:
            raise self.failure
        self._queue.put(batch)

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.failure is None:
                try:
                    self._copy(batch)
                except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                    self.failure = exc

    def _copy(self, batch: list) -> None:
        """One batch as two COPYs, their rows written in COPY's text format here: one string
        per table instead of a driver call per value (the driver's row formatting took a
        third of the import's CPU). Phones are E.164 and numbers are ints, so only the free
        texts need escaping."""
        ids = self.db.new_ids(self.sequence, len(batch))
        if self.unchecked:
            self.db.run("SET LOCAL session_replication_role = replica")
        self._copy_rows(ids, batch)
        if self.unchecked:  # (a failed COPY leaves it to the savepoint's rollback, which undoes the SET too)
            self.db.run("SET LOCAL session_replication_role = DEFAULT")

    def _copy_rows(self, ids: list[int], batch: list) -> None:
        f = copy_field
        head, tail = f"\t{self.store_id}\t", f"\t{self.branch_id}\timport\t{self.now}\t{self.now}\n"
        now, null = f"\t{self.now}\t", "\\N"
        self.db.copy_text("member", self._MEMBER, "".join([
            f"{i}{head}{r.phone}{now}{f(r.name)}\t{f(r.gender)}\t"
            f"{null if r.birthday is None else r.birthday.isoformat()}\t{f(r.email)}{tail}"
            for i, r in zip(ids, batch)
        ]))
        lot_head = f"{self.store_id}\t"
        expires = null if self.expires is None else self.expires
        lot_mid = f"\t0\t{expires}\t{self.now}\t{self.branch_id}\timport\t{f(self.reason)}\timport\t"
        actor = f"\t{f(self.actor)}\n"
        points = 0
        lots = []
        for i, r in zip(ids, batch):
            if r.points > 0:
                lots.append(f"{lot_head}{i}\timport\t{r.points}{lot_mid}{i}{actor}")
                points += r.points
        if lots:
            self.db.copy_text("ledger_entry", self._LOT, "".join(lots))
        self.created += len(batch)
        self.points += points

    def _stop(self) -> None:
        try:
            self._queue.put(None)
            self._thread.join()
        finally:
            sys.setswitchinterval(self._switch)

    def discard(self) -> None:
        """Wait for the worker and undo everything written."""
        self._stop()
        self.savepoint.rollback()

    def finish(self) -> None:
        """Wait for the last batch; raise what the worker met (the caller rolls back)."""
        self._stop()
        if self.failure is not None:
            self.savepoint.rollback()
            raise self.failure
        self.savepoint.commit()


def _unchecked_copies(db: Db) -> bool:
    """Whether the direct COPYs may run with ``session_replication_role = replica``, which
    leaves out the per-row foreign-key triggers (about half the server's CPU of an import):
    the role must be a superuser or (PostgreSQL 15+) granted ``SET`` on that parameter
    (``GRANT SET ON PARAMETER session_replication_role TO ...``), and crm's own triggers on
    ``member`` and ``ledger_entry`` must fire in that mode too (``ENABLE ALWAYS``, migration 0015).
    Otherwise the COPYs run with every check, as any other write."""
    superuser, version = db.rows("SELECT current_setting('is_superuser'), current_setting('server_version_num')")[0]
    if superuser != "on" and (int(version) < 150000 or not db.rows(
            "SELECT has_parameter_privilege('session_replication_role', 'SET')")[0][0]):
        return False
    return bool(db.rows(
        "SELECT COALESCE(bool_and(tgenabled = 'A'), true) FROM pg_trigger "
        "WHERE tgrelid IN ('member'::regclass, 'ledger_entry'::regclass) AND NOT tgisinternal")[0][0])


def _flush(db: Db, direct: _DirectWriter | None, batch: list, good: int, errors: list) -> None:
    """Write (direct) or stage one batch of good rows; once the file has a bad row, a direct
    import stops writing (it will be rolled back) and only goes on validating."""
    if direct is None:
        _stage_batch(db, batch, good - len(batch) + 1)
    elif not errors:
        direct.write(batch)


def _drop_stage(db: Db) -> None:
    db.run("DROP TABLE IF EXISTS import_stage" if db.dialect == "postgresql" else "DROP TABLE IF EXISTS temp.import_stage")


# ---------------------------------------------------------------- the import


def import_members(
    db: Db,
    *,
    store: StoreState,
    path: Path,
    branch: str,
    on_existing: str = "error",
    max_rows: int | None = None,
    now: datetime,
    actor: str | None = None,
    dry_run: bool = False,
    progress=None,
    default_points: int | None = None,
) -> ImportOutcome:
    """Validate the whole file and, if every row is good, write it set-based. Never commits.

    Returns the errors (all of them) instead of writing when any row is bad; the caller
    rolls the transaction back and reports them.
    """
    from crm_cli.domain.expiry import lot_expires_at
    from crm_cli.domain.member_fields import MAX_POINTS
    from crm_cli.domain.timeutil import bkk_date
    from crm_cli.fileio.member_rows import MemberRow, ReadInfo

    if on_existing not in ON_EXISTING:
        raise InvalidInput(f"--on-existing must be one of {', '.join(ON_EXISTING)}, got '{on_existing}'")
    path = Path(path)
    cap = max_rows if max_rows is not None else store.import_max_rows
    if cap < 1:
        raise InvalidInput("--max-rows must be at least 1")
    bid = branch_id(db, store_id=store.id, name=branch)
    advance = progress.advance if progress is not None else (lambda n: None)

    if default_points is not None and not 0 <= default_points <= MAX_POINTS:
        raise InvalidInput(f"--default-points must be 0 to {MAX_POINTS:,}")
    exp = lot_expires_at(store.expiry_policy, store.expiry_months, now)
    reason = f"imported from {path.name}"[:500]
    # 1-2: stream and validate; on PostgreSQL a store without members gets the rows written
    # directly (_DirectWriter), otherwise they are staged in batches for the checks below
    store_has_members = bool(db.rows("SELECT 1 FROM member WHERE store_id = :sid LIMIT 1", {"sid": store.id}))
    direct = None
    if not store_has_members and db.dialect == "postgresql":
        direct = _DirectWriter(db, store_id=store.id, branch_id=bid, now=now, expires=exp, reason=reason,
                               actor=actor)
    else:
        _create_stage(db)
    info = ReadInfo()
    errors: list[ImportError_] = []
    batch: list = []
    good = bad_rows = 0
    last_bad = None
    phone_only: list[int] = []
    try:
        for item in _stream(path, max_rows=cap, today=bkk_date(now), advance=advance, info=info,
                            default_points=default_points, skipped=phone_only):
            if item.__class__ is MemberRow:
                batch.append(item)
                good += 1
                if len(batch) >= BATCH:
                    _flush(db, direct, batch, good, errors)
                    batch = []
            else:
                errors.append(ImportError_(row=item.row, column=item.column, value=item.value, message=item.message))
                if item.row != last_bad:
                    bad_rows += 1
                    last_bad = item.row
        if batch:
            _flush(db, direct, batch, good, errors)
        del batch
    except BaseException:
        if direct is not None:
            direct.discard()
        raise
    seen = good + bad_rows
    if direct is not None and (errors or seen == 0):
        direct.discard()
    if seen == 0 and phone_only:
        raise InvalidInput(f"{path.name} has only phone-only rows ({len(phone_only)}): nothing to import")
    if seen == 0:
        raise InvalidInput(f"{path.name} has no member rows below the header: fill in the template first")
    if direct is not None:
        if errors:
            errors.sort(key=lambda e: e.row)
            return ImportOutcome(summary=None, errors=errors, rows=seen)
        direct.finish()
        return ImportOutcome(summary=ImportSummary(
            file=path.name, branch=branch, rows=seen, ignored_columns=list(info.ignored), created=direct.created,
            updated=0, skipped=0, points_total=direct.points, expires_at=exp, dry_run=dry_run,
            phone_only_skipped=len(phone_only),
        ), errors=[], rows=seen)

    # 3-4: phones that already exist in the store
    if db.dialect == "postgresql":
        db.run("ANALYZE import_stage")
    p = {"sid": store.id}
    if store_has_members:  # a first migration into an empty store needs no lookups
        db.run(
            "UPDATE import_stage SET member_id = "
            "(SELECT m.id FROM member m WHERE m.store_id = :sid AND m.phone = import_stage.phone)",
            p,
        )
    existing = db.rows("SELECT row_no, phone FROM import_stage WHERE member_id IS NOT NULL ORDER BY seq")
    if on_existing == "error":
        for row_no, phone in existing:
            errors.append(ImportError_(
                row=row_no, column="phone", value=phone,
                message="already exists in this store: choose --on-existing skip or --on-existing update",
            ))
    if errors:
        _drop_stage(db)
        errors.sort(key=lambda e: e.row)  # stable: file order within a row
        return ImportOutcome(summary=None, errors=errors, rows=seen)

    # 5: members
    p = {"sid": store.id, "bid": bid, "now": db.ts(now), "exp": db.ts(exp), "actor": actor, "reason": reason}
    updated = 0
    if on_existing == "update" and existing:
        updated = db.run(
            """
            UPDATE member SET
                name = (SELECT s.name FROM import_stage s WHERE s.member_id = member.id),
                gender = COALESCE((SELECT s.gender FROM import_stage s WHERE s.member_id = member.id), gender),
                birthday = COALESCE((SELECT s.birthday FROM import_stage s WHERE s.member_id = member.id), birthday),
                email = COALESCE((SELECT s.email FROM import_stage s WHERE s.member_id = member.id), email),
                registered_branch_id = CASE WHEN registered_at IS NULL THEN :bid ELSE registered_branch_id END,
                source = CASE WHEN registered_at IS NULL THEN 'import' ELSE source END,
                registered_at = COALESCE(registered_at, :now),
                last_activity_at = :now
            WHERE store_id = :sid AND id IN (SELECT member_id FROM import_stage WHERE member_id IS NOT NULL)
            """,
            p,
        )
    base = db.rows("SELECT COALESCE(MAX(id), 0) FROM member")[0][0]
    created = db.run(
        """
        INSERT INTO member (store_id, phone, registered_at, name, gender, birthday, email,
                            registered_branch_id, source, created_at, last_activity_at)
        SELECT :sid, s.phone, :now, s.name, s.gender, s.birthday, s.email, :bid, 'import', :now, :now
        FROM import_stage s WHERE s.member_id IS NULL ORDER BY s.seq
        """,
        p,
    )
    # the new members' ids. SQLite gives each inserted row MAX(rowid) + 1 and we hold the write
    # lock, so when every staged row was new they are base + seq -- checked, else looked up.
    if (db.dialect == "sqlite" and not existing and created == good
            and db.rows("SELECT COALESCE(MAX(id), 0), COUNT(*) FROM member WHERE id > :b", {"b": base})[0]
            == (base + created, created)):
        db.run("UPDATE import_stage SET new_id = seq + :b", {"b": base})
    else:  # the same indexed lookup as above (no join: the planner has no statistics on fresh rows)
        db.run(
            "UPDATE import_stage SET new_id = "
            "(SELECT m.id FROM member m WHERE m.store_id = :sid AND m.phone = import_stage.phone) "
            "WHERE member_id IS NULL",
            {"sid": store.id},
        )
    # 6: lots -- new members always; existing ones only with update and no import lot yet
    lot_filter = "s.new_id IS NOT NULL" if on_existing != "update" else (
        "(s.new_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.store_id = :sid "
        "AND e.idem_source = 'import' AND e.idem_key = CAST(s.member_id AS VARCHAR(20))))"
    )
    select_lots = f"FROM import_stage s WHERE s.points > 0 AND {lot_filter}"
    total = db.rows(f"SELECT COALESCE(SUM(s.points), 0) {select_lots}", p)[0][0]
    db.run(
        f"""
        INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, branch_id,
                                  channel, reason, idem_source, idem_key, actor)
        SELECT :sid, COALESCE(s.new_id, s.member_id), 'import', s.points, 0, :exp, :now, :bid, 'import', :reason,
               'import', CAST(COALESCE(s.new_id, s.member_id) AS VARCHAR(20)), :actor
        {select_lots}
        ORDER BY s.seq
        """,
        p,
    )
    _drop_stage(db)
    summary = ImportSummary(
        file=path.name, branch=branch, rows=seen, ignored_columns=list(info.ignored), created=int(created),
        updated=int(updated) if on_existing == "update" else 0,
        skipped=len(existing) if on_existing == "skip" else 0,
        points_total=int(total), expires_at=exp, dry_run=dry_run, phone_only_skipped=len(phone_only),
    )
    return ImportOutcome(summary=summary, errors=[], rows=seen)


@dataclass(frozen=True)
class ProblemGroup:
    column: str
    message: str
    rows: str    # "4-63, 70"
    count: int


def _ranges(rows: list[int]) -> str:
    out, start, prev = [], None, None
    for r in sorted(set(rows)):
        if start is None:
            start = prev = r
        elif r == prev + 1:
            prev = r
        else:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = r
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(out)


def group_errors(errors: list[ImportError_]) -> list[ProblemGroup]:
    """Identical problems (same column, same reason) as one entry with their rows
    (``points``, ``required: ... missing``, ``4-63``), in order of first appearance."""
    by: dict[tuple[str, str], list[int]] = {}
    for e in errors:
        by.setdefault((e.column, e.message), []).append(e.row)
    return [ProblemGroup(column=c, message=m, rows=_ranges(rows), count=len(rows)) for (c, m), rows in by.items()]


EXPIRY_WARNING_DAYS = 60


def expiry_warning(summary: ImportSummary, *, now: datetime) -> str | None:
    """A warning when the imported points would expire within 60 days of the import
    under the store's policy (a year-end policy and an import on 30 November)."""
    from crm_cli.domain.timeutil import BKK

    if summary.expires_at is None or summary.points_total <= 0:
        return None
    left = summary.expires_at - now
    if left.days >= EXPIRY_WARNING_DAYS:
        return None
    last_day = (summary.expires_at.astimezone(BKK) - timedelta(microseconds=1)).date()
    return (
        f"the {summary.points_total:,} imported points expire at the end of {last_day.isoformat()} "
        f"(in {max(left.days, 0)} day(s)) under the store's expiry policy; "
        "consider `crm points expiry` before importing, or tell the members"
    )


def write_errors(path: Path, errors: list[ImportError_]) -> Path:
    """The bad rows as CSV/XLSX (row, column, value, message), formulas neutralized."""
    from crm_cli.fileio.spreadsheet import write_table

    write_table(
        Path(path), ["row", "column", "value", "message"],
        ((e.row, e.column, e.value, e.message) for e in errors),
        {"row": "int"},
    )
    return Path(path)

