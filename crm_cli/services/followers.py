"""LINE followers of a store: profile, follow state, chat tags (operators) and active tags
(actions such as rich-menu taps), notes, and the link to a member.

Display names come from LINE and are stored exactly as sent; whoever shows them
neutralizes them for the medium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from crm_cli.db import dialect
from crm_cli.db.models import LineFollower, LineFollowerTag, LineMessage, Member
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.services import common

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
TAG_KINDS = ("chat", "active")
STATUSES = ("following", "blocked", "unknown")


@dataclass(frozen=True)
class FollowerLink:
    user_id: str
    member_phone: str
    member_name: str | None


def check_user_id(raw: str) -> str:
    u = (raw or "").strip()
    if not USER_ID_RE.match(u):
        raise InvalidInput(f"'{raw}' is not a LINE user ID ('U' followed by 32 hex digits)")
    return u


def storable(text: str | None) -> str | None:
    """Text as LINE sent it, except NUL (which PostgreSQL text cannot hold): U+FFFD instead."""
    if text is None:
        return None
    return text.replace("\x00", "\ufffd")


def normalize_tag(raw: str) -> str:
    from crm_cli.services.forms import normalize_tag as _tag

    return _tag(raw)


# ---------------------------------------------------------------- rows


def find(session, store_id: int, user_id: str) -> LineFollower | None:
    return session.exec(select(LineFollower).where(LineFollower.store_id == store_id,
                                                   LineFollower.user_id == user_id)).first()


def get(session, store_id: int, raw_user_id: str) -> LineFollower:
    user_id = check_user_id(raw_user_id)
    return common.found(find(session, store_id, user_id), f"no follower {user_id} in this store: see `crm follower list`")


def get_or_create(session, *, store_id: int, user_id: str, now: datetime, source: str = "webhook") -> tuple[LineFollower, bool]:
    """The follower row, created if new (safe when two requests create it at once)."""
    f = find(session, store_id, user_id)
    if f is not None:
        return f, False
    values = dict(store_id=store_id, user_id=user_id, status="following", source=source, created_at=now)
    insert = _insert(session)
    res = session.execute(insert(LineFollower).values(**values)
                          .on_conflict_do_nothing(index_elements=["store_id", "user_id"])
                          .returning(LineFollower.id))
    created = res.first() is not None
    f = find(session, store_id, user_id)
    assert f is not None
    return f, created


def tags_of(session, follower_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {}
    for i in range(0, len(follower_ids), 5000):
        chunk = follower_ids[i:i + 5000]
        rows = session.exec(select(LineFollowerTag.follower_id, LineFollowerTag.kind, LineFollowerTag.tag)
                            .where(col(LineFollowerTag.follower_id).in_(chunk))
                            .order_by(LineFollowerTag.tag)).all()
        for fid, kind, tag in rows:
            out.setdefault(fid, {"chat": [], "active": []})[kind].append(tag)
    return out


def _insert(session):
    return lambda table: dialect.insert(session, table)


def add_tags(session, follower: LineFollower, tags: list[str], *, kind: str, now: datetime) -> list[str]:
    """Add tags of one kind; returns the ones that were new (safe against a concurrent add)."""
    insert = _insert(session)
    added = []
    for t in dict.fromkeys(tags):
        res = session.execute(insert(LineFollowerTag).values(follower_id=follower.id, kind=kind, tag=t, created_at=now)
                              .on_conflict_do_nothing(index_elements=["follower_id", "kind", "tag"])
                              .returning(LineFollowerTag.tag))
        if res.first() is not None:
            added.append(t)
    return added


def apply_profile(session, follower: LineFollower, *, display_name: str | None, picture_url: str | None,
                  language: str | None, now: datetime) -> None:
    follower.display_name = storable((display_name or "")[:200]) or None
    follower.picture_url = (picture_url or "")[:1000] or None
    follower.language = (language or "")[:20] or None
    follower.profile_at = now
    session.add(follower)
    session.flush()


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class FollowerRow:
    user_id: str
    display_name: str | None
    status: str
    followed_at: datetime | None
    chat_tags: list[str]
    active_tags: list[str]
    member_phone: str | None
    last_message_at: datetime | None


@dataclass(frozen=True)
class FollowerDetail:
    user_id: str
    display_name: str | None
    picture_url: str | None
    language: str | None
    status: str
    followed_at: datetime | None
    unfollowed_at: datetime | None
    chat_tags: list[str]
    active_tags: list[str]
    note: str | None
    member_phone: str | None
    member_name: str | None
    source: str
    messages: int
    last_message_at: datetime | None
    profile_at: datetime | None
    created_at: datetime


def _phones(session, member_ids: list[int]) -> dict[int, str | None]:
    ids = [m for m in member_ids if m]
    if not ids:
        return {}
    return dict(session.exec(select(col(Member.id), col(Member.phone)).where(col(Member.id).in_(ids))).all())


def list_followers(session, *, store_id: int, status: str | None = None, tag: str | None = None,
                   linked: bool | None = None, limit: int | None = None) -> list[FollowerRow]:
    q = select(LineFollower).where(LineFollower.store_id == store_id)
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"--status must be one of: {', '.join(STATUSES)}")
        q = q.where(LineFollower.status == status)
    if tag:
        t = normalize_tag(tag)
        q = q.where(col(LineFollower.id).in_(select(col(LineFollowerTag.follower_id)).where(col(LineFollowerTag.tag) == t)))
    if linked is True:
        q = q.where(col(LineFollower.member_id).is_not(None))
    elif linked is False:
        q = q.where(col(LineFollower.member_id).is_(None))
    q = q.order_by(col(LineFollower.followed_at).desc().nulls_last(), col(LineFollower.id).desc())
    if limit:
        q = q.limit(limit)
    rows = session.exec(q).all()
    tags = tags_of(session, [f.id for f in rows])
    phones = _phones(session, [f.member_id for f in rows])
    return [
        FollowerRow(user_id=f.user_id, display_name=f.display_name, status=f.status, followed_at=f.followed_at,
                    chat_tags=tags.get(f.id, {}).get("chat", []), active_tags=tags.get(f.id, {}).get("active", []),
                    member_phone=phones.get(f.member_id) if f.member_id else None, last_message_at=f.last_message_at)
        for f in rows
    ]


def show_follower(session, *, store_id: int, user_id: str) -> FollowerDetail:
    f = get(session, store_id, user_id)
    tags = tags_of(session, [f.id]).get(f.id, {})
    m = session.get(Member, f.member_id) if f.member_id else None
    count = session.exec(select(func.count()).select_from(LineMessage).where(LineMessage.follower_id == f.id)).one()
    return FollowerDetail(
        user_id=f.user_id, display_name=f.display_name, picture_url=f.picture_url, language=f.language,
        status=f.status, followed_at=f.followed_at, unfollowed_at=f.unfollowed_at,
        chat_tags=tags.get("chat", []), active_tags=tags.get("active", []), note=f.note,
        member_phone=m.phone if m else None, member_name=m.name if m else None, source=f.source,
        messages=int(count), last_message_at=f.last_message_at, profile_at=f.profile_at, created_at=f.created_at,
    )


# ---------------------------------------------------------------- operator changes


@dataclass(frozen=True)
class FollowerTags:
    user_id: str
    kind: str
    tags: list[str]
    changed: list[str]


def _kind(kind: str) -> str:
    if kind not in TAG_KINDS:
        raise InvalidInput(f"tag kind must be one of: {', '.join(TAG_KINDS)}")
    return kind


def tag(session, *, store_id: int, user_id: str, tags: list[str], now: datetime, kind: str = "chat") -> FollowerTags:
    kind = _kind(kind)
    f = get(session, store_id, user_id)
    wanted = [normalize_tag(t) for t in tags]
    added = add_tags(session, f, wanted, kind=kind, now=now)
    return FollowerTags(user_id=f.user_id, kind=kind, tags=tags_of(session, [f.id]).get(f.id, {}).get(kind, []), changed=added)


def untag(session, *, store_id: int, user_id: str, tags: list[str], kind: str = "chat") -> FollowerTags:
    kind = _kind(kind)
    f = get(session, store_id, user_id)
    names = [normalize_tag(t) for t in tags]
    rows = session.exec(select(LineFollowerTag).where(LineFollowerTag.follower_id == f.id, LineFollowerTag.kind == kind,
                                                      col(LineFollowerTag.tag).in_(names))).all()
    removed = sorted(r.tag for r in rows)
    for r in rows:
        session.delete(r)
    session.flush()
    return FollowerTags(user_id=f.user_id, kind=kind, tags=tags_of(session, [f.id]).get(f.id, {}).get(kind, []), changed=removed)


@dataclass(frozen=True)
class FollowerNote:
    user_id: str
    note: str | None


def set_note(session, *, store_id: int, user_id: str, text: str) -> FollowerNote:
    f = get(session, store_id, user_id)
    from crm_cli.domain import member_fields

    # the member-field rule: control and direction characters refused, line breaks kept;
    # an empty note clears it
    note = member_fields.note(text) if (text or "").strip() else None
    f.note = note
    session.add(f)
    session.flush()
    return FollowerNote(user_id=f.user_id, note=f.note)


def link(session, *, store_id: int, user_id: str, phone: str) -> FollowerLink:
    """Link a follower to a member (one LINE account per member, one member per account)."""
    f = get(session, store_id, user_id)
    m = common.get_member(session, store_id, phone)
    if m.erased_at is not None:
        raise NotFound(f"no member or points account for {phone} in this store")
    other = session.exec(select(LineFollower).where(LineFollower.store_id == store_id, LineFollower.member_id == m.id,
                                                    LineFollower.id != f.id)).first()
    if other is not None:
        raise Conflict(f"member {m.phone} is already linked to LINE user {other.user_id}")
    if f.member_id and f.member_id != m.id:
        raise Conflict(f"LINE user {f.user_id} is already linked to another member")
    f.member_id = m.id
    if f.display_name and not m.line_display_name:
        m.line_display_name = f.display_name
        session.add(m)
    session.add(f)
    session.flush()
    return FollowerLink(user_id=f.user_id, member_phone=m.phone, member_name=m.name)
