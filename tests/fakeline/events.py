"""Webhook bodies as LINE sends them, signed with a channel secret."""

from __future__ import annotations

import itertools
import json
import time
import uuid

from crm_cli.line.webhook import signature

_seq = itertools.count(1)


def event_id() -> str:
    return "01" + uuid.uuid4().hex[:24].upper()


def _base(kind: str, user_id: str, *, ts: int | None = None, redelivery: bool = False, eid: str | None = None) -> dict:
    return {"type": kind, "mode": "active", "timestamp": ts or int(time.time() * 1000) + next(_seq),
            "source": {"type": "user", "userId": user_id}, "webhookEventId": eid or event_id(),
            "deliveryContext": {"isRedelivery": redelivery}}


def follow(user_id: str, reply_token: str | None = None, **kw) -> dict:
    e = _base("follow", user_id, **kw)
    e["replyToken"] = reply_token or uuid.uuid4().hex
    e["follow"] = {"isUnblocked": False}
    return e


def unfollow(user_id: str, **kw) -> dict:
    return _base("unfollow", user_id, **kw)


def text(user_id: str, body: str, reply_token: str | None = None, **kw) -> dict:
    e = _base("message", user_id, **kw)
    e["replyToken"] = reply_token or uuid.uuid4().hex
    e["message"] = {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": body, "quoteToken": uuid.uuid4().hex}
    return e


def sticker(user_id: str, **kw) -> dict:
    e = _base("message", user_id, **kw)
    e["replyToken"] = uuid.uuid4().hex
    e["message"] = {"id": str(uuid.uuid4().int)[:18], "type": "sticker", "packageId": "446", "stickerId": "1988"}
    return e


def postback(user_id: str, data: str, **kw) -> dict:
    e = _base("postback", user_id, **kw)
    e["replyToken"] = uuid.uuid4().hex
    e["postback"] = {"data": data}
    return e


def body(*events: dict, destination: str = "U" + "f" * 32) -> bytes:
    return json.dumps({"destination": destination, "events": list(events)}, ensure_ascii=False).encode("utf-8")


def headers(secret: str, raw: bytes) -> dict:
    return {"content-type": "application/json; charset=utf-8", "x-line-signature": signature(secret, raw)}
