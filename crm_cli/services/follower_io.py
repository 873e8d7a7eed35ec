"""Followers in bulk: sync from LINE, import a shop's existing follower list, export.

Sync asks LINE first (``collect``: follower ids page by page, then each profile, with the
client's rate-limit backoff) and then writes everything in one transaction
(``apply_sync``). Import is all-or-nothing: every bad row is reported and nothing is
written unless all rows are good.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlmodel import col, select

from crm_cli.db.models import LineFollower, Member
from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.orders_feed import RowError  # the row error file imports report: row, column, value, message
from crm_cli.services import common, followers

MAX_IMPORT_ROWS = 100_000
IMPORT_COLUMNS = ("user_id", "display_name", "phone", "tags")


# ---------------------------------------------------------------- sync


@dataclass(frozen=True)
class Snapshot:
    user_ids: list[str]
    profiles: dict  # user id -> Profile | None


def collect(client, *, profiles: bool = True, known: set[str] | None = None,
            progress: Callable[[int], None] | None = None) -> Snapshot:
    """Ask LINE for every follower id and (unless ``profiles`` is False) their profiles.
    ``known`` ids with a profile already are skipped when ``profiles`` is 'new'."""
    ids = list(dict.fromkeys(client.follower_ids()))
    got: dict = {}
    if profiles:
        for uid in ids:
            if known is not None and uid in known:
                continue
            got[uid] = client.profile(uid)
            if progress:
                progress(1)
    return Snapshot(user_ids=ids, profiles=got)


@dataclass(frozen=True)
class SyncResult:
    followers: int
    new: int
    profiles: int
    no_longer_following: int


def apply_sync(session, *, store_id: int, snapshot: Snapshot, now: datetime) -> SyncResult:
    current = set(snapshot.user_ids)
    new = 0
    for uid in snapshot.user_ids:
        f, created = followers.get_or_create(session, store_id=store_id, user_id=uid, now=now, source="sync")
        new += created
        if f.status != "following":
            f.status = "following"
        if created:
            f.followed_at = None  # LINE does not say when; the next follow event will
        session.add(f)
    refreshed = 0
    for uid, p in snapshot.profiles.items():
        f = followers.find(session, store_id, uid)
        if f is None:
            continue
        if p is None:
            f.profile_at = now
            session.add(f)
            continue
        followers.apply_profile(session, f, display_name=p.display_name, picture_url=p.picture_url,
                                language=p.language, now=now)
        refreshed += 1
    gone = 0
    for f in session.exec(select(LineFollower).where(LineFollower.store_id == store_id,
                                                     LineFollower.status == "following")).all():
        if f.user_id not in current:
            f.status = "blocked"
            f.unfollowed_at = f.unfollowed_at or now
            session.add(f)
            gone += 1
    session.flush()
    return SyncResult(followers=len(snapshot.user_ids), new=new, profiles=refreshed, no_longer_following=gone)


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    updated: int
    linked: int
    tags_added: int
    dry_run: bool


@dataclass(frozen=True)
class _Row:
    row: int
    user_id: str
    display_name: str | None
    phone: str | None
    tags: list[str]


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number, {column: text}) from a CSV (UTF-8, BOM or not) or XLSX file."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    ext = path.suffix.lower()
    rows: list[list] = []
    if ext == ".csv":
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = [r for r in csv.reader(fh)]
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name}: not UTF-8 text; save the CSV as UTF-8") from None
        except csv.Error as exc:
            raise InvalidInput(f"{path.name}: not a readable CSV file ({exc})") from None
    elif ext == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one bad-input error
            raise InvalidInput(f"{path.name}: not a readable XLSX file ({exc.__class__.__name__})") from None
        try:
            rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        raise InvalidInput(f"{path.name}: use a .csv or .xlsx file")
    if not rows:
        raise InvalidInput(f"{path.name}: the file is empty")
    header = [str(c or "").strip().lower().replace(" ", "_") for c in rows[0]]
    if "user_id" not in header:
        raise InvalidInput(f"{path.name}: the first row must name the columns; 'user_id' is required "
                           f"(optional: display_name, phone, tags)")
    out = []
    for n, r in enumerate(rows[1:], start=2):
        cells = {h: ("" if i >= len(r) or r[i] is None else str(r[i]).strip()) for i, h in enumerate(header) if h in IMPORT_COLUMNS}
        if any(cells.values()):
            out.append((n, cells))
    if len(out) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"{path.name}: {len(out):,} rows; at most {MAX_IMPORT_ROWS:,} per import")
    return out


def _validate(session, store_id: int, rows: list[tuple[int, dict]]) -> tuple[list[_Row], list[RowError]]:
    good: list[_Row] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    phones: dict[str, int] = {}
    for n, cells in rows:
        bad = False
        uid = cells.get("user_id", "")
        try:
            uid = followers.check_user_id(uid)
        except InvalidInput as exc:
            errors.append(RowError(n, "user_id", uid, exc.message))
            bad = True
        if not bad and uid in seen:
            errors.append(RowError(n, "user_id", uid, f"the same user ID is on row {seen[uid]}"))
            bad = True
        seen.setdefault(uid, n)
        name = cells.get("display_name") or None
        if name and len(name) > 200:
            errors.append(RowError(n, "display_name", name[:40], "at most 200 characters"))
            bad = True
        phone = None
        if cells.get("phone"):
            try:
                phone = common.phone(cells["phone"])
            except InvalidInput as exc:
                errors.append(RowError(n, "phone", cells["phone"], exc.message))
                bad = True
            else:
                if phone in phones:
                    errors.append(RowError(n, "phone", cells["phone"], f"the same phone is on row {phones[phone]}"))
                    bad = True
                phones.setdefault(phone, n)
                m = common.find_member(session, store_id, phone)
                if m is None or m.erased_at is not None:
                    errors.append(RowError(n, "phone", cells["phone"], "no member with this phone: register or import the member first"))
                    bad = True
                else:
                    other = session.exec(select(LineFollower.user_id).where(
                        LineFollower.store_id == store_id, LineFollower.member_id == m.id)).first()
                    if other is not None and other != uid:
                        errors.append(RowError(n, "phone", cells["phone"], f"the member is already linked to {other}"))
                        bad = True
        tags: list[str] = []
        for raw in (cells.get("tags") or "").replace(";", ",").split(","):
            if raw.strip():
                try:
                    tags.append(followers.normalize_tag(raw))
                except InvalidInput as exc:
                    errors.append(RowError(n, "tags", raw.strip(), exc.message))
                    bad = True
        if not bad:
            good.append(_Row(row=n, user_id=uid, display_name=name, phone=phone, tags=tags))
    return good, errors


def import_followers(session, *, store_id: int, path: Path, now: datetime, dry_run: bool = False) -> tuple[ImportResult, list[RowError]]:
    """Validate every row; write nothing when any row is bad (the errors come back)."""
    rows = read_rows(path)
    good, errors = _validate(session, store_id, rows)
    if errors:
        return ImportResult(rows=len(rows), created=0, updated=0, linked=0, tags_added=0, dry_run=dry_run), errors
    created = updated = linked = tags_added = 0
    for r in good:
        f, new = followers.get_or_create(session, store_id=store_id, user_id=r.user_id, now=now, source="import")
        if new:
            f.status = "unknown"
            created += 1
        else:
            updated += 1
        if r.display_name and not f.display_name:
            f.display_name = followers.storable(r.display_name)
        if r.phone:
            m = common.find_member(session, store_id, r.phone)
            if f.member_id != m.id:
                f.member_id = m.id
                linked += 1
        session.add(f)
        session.flush()
        if r.tags:
            tags_added += len(followers.add_tags(session, f, r.tags, kind="chat", now=now))
    session.flush()
    return ImportResult(rows=len(rows), created=created, updated=updated, linked=linked, tags_added=tags_added,
                        dry_run=dry_run), []


# ---------------------------------------------------------------- export

EXPORT_COLUMNS = ["user_id", "display_name", "status", "language", "followed_at", "unfollowed_at",
                  "chat_tags", "active_tags", "member_phone", "note", "last_message_at"]


@dataclass(frozen=True)
class ExportResult:
    file: str
    rows: int


def export_followers(session, *, store_id: int, path: Path) -> ExportResult:
    from crm_cli.fileio.spreadsheet import write_table

    rows = session.exec(select(LineFollower).where(col(LineFollower.store_id) == store_id).order_by(col(LineFollower.id))).all()
    tags = followers.tags_of(session, [f.id for f in rows])
    ids = [f.member_id for f in rows if f.member_id]
    phones = dict(session.exec(select(col(Member.id), col(Member.phone)).where(col(Member.id).in_(ids))).all()) if ids else {}

    def data():
        for f in rows:
            t = tags.get(f.id, {})
            yield [f.user_id, f.display_name, f.status, f.language, f.followed_at, f.unfollowed_at,
                   ";".join(t.get("chat", [])), ";".join(t.get("active", [])),
                   phones.get(f.member_id) if f.member_id else None, f.note, f.last_message_at]

    try:
        n = write_table(path, EXPORT_COLUMNS, data(),
                        {"followed_at": "datetime", "unfollowed_at": "datetime", "last_message_at": "datetime"},
                        sheet="followers")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return ExportResult(file=str(path), rows=n)
