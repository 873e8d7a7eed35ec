"""1:1 chats with followers: conversations, one follower's messages, keyword search.

Message text is stored as the follower sent it; renderers neutralize it for their medium.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from crm_cli.db.models import LineFollower, LineMessage
from crm_cli.domain.errors import InvalidInput
from crm_cli.services import followers


@dataclass(frozen=True)
class Conversation:
    user_id: str
    display_name: str | None
    status: str
    messages: int
    last_at: datetime
    last_text: str | None


@dataclass(frozen=True)
class ChatLine:
    at: datetime
    direction: str
    kind: str
    text: str | None
    delivery: str


@dataclass(frozen=True)
class Hit:
    at: datetime
    user_id: str
    display_name: str | None
    direction: str
    text: str


def _clip(text: str | None, n: int = 80) -> str | None:
    if text is None:
        return None
    return text if len(text) <= n else text[: n - 3] + "..."


def conversations(session, *, store_id: int, limit: int | None = None) -> list[Conversation]:
    """Followers who chatted, most recent conversation first."""
    agg = (select(LineMessage.follower_id, func.count().label("n"), func.max(LineMessage.id).label("last_id"))
           .where(col(LineMessage.store_id) == store_id).group_by(col(LineMessage.follower_id)).subquery())
    q = (select(LineFollower, agg.c.n, LineMessage)
         .join(agg, agg.c.follower_id == LineFollower.id)
         .join(LineMessage, col(LineMessage.id) == agg.c.last_id)
         .order_by(col(LineMessage.at).desc(), col(LineMessage.id).desc()))
    if limit:
        q = q.limit(limit)
    return [Conversation(user_id=f.user_id, display_name=f.display_name, status=f.status, messages=int(n),
                         last_at=m.at, last_text=_clip(m.text) if m.text else f"[{m.kind}]")
            for f, n, m in session.exec(q).all()]


def show(session, *, store_id: int, user_id: str, limit: int | None = None) -> list[ChatLine]:
    """One follower's messages, oldest first (the newest ``limit`` when given)."""
    f = followers.get(session, store_id, user_id)
    q = select(LineMessage).where(col(LineMessage.follower_id) == f.id).order_by(col(LineMessage.at).desc(), col(LineMessage.id).desc())
    if limit:
        q = q.limit(limit)
    rows = list(session.exec(q).all())[::-1]
    return [ChatLine(at=m.at, direction=m.direction, kind=m.kind, text=m.text, delivery=m.delivery) for m in rows]


def search(session, *, store_id: int, keyword: str, limit: int | None = 200) -> list[Hit]:
    """Messages whose text contains ``keyword`` (any case), newest first."""
    kw = (keyword or "").strip()
    if not kw or len(kw) > 200:
        raise InvalidInput("the search keyword must be 1 to 200 characters")
    escaped = kw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    q = (select(LineMessage, LineFollower.user_id, LineFollower.display_name)
         .join(LineFollower, col(LineFollower.id) == col(LineMessage.follower_id))
         .where(LineMessage.store_id == store_id, col(LineMessage.text).is_not(None),
                func.lower(LineMessage.text).like(f"%{escaped.lower()}%", escape="\\"))
         .order_by(col(LineMessage.at).desc(), col(LineMessage.id).desc()))
    if limit:
        q = q.limit(limit)
    return [Hit(at=m.at, user_id=uid, display_name=name, direction=m.direction, text=m.text)
            for m, uid, name in session.exec(q).all()]
