"""Counter API keys: one per branch device. The key is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from crm_cli.db.models import ApiKey, Branch
from crm_cli.domain.billing import SubscriptionEvent
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.services import common

PREFIX = "crm_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKeyCreated:
    id: int
    branch: str
    label: str | None
    key: str  # shown once, never stored
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRow:
    id: int
    branch: str
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyIdentity:
    id: int
    store_id: int
    store_slug: str
    branch: str
    last_used_at: datetime | None = None
    #: the store's subscription events in day order (for its service state), read with the key
    events: tuple[SubscriptionEvent, ...] = ()


#: how stale ``last_used_at`` may get before a request writes it again: a key's row is not
#: rewritten (and locked to the end of the transaction) by every request of a busy counter
TOUCH_EVERY_SECONDS = 60
_AUTH: list = []


def _auth_query():
    if not _AUTH:
        from sqlalchemy import bindparam, select

        k, b, s, e = (ApiKey.metadata.tables[name] for name in ("api_key", "branch", "store", "subscription_event"))
        _AUTH.append(
            select(k.c.id, k.c.revoked_at, k.c.last_used_at, b.c.name, b.c.closed_at, s.c.id, s.c.slug, s.c.purged_at,
                   e.c.kind, e.c.day, e.c.at)
            .select_from(k.join(b, b.c.id == k.c.branch_id).join(s, s.c.id == k.c.store_id)
                         .outerjoin(e, e.c.store_id == s.c.id))
            .where(k.c.key_hash == bindparam("h"))
            .order_by(e.c.day, e.c.id)
        )
    return _AUTH[0]


def create(session, *, store_id: int, branch: str, label: str | None, now: datetime) -> ApiKeyCreated:
    b = common.get_branch(session, store_id, branch)
    if label is not None:
        label = " ".join(label.split())
        if not label or len(label) > 120:
            raise InvalidInput("--label must be 1 to 120 characters")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(store_id=store_id, branch_id=b.id, prefix=key[:12], key_hash=key_hash(key), label=label, created_at=now)
    session.add(row)
    session.flush()
    return ApiKeyCreated(id=row.id, branch=b.name, label=label, key=key, created_at=now)


def list_keys(session, *, store_id: int, include_revoked: bool = True) -> list[ApiKeyRow]:
    q = select(ApiKey, Branch.name).join(Branch, Branch.id == ApiKey.branch_id).where(ApiKey.store_id == store_id)
    if not include_revoked:
        q = q.where(ApiKey.revoked_at.is_(None))
    return [ApiKeyRow(id=k.id, branch=name, prefix=k.prefix + "...", label=k.label, created_at=k.created_at,
                      last_used_at=k.last_used_at, revoked_at=k.revoked_at)
            for k, name in session.exec(q.order_by(ApiKey.id)).all()]


def revoke(session, *, store_id: int, key_id: int, now: datetime) -> ApiKeyRow:
    k = session.get(ApiKey, key_id)
    if k is None or k.store_id != store_id:
        raise NotFound(f"no API key {key_id} in this store: see `crm apikey list`")
    if k.revoked_at is not None:
        raise Conflict(f"API key {key_id} was already revoked")
    k.revoked_at = now
    session.add(k)
    session.flush()
    b = session.get(Branch, k.branch_id)
    return ApiKeyRow(id=k.id, branch=b.name, prefix=k.prefix + "...", label=k.label, created_at=k.created_at,
                     last_used_at=k.last_used_at, revoked_at=k.revoked_at)


def authenticate(session, *, key: str) -> KeyIdentity | None:
    """The key's store and branch, or None (unknown, revoked, closed branch, purged store).
    One Core query on the session's connection: the key, its branch and store, and the
    store's subscription events (one row each)."""
    if not key or not key.startswith(PREFIX) or len(key) > 200:
        return None
    rows = session.connection().execute(_auth_query(), {"h": key_hash(key)}).all()
    if not rows:
        return None
    key_id, revoked, last_used, branch, closed, store_id, slug, purged = rows[0][:8]
    if revoked is not None or closed is not None or purged is not None:
        return None
    events = tuple(SubscriptionEvent(r[8], r[9], r[10]) for r in rows if r[8] is not None)
    return KeyIdentity(id=key_id, store_id=store_id, store_slug=slug, branch=branch, last_used_at=last_used,
                       events=events)


def touch(session, *, key_id: int, now: datetime, last_used_at: datetime | None = None) -> None:
    """Record that the key was used at ``now``; with ``last_used_at`` (what the key's row
    said when it was read) only when that is more than :data:`TOUCH_EVERY_SECONDS` old."""
    if last_used_at is not None and (now - last_used_at).total_seconds() < TOUCH_EVERY_SECONDS:
        return
    table = ApiKey.metadata.tables["api_key"]
    session.connection().execute(table.update().where(table.c.id == key_id).values(last_used_at=now))
