"""Bulk member import (the seed's migration path): validate every row, then write set-based.

Speed is a requirement (see docs/members.md), so this module stays on SQLAlchemy Core
and never imports the ORM models: a command that imports 5,000 rows must finish,
process start included, in well under a second.

How a file is written, in ONE transaction (a crash or kill leaves the database unchanged):

1. the file is streamed and every row validated (``crm_cli.fileio.member_rows``);
2. the good rows go into a temporary staging table with ``executemany`` in batches;
3. one UPDATE marks the staged phones that already exist in the store;
4. with ``--on-existing error`` (default) those are reported as bad rows too; every
   problem of the whole file is reported in one run and nothing is written;
5. one ``INSERT INTO member ... SELECT`` creates the new members (source ``import``,
   registered at the chosen branch); with ``update`` one UPDATE refreshes the
   profile of existing ones;
6. one ``INSERT INTO ledger_entry ... SELECT`` writes the imported points as lots of
   kind ``import``, expiring per the store's policy from the import day, with the
   idempotency key ``import:<member id>``: re-running a file never doubles points.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from crm_cli.domain.errors import InvalidInput, NotFound, StoreSuspended

ON_EXISTING = ("error", "skip", "update")
BATCH = 10_000


@dataclass(frozen=True)
class StoreFacts:
    id: int
    slug: str
    expiry_policy: str
    expiry_months: int | None
    import_max_rows: int


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


@dataclass
class ImportOutcome:
    summary: ImportSummary | None
    errors: list[ImportError_] = field(default_factory=list)
    rows: int = 0


# ---------------------------------------------------------------- connection helpers (Core only)


@contextmanager
def core_transaction(engine, *, dry_run: bool = False) -> Iterator:
    """One write transaction on a Core connection (BEGIN IMMEDIATE on SQLite); rolled back on error or dry run."""
    with engine.connect() as conn:
        conn.info["crm_begin"] = "IMMEDIATE"
        try:
            trans = conn.begin()
            try:
                yield conn
            except BaseException:
                trans.rollback()
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
        finally:
            conn.info.pop("crm_begin", None)


def _dt_param(name: str):
    from sqlalchemy import bindparam

    from crm_cli.db.types import UTCDateTime

    return bindparam(name, type_=UTCDateTime())


def load_store(conn, *, slug: str) -> StoreFacts:
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT id, slug, suspended_at, suspended_reason, purged_at, expiry_policy, expiry_months, import_max_rows "
            "FROM store WHERE slug = :slug"
        ),
        {"slug": slug},
    ).first()
    if row is None or row.purged_at is not None:
        raise NotFound(f"store '{slug}' not found: see `crm store list`")
    if row.suspended_at is not None:
        reason = f" ({row.suspended_reason})" if row.suspended_reason else ""
        raise StoreSuspended(
            f"store '{slug}' is suspended{reason}: its CRM service is not active; "
            f"resume it with `crm billing resume --date YYYY-MM-DD`"
        )
    return StoreFacts(
        id=row.id, slug=row.slug, expiry_policy=row.expiry_policy, expiry_months=row.expiry_months,
        import_max_rows=row.import_max_rows,
    )


def branch_id(conn, *, store_id: int, name: str) -> int:
    from sqlalchemy import text

    row = conn.execute(
        text("SELECT id, closed_at FROM branch WHERE store_id = :s AND name = :n"), {"s": store_id, "n": name}
    ).first()
    if row is None:
        raise NotFound(f"branch '{name}' not found: see `crm branch list`")
    if row.closed_at is not None:
        raise InvalidInput(f"branch '{name}' is closed")
    return row.id


def audit(conn, *, store_id: int, actor: str, command: str, summary: str, now: datetime) -> None:
    from sqlalchemy import text

    conn.execute(
        text(
            "INSERT INTO audit_log (store_id, actor, command, summary, created_at) "
            "VALUES (:store_id, :actor, :command, :summary, :created_at)"
        ).bindparams(_dt_param("created_at")),
        {"store_id": store_id, "actor": actor[:120], "command": command[:120], "summary": summary[:2000], "created_at": now},
    )


# ---------------------------------------------------------------- reading + validation


def _stream(path: Path, *, max_rows: int, today: date, advance, info) -> Iterator:
    """MemberRow | RowError items from the file layer, streaming (bounded memory)."""
    from crm_cli.fileio import member_rows

    rows = member_rows.read_rows(path, info=info)
    return member_rows.iter_validated(_counting(rows, advance), max_rows=max_rows, today=today)


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


def _stage_sql(dialect: str) -> tuple[list[str], str]:
    if dialect == "postgresql":
        create = [
            "DROP TABLE IF EXISTS import_stage",
            "CREATE TEMP TABLE import_stage (row_no integer NOT NULL, phone varchar(20) NOT NULL, "
            "name varchar(200), points bigint NOT NULL, gender varchar(12), birthday date, email varchar(254), "
            "member_id integer) ON COMMIT DROP",
        ]
        ins = "INSERT INTO import_stage (row_no, phone, name, points, gender, birthday, email) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    else:
        create = [
            "DROP TABLE IF EXISTS temp.import_stage",
            "CREATE TEMP TABLE import_stage (row_no INTEGER NOT NULL, phone TEXT NOT NULL, name TEXT, "
            "points INTEGER NOT NULL, gender TEXT, birthday TEXT, email TEXT, member_id INTEGER)",
        ]
        ins = "INSERT INTO import_stage (row_no, phone, name, points, gender, birthday, email) VALUES (?, ?, ?, ?, ?, ?, ?)"
    return create, ins


def _stage_batch(conn, ins: str, batch: list, as_text: bool) -> None:
    conn.exec_driver_sql(ins, [
        (
            r.row, r.phone, r.name, r.points, r.gender,
            (r.birthday.isoformat() if as_text and r.birthday is not None else r.birthday),
            r.email,
        )
        for r in batch
    ])


def _drop_stage(conn, dialect: str) -> None:
    if dialect != "postgresql":
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.import_stage")


# ---------------------------------------------------------------- the import


def import_members(
    conn,
    *,
    store: StoreFacts,
    path: Path,
    branch: str,
    on_existing: str = "error",
    max_rows: int | None = None,
    now: datetime,
    actor: str | None = None,
    dry_run: bool = False,
    progress=None,
) -> ImportOutcome:
    """Validate the whole file and, if every row is good, write it set-based. Never commits.

    Returns the errors (all of them) instead of writing when any row is bad; the caller
    rolls the transaction back and reports them.
    """
    from sqlalchemy import text

    from crm_cli.domain.expiry import lot_expires_at

    if on_existing not in ON_EXISTING:
        raise InvalidInput(f"--on-existing must be one of {', '.join(ON_EXISTING)}, got '{on_existing}'")
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"file {path} not found")
    cap = max_rows if max_rows is not None else store.import_max_rows
    if cap < 1:
        raise InvalidInput("--max-rows must be at least 1")
    bid = branch_id(conn, store_id=store.id, name=branch)
    advance = progress.advance if progress is not None else (lambda n: None)

    from crm_cli.fileio.member_rows import MemberRow, ReadInfo
    from crm_cli.domain.timeutil import bkk_date

    dialect = conn.dialect.name
    create, ins = _stage_sql(dialect)
    for sql in create:
        conn.exec_driver_sql(sql)
    as_text = dialect != "postgresql"
    info = ReadInfo()
    errors: list[ImportError_] = []
    batch: list = []
    good = 0
    last_bad = None
    bad_rows = 0
    try:
        for item in _stream(path, max_rows=cap, today=bkk_date(now), advance=advance, info=info):
            if item.__class__ is MemberRow:
                batch.append(item)
                good += 1
                if len(batch) >= BATCH:
                    _stage_batch(conn, ins, batch, as_text)
                    batch = []
            else:
                errors.append(ImportError_(row=item.row, column=item.column, value=item.value, message=item.message))
                if item.row != last_bad:
                    bad_rows += 1
                    last_bad = item.row
    except InvalidInput as exc:  # BadFile: the file as a whole
        raise InvalidInput(str(exc)) from None
    if batch:
        _stage_batch(conn, ins, batch, as_text)
    del batch
    seen = good + bad_rows
    if seen == 0:
        raise InvalidInput(f"{path.name} has no member rows below the header: fill in the template first")
    sid = {"sid": store.id}
    conn.execute(
        text(
            "UPDATE import_stage SET member_id = "
            "(SELECT m.id FROM member m WHERE m.store_id = :sid AND m.phone = import_stage.phone)"
        ),
        sid,
    )
    existing = conn.execute(
        text("SELECT row_no, phone FROM import_stage WHERE member_id IS NOT NULL ORDER BY row_no")
    ).all()
    if on_existing == "error":
        for r in existing:
            errors.append(ImportError_(
                row=r.row_no, column="phone", value=r.phone,
                message="already exists in this store: choose --on-existing skip or --on-existing update",
            ))
    if errors:
        _drop_stage(conn, dialect)
        errors.sort(key=lambda e: e.row)  # stable: file order within a row
        return ImportOutcome(summary=None, errors=errors, rows=seen)

    exp = lot_expires_at(store.expiry_policy, store.expiry_months, now)
    params = {"sid": store.id, "bid": bid, "now": now, "exp": exp, "actor": actor, "reason": f"imported from {path.name}"[:500]}
    updated = 0
    if on_existing == "update" and existing:
        updated = conn.execute(
            text(
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
                """
            ).bindparams(_dt_param("now")),
            params,
        ).rowcount
    created = conn.execute(
        text(
            """
            INSERT INTO member (store_id, phone, registered_at, name, gender, birthday, email,
                                registered_branch_id, source, created_at, last_activity_at)
            SELECT :sid, s.phone, :now, s.name, s.gender, s.birthday, s.email, :bid, 'import', :now, :now
            FROM import_stage s WHERE s.member_id IS NULL ORDER BY s.row_no
            """
        ).bindparams(_dt_param("now")),
        params,
    ).rowcount
    # lots: new members always; existing ones only with --on-existing update and no import lot yet
    lot_filter = "s.member_id IS NULL" if on_existing != "update" else (
        "(s.member_id IS NULL OR NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.store_id = :sid "
        "AND e.idem_source = 'import' AND e.idem_key = CAST(m.id AS VARCHAR(20))))"
    )
    select_lots = f"""
        FROM import_stage s JOIN member m ON m.store_id = :sid AND m.phone = s.phone
        WHERE s.points > 0 AND {lot_filter}
    """
    total = conn.execute(text(f"SELECT COALESCE(SUM(s.points), 0) {select_lots}"), params).scalar_one()
    conn.execute(
        text(
            f"""
            INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, branch_id,
                                      channel, reason, idem_source, idem_key, actor)
            SELECT :sid, m.id, 'import', s.points, 0, :exp, :now, :bid, 'import', :reason,
                   'import', CAST(m.id AS VARCHAR(20)), :actor
            {select_lots}
            ORDER BY s.row_no
            """
        ).bindparams(_dt_param("now"), _dt_param("exp")),
        params,
    )
    _drop_stage(conn, dialect)
    summary = ImportSummary(
        file=path.name, branch=branch, rows=seen, created=int(created), ignored_columns=list(info.ignored),
        updated=int(updated) if on_existing == "update" else 0,
        skipped=len(existing) if on_existing == "skip" else 0,
        points_total=int(total), expires_at=exp, dry_run=dry_run,
    )
    return ImportOutcome(summary=summary, errors=[], rows=seen)


def write_errors(path: Path, errors: list[ImportError_]) -> Path:
    """The bad rows as CSV/XLSX (row, column, value, message), formulas neutralized."""
    from crm_cli.fileio.spreadsheet import write_table

    write_table(
        Path(path), ["row", "column", "value", "message"],
        ((e.row, e.column, e.value, e.message) for e in errors),
        ["int", "str", "str", "str"],
    )
    return Path(path)


def utcnow() -> datetime:  # pragma: no cover - convenience for scripts
    return datetime.now(timezone.utc)
