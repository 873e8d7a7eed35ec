"""Keyword auto-replies: a follower's text message that matches a keyword gets an instant
reply (text, image or tappable image) through the webhook's reply token.

Matching ignores case and surrounding spaces. An exact rule wins over a 'contains'
rule; among 'contains' rules the longest keyword wins, then the oldest rule. A hit is
the outgoing chat message the rule produced, so statistics need no counter of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from crm_cli.db.models import AutoreplyRule, LineMessage
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound

MATCHES = ("exact", "contains")
KINDS = ("text", "image", "imagemap")
URI_SCHEMES = ("https://", "http://", "line://", "tel:")


def _fold(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def https_url(url: str | None, what: str) -> str:
    u = (url or "").strip()
    if not u.startswith("https://") or len(u) > 2000 or any(c.isspace() for c in u):
        raise InvalidInput(f"{what} must be an https:// URL of at most 2,000 characters")
    return u


def text_message(text: str) -> dict:
    t = (text or "").strip()
    if not t or len(t) > 5000:
        raise InvalidInput("--text must be 1 to 5,000 characters")
    return {"type": "text", "text": t}


def image_message(url: str, preview: str | None = None) -> dict:
    original = https_url(url, "--image")
    return {"type": "image", "originalContentUrl": original, "previewImageUrl": https_url(preview, "--preview") if preview else original}


def json_object(raw: str, what: str, *, kind: str = "") -> dict:
    """The one JSON object an operator's file holds (``what``: the file, as the messages
    name it; ``kind``: which object, said when it is something else)."""
    try:
        m = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the {what} file is not JSON: {exc}") from None
    if not isinstance(m, dict):
        raise InvalidInput(f"the {what} file must hold one JSON object{kind}")
    return m


def imagemap_message(raw: str) -> dict:
    """Validate an imagemap message object (as the Messaging API takes it) read from JSON."""
    m = dict(json_object(raw, "imagemap"))
    m.setdefault("type", "imagemap")
    if m["type"] != "imagemap":
        raise InvalidInput("the imagemap file's 'type' must be 'imagemap'")
    https_url(m.get("baseUrl") if isinstance(m.get("baseUrl"), str) else "", "imagemap baseUrl")
    alt = m.get("altText")
    if not isinstance(alt, str) or not alt.strip() or len(alt) > 1500:
        raise InvalidInput("imagemap altText must be 1 to 1,500 characters")
    size = m.get("baseSize")
    if not isinstance(size, dict) or size.get("width") != 1040 or not isinstance(size.get("height"), int) or size["height"] < 1:
        raise InvalidInput("imagemap baseSize must be {\"width\": 1040, \"height\": N}")
    actions = m.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 50:
        raise InvalidInput("imagemap actions must be a list of 1 to 50 actions")
    for i, a in enumerate(actions, 1):
        area = a.get("area") if isinstance(a, dict) else None
        if not isinstance(area, dict) or not all(isinstance(area.get(k), int) and area[k] >= 0 for k in ("x", "y", "width", "height")):
            raise InvalidInput(f"imagemap action {i}: area needs integer x, y, width and height")
        if area["x"] + area["width"] > 1040 or area["y"] + area["height"] > size["height"]:
            raise InvalidInput(f"imagemap action {i}: the area lies outside the {1040}x{size['height']} image")
        if a.get("type") == "uri":
            link = a.get("linkUri")
            if not isinstance(link, str) or not link.startswith(URI_SCHEMES) or len(link) > 1000:
                raise InvalidInput(f"imagemap action {i}: linkUri must be an http(s), line or tel URI")
        elif a.get("type") == "message":
            if not isinstance(a.get("text"), str) or not a["text"].strip() or len(a["text"]) > 400:
                raise InvalidInput(f"imagemap action {i}: text must be 1 to 400 characters")
        else:
            raise InvalidInput(f"imagemap action {i}: type must be 'uri' or 'message'")
    return m


def _summary(kind: str, payload: dict) -> str:
    if kind == "text":
        t = payload.get("text", "")
        return t if len(t) <= 60 else t[:57] + "..."
    if kind == "image":
        return payload.get("originalContentUrl", "")
    return f"imagemap: {payload.get('altText', '')} ({len(payload.get('actions', []))} areas)"


@dataclass(frozen=True)
class RuleRow:
    id: int
    keyword: str
    match: str
    kind: str
    reply: str
    hits: int
    last_hit_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class HitDay:
    day: str
    id: int
    keyword: str
    hits: int


def add_rule(session, *, store_id: int, keyword: str, match: str, kind: str, message: dict, now: datetime) -> RuleRow:
    kw = " ".join((keyword or "").split())
    if not kw or len(kw) > 200:
        raise InvalidInput("the keyword must be 1 to 200 characters")
    if match not in MATCHES:
        raise InvalidInput(f"--match must be one of: {', '.join(MATCHES)}")
    if kind not in KINDS:
        raise InvalidInput(f"the reply kind must be one of: {', '.join(KINDS)}")
    for r in _active(session, store_id):
        if r.match == match and _fold(r.keyword) == _fold(kw):
            raise Conflict(f"an auto-reply for '{r.keyword}' ({match}) already exists (#{r.id}): remove it first")
    rule = AutoreplyRule(store_id=store_id, keyword=kw, match=match, kind=kind,
                         payload=json.dumps(message, ensure_ascii=False), created_at=now)
    session.add(rule)
    session.flush()
    return RuleRow(id=rule.id, keyword=kw, match=match, kind=kind, reply=_summary(kind, message), hits=0,
                   last_hit_at=None, created_at=now)


def _active(session, store_id: int) -> list[AutoreplyRule]:
    return list(session.exec(select(AutoreplyRule).where(AutoreplyRule.store_id == store_id,
                                                         col(AutoreplyRule.removed_at).is_(None))
                             .order_by(col(AutoreplyRule.id))).all())


def choose(rules: list[AutoreplyRule], text: str) -> AutoreplyRule | None:
    """The rule that answers ``text`` (pure: rules in, rule out)."""
    t = _fold(text)
    if not t:
        return None
    exact = [r for r in rules if r.match == "exact" and _fold(r.keyword) == t]
    if exact:
        return exact[0]
    contains = [r for r in rules if r.match == "contains" and _fold(r.keyword) in t]
    if not contains:
        return None
    return sorted(contains, key=lambda r: (-len(_fold(r.keyword)), r.id))[0]


def match_rule(session, *, store_id: int, text: str) -> AutoreplyRule | None:
    return choose(_active(session, store_id), text)


def reply_messages(rule: AutoreplyRule) -> list[dict]:
    return [json.loads(rule.payload)]


def _hits(session, store_id: int) -> dict[int, tuple[int, datetime | None]]:
    rows = session.exec(select(LineMessage.autoreply_id, func.count(), func.max(LineMessage.at))
                        .where(LineMessage.store_id == store_id, col(LineMessage.autoreply_id).is_not(None))
                        .group_by(col(LineMessage.autoreply_id))).all()
    return {rid: (int(n), last) for rid, n, last in rows}


def _row(r: AutoreplyRule, hits: dict) -> RuleRow:
    n, last = hits.get(r.id, (0, None))
    return RuleRow(id=r.id, keyword=r.keyword, match=r.match, kind=r.kind, reply=_summary(r.kind, json.loads(r.payload)),
                   hits=n, last_hit_at=last, created_at=r.created_at)


def list_rules(session, *, store_id: int) -> list[RuleRow]:
    """Active rules, most typed first."""
    hits = _hits(session, store_id)
    rows = [_row(r, hits) for r in _active(session, store_id)]
    return sorted(rows, key=lambda r: (-r.hits, r.id))


def hits_by_day(session, *, store_id: int, now: datetime, days: int = 30) -> list[HitDay]:
    """Hits per Bangkok day over the last ``days`` days, newest day first, most typed first."""
    from crm_cli.domain.timeutil import BKK

    if days < 1 or days > 3660:
        raise InvalidInput("--days must be 1 to 3,660")
    since = now - timedelta(days=days)
    rules = {r.id: r for r in session.exec(select(AutoreplyRule).where(AutoreplyRule.store_id == store_id)).all()}
    counts: dict[tuple[str, int], int] = {}
    for rid, at in session.exec(select(LineMessage.autoreply_id, LineMessage.at)
                                .where(LineMessage.store_id == store_id, col(LineMessage.autoreply_id).is_not(None),
                                       LineMessage.at >= since)).all():
        key = (at.astimezone(BKK).date().isoformat(), rid)
        counts[key] = counts.get(key, 0) + 1
    out = [HitDay(day=d, id=rid, keyword=rules[rid].keyword, hits=n) for (d, rid), n in counts.items()]
    return sorted(out, key=lambda h: (_neg_day(h.day), -h.hits, h.id))


def _neg_day(day: str) -> tuple:
    return tuple(-int(p) for p in day.split("-"))


def remove_rule(session, *, store_id: int, rule: str, now: datetime) -> RuleRow:
    """Remove by id or by keyword (its hits stay in the chat history)."""
    active = _active(session, store_id)
    found = [r for r in active if str(r.id) == rule.strip().lstrip("#")] or \
            [r for r in active if _fold(r.keyword) == _fold(rule)]
    if not found:
        raise NotFound(f"no auto-reply '{rule}': see `crm autoreply list`")
    if len(found) > 1:
        raise Conflict(f"'{rule}' names {len(found)} auto-replies (exact and contains): remove one by its id")
    r = found[0]
    row = _row(r, _hits(session, store_id))
    r.removed_at = now
    session.add(r)
    session.flush()
    return row


@dataclass(frozen=True)
class TestResult:
    text: str
    id: int
    keyword: str
    match: str
    kind: str
    reply: str


def test_text(session, *, store_id: int, text: str) -> TestResult:
    r = match_rule(session, store_id=store_id, text=text)
    if r is None:
        raise NotFound(f"no auto-reply answers '{text}'")
    return TestResult(text=text, id=r.id, keyword=r.keyword, match=r.match, kind=r.kind,
                      reply=_summary(r.kind, json.loads(r.payload)))


test_text.__test__ = False  # not a pytest test
TestResult.__test__ = False
