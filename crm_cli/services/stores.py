"""Stores, branches, staff and staff invites (SPEC section 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import select

from crm_cli.db.models import Branch, Member, Staff, StaffInvite, Store
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.services import store_state
from crm_cli.services.common import get_branch, get_staff, get_store, new_token, phone, token_hash
from crm_cli.services.store_state import StoreInfo

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
INVITE_DAYS = 7
ROLES = ("admin", "staff")


def _store_info(session, s: Store, *, with_terms: bool = False, now: datetime | None = None) -> StoreInfo:
    """The store as `crm store show` prints it, read back from the database (flush first)."""
    assert s.id is not None  # flushed
    return store_state.store_info(session, s.id, with_terms=with_terms, now=now)


def _check_email(email: str | None) -> str | None:
    """The store's contact email: the same rule as a member's (blank clears it)."""
    from crm_cli.domain import member_fields

    return member_fields.email(email)


def create_store(session, *, slug: str, name: str, phone_raw: str | None, email: str | None, now: datetime) -> tuple[int, StoreInfo]:
    if not SLUG_RE.match(slug):
        raise InvalidInput(f"invalid store slug '{slug}': use 2-63 lowercase letters, digits and dashes")
    if not name.strip():
        raise InvalidInput("store name must not be empty")
    if session.exec(select(Store).where(Store.slug == slug)).first() is not None:
        raise Conflict(f"store '{slug}' already exists: pick another slug")
    s = Store(slug=slug, name=name.strip(), phone=phone(phone_raw) if phone_raw else None,
              email=_check_email(email), created_at=now)
    session.add(s)
    session.flush()
    return s.id, _store_info(session, s, now=now)


def show_store(bind, *, store_id: int, now: datetime | None = None) -> StoreInfo:
    """``bind``: a Session or a Core connection (plain SQL, see store_state)."""
    return store_state.store_info(bind, store_id, with_terms=True, now=now)


def list_stores(bind, *, now: datetime | None = None) -> list[StoreInfo]:
    return store_state.list_stores(bind, now=now)


def store_exists(session, slug: str) -> bool:
    return session.exec(select(Store.id).where(Store.slug == slug, Store.purged_at.is_(None))).first() is not None


def edit_store(session, *, store_id: int, name: str | None = None, phone_raw: str | None = None,
               email: str | None = None, terms: str | None = None, link_base: str | None = None,
               import_max_rows: int | None = None, answer_retention_days: int | None = None,
               point_value: Decimal | None = None, now: datetime | None = None) -> StoreInfo:
    s = get_store(session, store_id)
    if name is not None:
        if not name.strip():
            raise InvalidInput("store name must not be empty")
        s.name = name.strip()
    if phone_raw is not None:
        s.phone = phone(phone_raw)
    if email is not None:
        s.email = _check_email(email)
    if terms is not None:
        s.terms = terms
    if link_base is not None:
        if not re.match(r"^https?://\S+$", link_base):
            raise InvalidInput(f"invalid base URL '{link_base}': use http(s)://host/path")
        s.link_base = link_base.rstrip("/")
    if import_max_rows is not None:
        if import_max_rows < 1:
            raise InvalidInput("import row limit must be at least 1")
        s.import_max_rows = import_max_rows
    if answer_retention_days is not None:
        if answer_retention_days < 1:
            raise InvalidInput("retention must be at least 1 day")
        s.answer_retention_days = answer_retention_days
    if point_value is not None:
        from crm_cli.domain.points import parse_point_value

        s.point_value = parse_point_value(point_value)
    session.add(s)
    session.flush()
    return _store_info(session, s, with_terms=True, now=now)


# ---------------------------------------------------------------- branches


@dataclass(frozen=True)
class BranchInfo:
    name: str
    status: str
    staff: int
    created_at: datetime
    closed_at: datetime | None


def add_branch(session, *, store_id: int, name: str, now: datetime) -> BranchInfo:
    name = name.strip()
    if not name:
        raise InvalidInput("branch name must not be empty")
    if session.exec(select(Branch).where(Branch.store_id == store_id, Branch.name == name)).first():
        raise Conflict(f"branch '{name}' already exists in this store")
    b = Branch(store_id=store_id, name=name, created_at=now)
    session.add(b)
    session.flush()
    return _branch_info(session, b)


def _branch_info(session, b: Branch) -> BranchInfo:
    n = session.exec(select(func.count()).select_from(Staff).where(Staff.branch_id == b.id, Staff.active.is_(True))).one()
    return BranchInfo(name=b.name, status="closed" if b.closed_at else "open", staff=n, created_at=b.created_at, closed_at=b.closed_at)


def list_branches(session, *, store_id: int) -> list[BranchInfo]:
    rows = session.exec(select(Branch).where(Branch.store_id == store_id).order_by(Branch.name)).all()
    return [_branch_info(session, b) for b in rows]


def rename_branch(session, *, store_id: int, old: str, new: str) -> BranchInfo:
    b = get_branch(session, store_id, old, open_only=False)
    new = new.strip()
    if not new:
        raise InvalidInput("branch name must not be empty")
    if session.exec(select(Branch).where(Branch.store_id == store_id, Branch.name == new)).first():
        raise Conflict(f"branch '{new}' already exists in this store")
    b.name = new
    session.add(b)
    session.flush()
    return _branch_info(session, b)


def close_branch(session, *, store_id: int, name: str, now: datetime) -> BranchInfo:
    b = get_branch(session, store_id, name, open_only=False)
    if b.closed_at is not None:
        raise Conflict(f"branch '{name}' is already closed")
    active = session.exec(select(func.count()).select_from(Staff).where(Staff.branch_id == b.id, Staff.active.is_(True))).one()
    if active:
        raise Conflict(f"branch '{name}' still has {active} active staff: move or deactivate them first")
    b.closed_at = now
    session.add(b)
    session.flush()
    return _branch_info(session, b)


# ---------------------------------------------------------------- staff


@dataclass(frozen=True)
class Invite:
    token: str
    link: str
    branch: str
    role: str
    expires_at: datetime


@dataclass(frozen=True)
class StaffInfo:
    name: str
    phone: str
    role: str
    branch: str
    active: bool
    created_at: datetime


def invite_staff(session, *, store_id: int, branch: str, role: str, now: datetime, valid_days: int = INVITE_DAYS) -> Invite:
    if role not in ROLES:
        raise InvalidInput(f"invalid role '{role}': use admin or staff")
    if valid_days < 1:
        raise InvalidInput("an invite must be valid for at least 1 day")
    b = get_branch(session, store_id, branch)
    token, digest = new_token()
    inv = StaffInvite(store_id=store_id, branch_id=b.id, role=role, token_hash=digest,
                      created_at=now, expires_at=now + timedelta(days=valid_days))
    session.add(inv)
    session.flush()
    store = get_store(session, store_id)
    return Invite(token=token, link=f"{store.link_base.rstrip('/')}/staff/join/{token}",
                  branch=b.name, role=role, expires_at=inv.expires_at)


def join_staff(session, *, token: str, name: str, phone_raw: str, now: datetime) -> tuple[int, StaffInfo]:
    """Accept an invite (single use). Returns the store id and the new staff member."""
    token = token.strip()
    if "token=" in token:  # the whole link was pasted (the older /SLUG/staff/join?token= form too)
        token = token.split("token=", 1)[1].split("&", 1)[0]
    elif "/staff/join/" in token:
        token = token.rsplit("/staff/join/", 1)[1].split("?", 1)[0].split("#", 1)[0].strip("/")
    inv = session.exec(select(StaffInvite).where(StaffInvite.token_hash == token_hash(token))).first()
    if inv is None:
        raise NotFound("invite token not recognised: ask the store admin for a new invite")
    if inv.used_at is not None:
        raise Conflict("this invite has already been used: ask the store admin for a new invite")
    if inv.expires_at <= now:
        from crm_cli.domain.timeutil import BKK

        expired = inv.expires_at.astimezone(BKK)
        raise Conflict(f"this invite expired on {expired:%Y-%m-%d %H:%M} Bangkok time: ask the store admin for a new invite")
    if not name.strip():
        raise InvalidInput("staff name must not be empty")
    p = phone(phone_raw)
    if session.exec(select(Staff).where(Staff.store_id == inv.store_id, Staff.phone == p)).first():
        raise Conflict(f"{phone_raw} is already staff in this store")
    b = session.get(Branch, inv.branch_id)
    if b is None or b.closed_at is not None:
        raise Conflict("the invite's branch has been closed: ask the store admin for a new invite")
    s = Staff(store_id=inv.store_id, branch_id=inv.branch_id, name=name.strip(), phone=p, role=inv.role, created_at=now)
    session.add(s)
    session.flush()
    # single use even under concurrency: only one UPDATE can see used_at IS NULL
    from sqlalchemy import update

    res = session.execute(
        update(StaffInvite).where(StaffInvite.id == inv.id, StaffInvite.used_at.is_(None))
        .values(used_at=now, used_by_staff_id=s.id)
    )
    if res.rowcount != 1:
        raise Conflict("this invite has already been used: ask the store admin for a new invite")
    return inv.store_id, _staff_info(s, b.name)


def _staff_info(s: Staff, branch_name: str) -> StaffInfo:
    return StaffInfo(name=s.name, phone=s.phone, role=s.role, branch=branch_name, active=s.active, created_at=s.created_at)


def list_staff(session, *, store_id: int, include_inactive: bool = False) -> list[StaffInfo]:
    q = select(Staff, Branch.name).join(Branch, Branch.id == Staff.branch_id).where(Staff.store_id == store_id)
    if not include_inactive:
        q = q.where(Staff.active.is_(True))
    return [_staff_info(s, bn) for s, bn in session.exec(q.order_by(Branch.name, Staff.name)).all()]


def move_staff(session, *, store_id: int, phone_raw: str, branch: str) -> StaffInfo:
    s = get_staff(session, store_id, phone_raw)
    b = get_branch(session, store_id, branch)
    s.branch_id = b.id
    session.add(s)
    session.flush()
    return _staff_info(s, b.name)


def deactivate_staff(session, *, store_id: int, phone_raw: str, now: datetime) -> StaffInfo:
    s = get_staff(session, store_id, phone_raw, active_only=False)
    if not s.active:
        raise Conflict(f"staff member {phone_raw} is already deactivated")
    s.active = False
    s.deactivated_at = now
    session.add(s)
    session.flush()
    b = session.get(Branch, s.branch_id)
    return _staff_info(s, b.name if b else "")



@dataclass(frozen=True)
class StoreDeleted:
    slug: str
    store_id: int
    members_erased: int
    rows_deleted: int
    deleted_at: datetime


def delete_store(session, *, slug: str, purge: bool, now: datetime) -> StoreDeleted:
    """Delete a store: every row of it goes (as the nightly purge of a cancelled store does),
    except its invoices, subscription events and audit records, which are kept.

    Refused while it has members (points accounts included) unless ``purge``. The slug is
    freed: the kept row is renamed ``<slug>.deleted-<id>``, a name no store can take.
    """
    from crm_cli.services.purge import purge_store

    s = session.exec(select(Store).where(Store.slug == slug, Store.purged_at.is_(None))).first()
    if s is None:
        raise NotFound(f"store '{slug}' not found: see `crm store list`")
    members = session.exec(select(func.count()).select_from(Member).where(Member.store_id == s.id)).one()
    if members and not purge:
        raise Conflict(
            f"store '{slug}' has {members} member(s): deleting it erases them and their points; "
            f"add --purge to do so"
        )
    result = purge_store(session, store_id=s.id, now=now)
    s.slug = f"{slug[:40]}.deleted-{s.id}"
    s.suspended_reason = f"deleted on {now.date().isoformat()}"
    session.add(s)
    session.flush()
    return StoreDeleted(slug=slug, store_id=s.id, members_erased=int(members), rows_deleted=result.rows, deleted_at=now)
