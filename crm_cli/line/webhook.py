"""Webhook requests from LINE: signature check and event parsing (no I/O, no SQL).

The signature is checked on the raw body before anything parses it: the
``x-line-signature`` header is the base64 HMAC-SHA256 of the body under the channel
secret. Events become plain dataclasses; unknown event types are kept with their raw
dict so a later version can handle them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MAX_BODY = 1024 * 1024  # 1 MB: larger bodies are refused before they are read whole


class WebhookFormatError(ValueError):
    """The body is not a LINE webhook payload."""


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time comparison of the header with the expected signature."""
    if not header or not secret:
        return False
    expected = signature(secret, body)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))


@dataclass(frozen=True)
class MessageContent:
    id: str
    type: str  # text | image | video | audio | file | location | sticker
    text: str | None = None


@dataclass(frozen=True)
class Event:
    type: str
    event_id: str
    at: datetime
    redelivery: bool
    mode: str
    user_id: str | None
    reply_token: str | None
    message: MessageContent | None = None
    postback_data: str | None = None
    unblocked: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Payload:
    destination: str | None
    events: list[Event]


def parse(body: bytes) -> Payload:
    """Parse a verified body. Raises WebhookFormatError with a short reason."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookFormatError("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise WebhookFormatError("the body has no 'events' array")
    events = [_event(e, i) for i, e in enumerate(data["events"])]
    dest = data.get("destination")
    return Payload(destination=dest if isinstance(dest, str) else None, events=events)


def _str(d: dict, key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _event(e: Any, i: int) -> Event:
    if not isinstance(e, dict):
        raise WebhookFormatError(f"event {i} is not an object")
    etype = _str(e, "type")
    event_id = _str(e, "webhookEventId")
    ts = e.get("timestamp")
    if not etype or not event_id or not isinstance(ts, int) or isinstance(ts, bool):
        raise WebhookFormatError(f"event {i} lacks type, webhookEventId or timestamp")
    if len(event_id) > 64:
        raise WebhookFormatError(f"event {i} has an over-long webhookEventId")
    try:
        at = datetime.fromtimestamp(ts / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise WebhookFormatError(f"event {i} has a bad timestamp") from None
    source = e.get("source") if isinstance(e.get("source"), dict) else {}
    ctx = e.get("deliveryContext") if isinstance(e.get("deliveryContext"), dict) else {}
    message = None
    if etype == "message":
        m = e.get("message")
        if not isinstance(m, dict) or not _str(m, "type"):
            raise WebhookFormatError(f"message event {i} has no message")
        message = MessageContent(id=str(m.get("id") or ""), type=m["type"],
                                 text=_str(m, "text") if m["type"] == "text" else None)
    postback = None
    if etype == "postback":
        pb = e.get("postback")
        postback = _str(pb, "data") if isinstance(pb, dict) else None
    follow = e.get("follow") if isinstance(e.get("follow"), dict) else {}
    return Event(
        type=etype, event_id=event_id, at=at, redelivery=bool(ctx.get("isRedelivery")),
        mode=_str(e, "mode") or "active", user_id=_str(source, "userId"), reply_token=_str(e, "replyToken"),
        message=message, postback_data=postback, unblocked=bool(follow.get("isUnblocked")), raw=e,
    )
