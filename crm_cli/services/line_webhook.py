"""Webhook events from a store's LINE Official Account, each processed once.

``handle_events`` runs inside the request's one transaction: it claims every
``webhookEventId`` (a unique row) together with the event's effect, so a redelivered or
concurrently delivered event changes nothing the second time. It makes no call to LINE:
replies are written as pending outgoing messages and profiles as follower ids to
refresh; the server delivers them after answering LINE (``claim_reply`` /
``finish_reply`` / ``store_profile``, each its own short transaction). A reply token is
accepted by LINE once, so a reply can never be delivered twice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

from sqlalchemy import update
from sqlmodel import col

from crm_cli.db.models import LineMessage, LineWebhookEvent
from crm_cli.domain.errors import InvalidInput
from crm_cli.line.webhook import Event
from crm_cli.services import autoreplies, followers


@dataclass(frozen=True)
class WebhookOutcome:
    events: int
    processed: int
    duplicates: int
    types: dict[str, int] = field(default_factory=dict)
    replies: list[int] = field(default_factory=list)  # outgoing message ids to deliver
    profiles: list[str] = field(default_factory=list)  # user ids whose profile to fetch

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.types.items()))
        dup = f", {self.duplicates} already processed" if self.duplicates else ""
        return f"webhook: {self.processed} of {self.events} events processed ({kinds or 'none'}){dup}"


def _claim(session, store_id: int, ev: Event, now: datetime) -> bool:
    insert = followers._insert(session)
    res = session.execute(
        insert(LineWebhookEvent)
        .values(store_id=store_id, event_id=ev.event_id, type=ev.type[:32], redelivery=ev.redelivery,
                occurred_at=ev.at, received_at=now)
        .on_conflict_do_nothing(index_elements=["store_id", "event_id"])
        .returning(LineWebhookEvent.id)
    )
    return res.first() is not None


def handle_events(session, *, store_id: int, events: list[Event], now: datetime, autoreply: bool = True) -> WebhookOutcome:
    """Record and apply the events; ``autoreply`` False (a suspended store) stores chats without answering."""
    types: Counter = Counter()
    duplicates = 0
    replies: list[int] = []
    profiles: list[str] = []
    for ev in events:
        if not _claim(session, store_id, ev, now):
            duplicates += 1
            continue
        types[ev.type] += 1
        if not ev.user_id or not followers.USER_ID_RE.match(ev.user_id):
            continue  # group or room sources: recorded, no follower effect
        f, created = followers.get_or_create(session, store_id=store_id, user_id=ev.user_id, now=now)
        if ev.type == "follow":
            f.status = "following"
            f.followed_at = ev.at
            profiles.append(f.user_id)
        elif ev.type == "unfollow":
            f.status = "blocked"
            f.unfollowed_at = ev.at
        elif ev.type == "message" and ev.message is not None:
            msg = LineMessage(store_id=store_id, follower_id=f.id, direction="in", kind=ev.message.type[:16],
                              text=followers.storable(ev.message.text), line_message_id=ev.message.id[:40] or None, at=ev.at)
            session.add(msg)
            f.last_message_at = max(f.last_message_at, ev.at) if f.last_message_at else ev.at
            if f.status != "following" and f.unfollowed_at is None:
                f.status = "following"
            if autoreply and ev.message.type == "text" and ev.reply_token and ev.mode == "active":
                rule = autoreplies.match_rule(session, store_id=store_id, text=ev.message.text or "")
                if rule is not None:
                    messages = autoreplies.reply_messages(rule)
                    first = messages[0]
                    out = LineMessage(store_id=store_id, follower_id=f.id, direction="out", kind=rule.kind,
                                      text=first.get("text") if rule.kind == "text" else first.get("altText") or first.get("originalContentUrl"),
                                      payload=json.dumps(messages, ensure_ascii=False), autoreply_id=rule.id, reply_token=ev.reply_token[:100],
                                      delivery="pending", at=ev.at)
                    session.add(out)
                    session.flush()
                    replies.append(out.id)
        elif ev.type == "postback" and ev.postback_data:
            tags = []
            for key, value in parse_qsl(ev.postback_data, keep_blank_values=False):
                if key == "tag":
                    try:
                        tags.append(followers.normalize_tag(value))
                    except InvalidInput:
                        continue
            if tags:
                followers.add_tags(session, f, tags, kind="active", now=now)
        if created or f.profile_at is None:
            if f.user_id not in profiles:
                profiles.append(f.user_id)
        session.add(f)
    session.flush()
    processed = sum(types.values())
    return WebhookOutcome(events=len(events), processed=processed, duplicates=duplicates, types=dict(types),
                          replies=replies, profiles=profiles)


# ---------------------------------------------------------------- after the answer

#: a reply token is usable for about a minute; older pending replies are left as they are
REPLY_WINDOW_SECONDS = 50


def pending_replies(session, *, store_id: int, now: datetime, exclude: list[int] = ()) -> list[int]:
    """Replies still pending from an earlier request whose process stopped before sending
    them (recent enough for their token to work); whoever claims one first sends it."""
    from datetime import timedelta

    from sqlmodel import select

    q = (select(LineMessage.id).where(LineMessage.store_id == store_id, LineMessage.direction == "out",
                                      LineMessage.delivery == "pending",
                                      LineMessage.at >= now - timedelta(seconds=REPLY_WINDOW_SECONDS))
         .order_by(col(LineMessage.id)).limit(100))
    skip = set(exclude)
    return [i for i in session.exec(q).all() if i not in skip]


@dataclass(frozen=True)
class PendingReply:
    id: int
    reply_token: str
    messages: list[dict]


def claim_reply(session, *, message_id: int) -> PendingReply | None:
    """Take a pending reply for delivery (None if another worker took it, or it is done)."""
    res = session.execute(update(LineMessage).where(col(LineMessage.id) == message_id, col(LineMessage.delivery) == "pending")
                          .values(delivery="sending"))
    if not res.rowcount:
        return None
    m = session.get(LineMessage, message_id)
    session.refresh(m)
    return PendingReply(id=m.id, reply_token=m.reply_token or "", messages=json.loads(m.payload or "[]"))


def finish_reply(session, *, message_id: int, ok: bool, line_message_id: str | None = None,
                 error: str | None = None) -> None:
    m = session.get(LineMessage, message_id)
    m.delivery = "sent" if ok else "failed"
    m.reply_token = None
    m.line_message_id = (line_message_id or "")[:40] or None
    m.error = (error or "")[:300] or None
    session.add(m)
    session.flush()


def store_profile(session, *, store_id: int, user_id: str, profile, now: datetime) -> bool:
    """Write a fetched profile (``None``: LINE has none, the user blocked or left)."""
    f = followers.find(session, store_id, user_id)
    if f is None:
        return False
    if profile is None:
        f.profile_at = now
        session.add(f)
        session.flush()
        return False
    followers.apply_profile(session, f, display_name=profile.display_name, picture_url=profile.picture_url,
                            language=profile.language, now=now)
    return True
