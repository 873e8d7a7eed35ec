"""Exports for analysis: members and the points ledger to CSV or XLSX.

Rows are streamed from the database in chunks and written by
``crm_cli.fileio.spreadsheet.write_table``: typed cells in XLSX (dates as dates,
points as numbers, phones as text), and every text cell a spreadsheet would run as a
formula (starting with = + - @, tab or CR) neutralized in both formats.
Times are written in Bangkok local time (the business time zone); phones in the
national form ``0812345678`` (as the import template takes them back).

A member export is a valid import file (``crm member import FILE --on-existing update``):
its headers are in the import's vocabulary (``crm_cli.fileio.member_columns``), the
points column is named ``balance`` so re-importing never adds the balance again as
points, and phone-only rows (``status`` phone-only) are skipped with a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

from sqlmodel import col, select

from crm_cli.db.models import Branch, LedgerEntry, Member, Staff
from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.timeutil import BKK, end_of_bkk_day, start_of_bkk_day

FORMATS = (".csv", ".xlsx")
CHUNK = 5000

MEMBER_COLUMNS = [
    ("phone", "text"), ("name", "text"), ("gender", "text"), ("birthday", "date"), ("email", "text"),
    ("address", "text"), ("line_name", "text"), ("status", "text"), ("source", "text"), ("tier", "text"),
    ("balance", "int"), ("tags", "text"), ("registered_at", "datetime"), ("registered_branch", "text"),
    ("consent_terms_version", "int"), ("last_activity_at", "datetime"), ("created_at", "datetime"),
]
LEDGER_COLUMNS = [
    ("entry_id", "int"), ("created_at", "datetime"), ("phone", "text"), ("anon_id", "text"), ("kind", "text"),
    ("points", "int"), ("expires_on", "date"), ("branch", "text"), ("staff", "text"), ("channel", "text"),
    ("spend", "money"), ("reason", "text"), ("key", "text"), ("actor", "text"),
]


@dataclass(frozen=True)
class ExportResult:
    file: str
    format: str
    rows: int


def _check_path(path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidInput(f"export file must end in .csv or .xlsx, got '{path.name}'")
    return path


def national(e164: str | None) -> str | None:
    """+66812345678 -> 0812345678: how Thai operators write phones, what the import template takes
    back, and no leading '+' for a spreadsheet to read as a formula."""
    if e164 and e164.startswith("+66"):
        return "0" + e164[3:]
    return e164


def _local(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.astimezone(BKK)


def _last_day(expires_at: datetime | None) -> date | None:
    """The last Bangkok day a lot can be spent: ``expires_at`` is the instant that day ends."""
    return None if expires_at is None else (expires_at.astimezone(BKK) - timedelta(microseconds=1)).date()


class _Counter:
    def __init__(self, rows: Iterator, advance=None):
        self.rows, self.n, self.advance = rows, 0, advance

    def __iter__(self):
        for r in self.rows:
            self.n += 1
            if self.advance is not None and self.n % 1000 == 0:
                self.advance(1000)
            yield r


def _write(path: Path, columns: list[tuple[str, str]], rows, advance=None) -> ExportResult:
    from crm_cli.fileio.spreadsheet import write_table

    counter = _Counter(rows, advance)
    write_table(path, [c for c, _ in columns], counter, {c: t for c, t in columns if t != "text"})
    return ExportResult(file=str(path), format=path.suffix.lower().lstrip("."), rows=counter.n)


# ---------------------------------------------------------------- members


def export_members(session, *, store_id: int, path: Path, now: datetime, flt=None, progress=None) -> ExportResult:
    from crm_cli.db.models import Tier
    from crm_cli.services.members import MemberFilter, member_query, tags_for

    path = _check_path(path)
    flt = flt or MemberFilter()
    branch_names = dict(session.exec(select(Branch.id, Branch.name).where(Branch.store_id == store_id)).all())
    q = member_query(
        session, store_id=store_id, now=now, flt=flt,
        columns=lambda bal, points: [
            Member.id, Member.phone, Member.name, Member.gender, Member.birthday, Member.email, Member.address,
            col(Member.line_display_name), col(Member.registered_at), col(Member.source), col(Tier.name).label("tier"),
            points.label("points"), Member.registered_branch_id, Member.consent_terms_version,
            Member.last_activity_at, Member.created_at,
        ],
    )

    def rows():
        result = session.execute(q.execution_options(yield_per=CHUNK))
        for part in result.partitions(CHUNK):
            tags = tags_for(session, [r.id for r in part])
            for r in part:
                yield (
                    national(r.phone), r.name, r.gender, r.birthday, r.email, r.address, r.line_display_name,
                    "registered" if r.registered_at else "phone-only", r.source, r.tier, int(r.points),
                    ", ".join(tags.get(r.id, [])), _local(r.registered_at),
                    branch_names.get(r.registered_branch_id), r.consent_terms_version,
                    _local(r.last_activity_at), _local(r.created_at),
                )

    return _write(path, MEMBER_COLUMNS, rows(), progress.advance if progress is not None else None)


# ---------------------------------------------------------------- ledger


def export_ledger(
    session, *, store_id: int, path: Path, date_from: date | None = None, date_to: date | None = None, progress=None,
) -> ExportResult:
    """Ledger entries created on Bangkok days ``date_from``..``date_to`` (inclusive), oldest first."""
    path = _check_path(path)
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(f"--from {date_from} is after --to {date_to}")
    q = (
        select(
            LedgerEntry.id, LedgerEntry.created_at, Member.phone, Member.anon_id, LedgerEntry.kind, LedgerEntry.points,
            LedgerEntry.expires_at, Branch.name.label("branch"), Staff.name.label("staff"), LedgerEntry.channel,
            LedgerEntry.spend, LedgerEntry.reason, LedgerEntry.idem_source, LedgerEntry.idem_key, LedgerEntry.actor,
        )
        .join(Member, Member.id == LedgerEntry.member_id)
        .join(Branch, Branch.id == LedgerEntry.branch_id, isouter=True)
        .join(Staff, Staff.id == LedgerEntry.staff_id, isouter=True)
        .where(LedgerEntry.store_id == store_id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    if date_from:
        q = q.where(LedgerEntry.created_at >= start_of_bkk_day(date_from))
    if date_to:
        q = q.where(LedgerEntry.created_at < end_of_bkk_day(date_to))

    def rows():
        for r in session.execute(q.execution_options(yield_per=CHUNK)):
            key = f"{r.idem_source}:{r.idem_key}" if r.idem_source else None
            yield (
                r.id, _local(r.created_at), national(r.phone), r.anon_id, r.kind, r.points,
                _last_day(r.expires_at), r.branch, r.staff, r.channel, r.spend, r.reason, key, r.actor,
            )

    return _write(path, LEDGER_COLUMNS, rows(), progress.advance if progress is not None else None)
