"""Small lookups every service needs: phones, branches, staff, members, tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TypeVar

from sqlmodel import select

from crm_cli.db import dialect
from crm_cli.db.models import Branch, Member, Staff, Store
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied

T = TypeVar("T")


def phone(raw) -> str:
    """Normalize a phone to E.164 or raise InvalidInput with the reason."""
    from crm_cli.domain.member_fields import phone as member_phone

    return member_phone(raw)


def clean_name(raw: str | None, *, what: str, limit: int, empty: str | None = None) -> str:
    """A display name with its whitespace folded; refused when empty (with ``empty`` when
    given) or too long."""
    n = " ".join((raw or "").split())
    if not n:
        raise InvalidInput(empty or f"{what} must not be empty")
    if len(n) > limit:
        raise InvalidInput(f"{what} is too long (at most {limit} characters)")
    return n


def new_token() -> tuple[str, str]:
    """A token with 160 bits of randomness (40 hex digits: URL-safe, never starts with '-'),
    and the SHA-256 hash that is the only thing stored."""
    token = secrets.token_hex(20)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def get_store(session, store_id: int) -> Store:
    """The store row by id (purged stores are gone)."""
    s = session.get(Store, store_id)
    if s is None or s.purged_at is not None:
        raise NotFound("store not found: see `crm store list`")
    return s


def get_branch(session, store_id: int, name: str, *, open_only: bool = True) -> Branch:
    row = session.exec(select(Branch).where(Branch.store_id == store_id, Branch.name == name)).first()
    return check_branch(row, name, open_only=open_only)


def check_branch(row, name: str, *, open_only: bool = True):
    """The branch row found for ``name`` (anything with ``closed_at``), or why it cannot be used."""
    if row is None:
        raise NotFound(f"branch '{name}' not found: see `crm branch list`")
    if open_only and row.closed_at is not None:  # a business rule, not bad input: exit 4
        raise Conflict(f"branch '{name}' is closed: use an open branch (see `crm branch list`)")
    return row


def get_staff(session, store_id: int, raw_phone: str, *, active_only: bool = True) -> Staff:
    p = phone(raw_phone)
    row = session.exec(select(Staff).where(Staff.store_id == store_id, Staff.phone == p)).first()
    return check_staff(row, raw_phone, active_only=active_only)


def check_staff(row, raw_phone: str, *, active_only: bool = True):
    """The staff row found for ``raw_phone`` (anything with ``active``), or why it cannot act."""
    if row is None:
        raise NotFound(f"staff member {raw_phone} not found in this store: see `crm staff list`")
    if active_only and not row.active:
        raise PermissionDenied(f"staff member {raw_phone} is deactivated")
    return row


def resolve_actor(session, store_id: int, *, branch: str | None, staff: str | None) -> tuple[int | None, int | None]:
    """Branch and staff behind a movement, with the role and branch rules enforced.

    A ``staff`` role acts only at its own branch: no branch given means its own;
    another branch is refused. An ``admin`` may act at any branch of the store.
    Without a staff phone the operator acts as store admin.
    """
    branch_row = get_branch(session, store_id, branch) if branch else None
    if staff is None:
        return (branch_row.id if branch_row else None), None
    return actor_ids(branch_row, get_staff(session, store_id, staff), staff)


def actor_ids(branch_row, s, staff: str) -> tuple[int | None, int]:
    """(branch id, staff id) for staff row ``s`` acting at ``branch_row`` (None: not named),
    with the role rule of :func:`resolve_actor`."""
    if s.role != "admin":
        if branch_row is not None and branch_row.id != s.branch_id:
            raise PermissionDenied(
                f"staff member {staff} works at another branch and cannot act at '{branch_row.name}'"
            )
        return s.branch_id, s.id
    return (branch_row.id if branch_row else s.branch_id), s.id


def require_admin(session, store_id: int, staff: str | None) -> None:
    """Admin-only operations: refused for a staff-role member (the operator is an admin)."""
    if staff is None:
        return
    s = get_staff(session, store_id, staff)
    if s.role != "admin":
        raise PermissionDenied(f"staff member {staff} has role 'staff'; this needs an admin")


def found(row: T | None, missing: str) -> T:
    """``row``, or NotFound with the line ``missing`` when there is none."""
    if row is None:
        raise NotFound(missing)
    return row


def find_member(session, store_id: int, e164: str) -> Member | None:
    return session.exec(select(Member).where(Member.store_id == store_id, Member.phone == e164)).first()


def get_member(session, store_id: int, raw_phone: str) -> Member:
    return found(find_member(session, store_id, phone(raw_phone)),
                 f"no member or points account for {raw_phone} in this store")


def lock_member(session, member_id: int) -> None:
    """Serialize work on one points account (row lock on PostgreSQL; SQLite holds the write lock)."""
    dialect.lock_row(session, "member", member_id)


def get_or_create_account(session, store_id: int, e164: str, *, now: datetime) -> Member:
    """The member row for a phone, created as a phone-only account if new."""
    m = find_member(session, store_id, e164)
    if m is not None:
        return m
    if dialect.is_postgresql(session):
        session.execute(
            dialect.insert_ignore(session, Member.__table__, constraint="uq_member_store_phone")
            .values(store_id=store_id, phone=e164, source="points", created_at=now)
        )
        m = find_member(session, store_id, e164)
        assert m is not None
        return m
    m = Member(store_id=store_id, phone=e164, source="points", created_at=now)
    session.add(m)
    session.flush()
    return m
