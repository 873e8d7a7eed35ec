"""Broadcast campaigns: messages to a segment (or everyone) through the Messaging API.

A campaign is a draft until sent, or scheduled for a moment (``maintenance run`` sends
it when due). Sending happens in three steps, each its own committed transaction:

1. *prepare* (once): the segment is evaluated, blocked followers and people without LINE
   are skipped, the monthly quota is checked, and every request is written as a
   ``campaign_batch`` row with its request body and a fresh ``X-Line-Retry-Key``:
   multicast to at most 500 userIds when the messages are the same for everybody, one
   push per person when they are personalized. Nothing has been sent yet.
2. *claim* a batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite):
   it becomes ``sending`` and is this sender's alone.
3. *send* it with its stored retry key, then mark it ``accepted`` (a 409 from LINE says
   the key was already accepted: also ``accepted``). A 5xx or a timeout the client could
   not ride out puts the batch back to ``pending`` with the same key and stops the run;
   the next ``campaign send`` (or ``maintenance run``) resumes with the batches left.

So a crash at any moment never sends a batch twice: the key was committed before the
request, and every retry carries it. Two senders on one database split the batches.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, func, insert, or_, select, update
from sqlmodel import SQLModel, col

from crm_cli.db import dialect
from crm_cli.db.models import Campaign, CampaignBatch, PromoPool, Segment
from crm_cli.domain.errors import Conflict, InvalidInput
from crm_cli.domain.segments import SegmentSpec
from crm_cli.domain.timeutil import bkk_date
from crm_cli.services import named
from crm_cli.services.autoreplies import https_url, text_message  # noqa: F401 (campaigns.text_message builds a campaign message)

MAX_MESSAGES = 5
MULTICAST_MAX = 500
FIELDS = ("display_name", "points", "tier", "promo_code")
PLACEHOLDER = re.compile(r"\{(" + "|".join(FIELDS) + r")\}")
ACTIVE = ("draft", "scheduled", "sending")
#: a batch claimed longer ago than this by a sender that has not reported back is taken
#: over (its retry key makes the repeat harmless)
CLAIM_LEASE = timedelta(minutes=5)
#: batches a sender claims at once, and requests it has in flight at once (LINE allows
#: 2,000 push and 200 multicast requests a second per channel)
CLAIM_GROUP = 64
PARALLEL = 4
NAME_MAX = 120


@dataclass(frozen=True)
class Recipient:
    user_id: str
    member_id: int | None
    follower_id: int | None
    display_name: str | None
    points: int
    tier: str | None


# ---------------------------------------------------------------- messages


def image_message(url: str, preview: str | None) -> dict:
    if not preview:
        raise InvalidInput("--image needs --preview URL (the preview image LINE shows first)")
    return {"type": "image", "originalContentUrl": https_url(url, "--image"), "previewImageUrl": https_url(preview, "--preview")}


def video_message(url: str, preview: str | None) -> dict:
    if not preview:
        raise InvalidInput("--video needs --preview URL (the preview image LINE shows first)")
    return {"type": "video", "originalContentUrl": https_url(url, "--video"), "previewImageUrl": https_url(preview, "--preview")}


def imagemap_message(raw: str) -> dict:
    from crm_cli.services.autoreplies import imagemap_message as check

    return check(raw)


def flex_message(raw: str, alt_text: str | None = None) -> dict:
    """A flex message from JSON: the whole message object, or just its ``contents``
    (a bubble or carousel) with ``alt_text``."""
    try:
        m = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the flex file is not JSON: {exc}") from None
    if not isinstance(m, dict):
        raise InvalidInput("the flex file must hold one JSON object")
    if m.get("type") in ("bubble", "carousel"):
        m = {"type": "flex", "altText": alt_text or "", "contents": m}
    if m.get("type") != "flex":
        raise InvalidInput("the flex file's 'type' must be 'flex' (or a 'bubble' / 'carousel' container)")
    if alt_text:
        m["altText"] = alt_text
    alt = m.get("altText")
    if not isinstance(alt, str) or not alt.strip() or len(alt) > 1500:
        raise InvalidInput("a flex message needs altText of 1 to 1,500 characters (--alt-text)")
    contents = m.get("contents")
    if not isinstance(contents, dict) or contents.get("type") not in ("bubble", "carousel"):
        raise InvalidInput("flex contents must be a 'bubble' or a 'carousel'")
    if len(json.dumps(contents, ensure_ascii=False).encode("utf-8")) > 30_000:
        raise InvalidInput("flex contents are larger than LINE's 30 KB")
    return m


def check_messages(messages: list[dict], *, has_promo: bool) -> bool:
    """Validate the list; returns whether it is personalized (holds a placeholder)."""
    if not messages:
        raise InvalidInput("a campaign needs a message: --text, --image, --video, --imagemap or --flex")
    if len(messages) > MAX_MESSAGES:
        raise InvalidInput(f"a campaign sends at most {MAX_MESSAGES} messages, not {len(messages)}")
    used = set()
    for m in messages:
        if m.get("type") == "text":
            used |= set(PLACEHOLDER.findall(m["text"]))
    if "promo_code" in used and not has_promo:
        raise InvalidInput("{promo_code} needs --promo POOL: the pool the codes come from")
    return bool(used)


def personalize(messages: list[dict], values: dict[str, str]) -> list[dict]:
    """The messages with each placeholder replaced; built as objects (JSON-encoded later),
    so whatever a name holds, the request stays valid JSON."""
    out = []
    for m in messages:
        if m.get("type") == "text":
            t = PLACEHOLDER.sub(lambda mo: values.get(mo.group(1), ""), m["text"])
            m = {**m, "text": (t.strip() or "-")[:5000]}
        out.append(m)
    return out


def summarize(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        t = m.get("type")
        if t == "text":
            s = m["text"].replace("\n", " ")
            parts.append(s if len(s) <= 40 else s[:37] + "...")
        elif t in ("flex", "imagemap"):
            parts.append(f"{t}: {m.get('altText', '')}")
        else:
            parts.append(t or "?")
    return " | ".join(parts)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class CampaignRow:
    name: str
    status: str
    state: str  # active | inactive
    audience: str
    messages: str
    personalized: bool
    scheduled_at: datetime | None
    recipients: int
    accepted: int
    failed: int
    pending: int
    created_at: datetime


@dataclass(frozen=True)
class CampaignDetail:
    name: str
    status: str
    state: str
    audience: str
    promo: str | None
    personalized: bool
    messages: list[dict]
    scheduled_at: datetime | None
    recipients: int
    skipped: int
    requests: int
    accepted: int
    failed: int
    pending: int
    note: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancelled_at: datetime | None


def _name(raw: str) -> str:
    return named.clean(raw, "campaign", NAME_MAX)


def get(session, store_id: int, name: str) -> Campaign:
    return named.get(session, Campaign, store_id, _name(name), missing=f"campaign '{name}' not found: see `crm campaign list`")


def _id(c: Campaign) -> int:
    assert c.id is not None  # a row read from the database
    return c.id


def _state(status: str) -> str:
    return "active" if status in ("scheduled", "sending") else "inactive" if status in ("sent", "cancelled") else "draft"


def _audience(session, c: Campaign) -> str:
    if c.segment_id is None:
        return "everyone" if not (c.note or "").startswith("segment removed") else "(segment removed)"
    return "segment " + (session.get(Segment, c.segment_id).name)


def _batch_counts(session, ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not ids:
        return out
    rows = session.execute(select(col(CampaignBatch.campaign_id), col(CampaignBatch.status), func.count(), func.sum(col(CampaignBatch.size)))
                           .where(col(CampaignBatch.campaign_id).in_(ids))
                           .group_by(col(CampaignBatch.campaign_id), col(CampaignBatch.status))).all()
    for cid, status, n, people in rows:
        d = out.setdefault(cid, {})
        d[status] = int(people or 0)
        d[status + "_requests"] = int(n)
    return out


def _row(session, c: Campaign, counts: dict) -> CampaignRow:
    k = counts.get(c.id, {})
    return CampaignRow(name=c.name, status=c.status, state=_state(c.status), audience=_audience(session, c),
                       messages=summarize(json.loads(c.messages)), personalized=c.personalized,
                       scheduled_at=c.scheduled_at, recipients=c.recipients, accepted=k.get("accepted", 0),
                       failed=k.get("failed", 0), pending=k.get("pending", 0) + k.get("sending", 0), created_at=c.created_at)


def detail(session, c: Campaign) -> CampaignDetail:
    cid = _id(c)
    k = _batch_counts(session, [cid]).get(cid, {})
    pool = session.get(PromoPool, c.promo_pool_id).name if c.promo_pool_id else None
    requests = sum(v for key, v in k.items() if key.endswith("_requests"))
    return CampaignDetail(
        name=c.name, status=c.status, state=_state(c.status), audience=_audience(session, c), promo=pool,
        personalized=c.personalized, messages=json.loads(c.messages), scheduled_at=c.scheduled_at,
        recipients=c.recipients, skipped=c.skipped, requests=requests, accepted=k.get("accepted", 0),
        failed=k.get("failed", 0), pending=k.get("pending", 0) + k.get("sending", 0), note=c.note,
        created_at=c.created_at, started_at=c.started_at, finished_at=c.finished_at, cancelled_at=c.cancelled_at)


# ---------------------------------------------------------------- create, copy, cancel, list


def create(session, *, store_id: int, name: str, segment: str | None, everyone: bool, messages: list[dict],
           promo: str | None, at: datetime | None, now: datetime) -> CampaignDetail:
    from crm_cli.services import segments

    n = _name(name)
    if bool(segment) == bool(everyone):
        raise InvalidInput("give exactly one of --segment NAME or --all")
    seg_id = segments.get(session, store_id, segment).id if segment else None
    pool_id = None
    if promo:
        from crm_cli.services.promos import get_pool

        pool_id = get_pool(session, store_id, promo).id
    personalized = check_messages(messages, has_promo=pool_id is not None)
    if at is not None and at <= now:
        raise InvalidInput("--at must be in the future (Bangkok time); leave it out to keep a draft")
    if session.execute(select(col(Campaign.id)).where(col(Campaign.store_id) == store_id, col(Campaign.name) == n)).first():
        raise Conflict(f"campaign '{n}' already exists: copy it with `crm campaign copy {n} NEW`")
    c = Campaign(store_id=store_id, name=n, segment_id=seg_id, messages=json.dumps(messages, ensure_ascii=False),
                 personalized=personalized, promo_pool_id=pool_id, status="scheduled" if at else "draft",
                 scheduled_at=at, created_at=now)
    session.add(c)
    session.flush()
    return detail(session, c)


def copy(session, *, store_id: int, name: str, new: str, at: datetime | None, now: datetime) -> CampaignDetail:
    src = get(session, store_id, name)
    n = _name(new)
    if session.execute(select(col(Campaign.id)).where(col(Campaign.store_id) == store_id, col(Campaign.name) == n)).first():
        raise Conflict(f"campaign '{n}' already exists")
    if at is not None and at <= now:
        raise InvalidInput("--at must be in the future (Bangkok time)")
    c = Campaign(store_id=store_id, name=n, segment_id=src.segment_id, messages=src.messages, personalized=src.personalized,
                 promo_pool_id=src.promo_pool_id, status="scheduled" if at else "draft", scheduled_at=at, created_at=now)
    session.add(c)
    session.flush()
    return detail(session, c)


def cancel(session, *, store_id: int, name: str, now: datetime) -> CampaignDetail:
    c = _locked(session, _id(get(session, store_id, name)))
    if c.status in ("sent", "cancelled"):
        raise Conflict(f"campaign '{c.name}' is already {c.status}")
    session.execute(update(CampaignBatch).where(col(CampaignBatch.campaign_id) == c.id, col(CampaignBatch.status) == "pending")
                    .values(status="cancelled"))
    c.status, c.cancelled_at = "cancelled", now
    session.add(c)
    session.flush()
    return detail(session, c)


def list_campaigns(session, *, store_id: int, state: str | None = None) -> list[CampaignRow]:
    if state not in (None, "active", "inactive", "draft"):
        raise InvalidInput("--state must be active, inactive or draft")
    rows = session.execute(select(Campaign).where(col(Campaign.store_id) == store_id)
                           .order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())).scalars().all()
    counts = _batch_counts(session, [c.id for c in rows])
    out = [_row(session, c, counts) for c in rows]
    order = {"active": 0, "draft": 1, "inactive": 2}
    out.sort(key=lambda r: order[r.state])
    return [r for r in out if state is None or r.state == state]


def show(session, *, store_id: int, name: str) -> CampaignDetail:
    return detail(session, get(session, store_id, name))


@dataclass(frozen=True)
class StatsDay:
    day: str
    requests: int
    accepted: int
    failed: int


@dataclass(frozen=True)
class CampaignStats:
    name: str
    status: str
    recipients: int
    skipped: int
    accepted: int
    failed: int
    pending: int
    by_day: list[StatsDay]
    insight: list[dict] = field(default_factory=list)


def stats(session, *, store_id: int, name: str) -> CampaignStats:
    c = get(session, store_id, name)
    d = detail(session, c)
    days: dict[str, list[int]] = {}
    for sent_at, status, size in session.execute(
            select(col(CampaignBatch.sent_at), col(CampaignBatch.status), col(CampaignBatch.size))
            .where(col(CampaignBatch.campaign_id) == c.id, col(CampaignBatch.status).in_(("accepted", "failed")))):
        key = bkk_date(sent_at).isoformat() if sent_at else "-"
        v = days.setdefault(key, [0, 0, 0])
        v[0] += 1
        v[1 if status == "accepted" else 2] += size
    by_day = [StatsDay(day=k, requests=v[0], accepted=v[1], failed=v[2]) for k, v in sorted(days.items())]
    return CampaignStats(name=c.name, status=c.status, recipients=c.recipients, skipped=c.skipped, accepted=d.accepted,
                         failed=d.failed, pending=d.pending, by_day=by_day)


def request_ids(session, *, store_id: int, name: str) -> list[str]:
    c = get(session, store_id, name)
    return [r for r in session.execute(select(col(CampaignBatch.request_id)).where(
        col(CampaignBatch.campaign_id) == c.id, col(CampaignBatch.status) == "accepted", col(CampaignBatch.kind) == "multicast",
        col(CampaignBatch.request_id).is_not(None)).order_by(col(CampaignBatch.seq))).scalars()]


# ---------------------------------------------------------------- preparing the batches


def _locked(session, campaign_id: int) -> Campaign:
    q = dialect.for_update(select(Campaign).where(col(Campaign.id) == campaign_id), session)
    c = session.execute(q.execution_options(populate_existing=True)).scalars().first()
    assert c is not None
    return c


def recipients(session, *, store_id: int, spec: SegmentSpec, now: datetime, personal: bool) -> tuple[list[Recipient], int]:
    """The reachable people (following on LINE) in order, and how many were skipped."""
    from crm_cli.services import segments

    sub = segments.audience_select(session, store_id=store_id, spec=spec, now=now, with_points=personal).subquery("aud")
    reach = and_(sub.c.user_id.is_not(None), sub.c.status.is_not(None), sub.c.status != "blocked")
    total = session.execute(select(func.count()).select_from(sub)).scalar() or 0
    rows = session.execute(select(sub.c.user_id, sub.c.member_id, sub.c.follower_id, sub.c.display_name, sub.c.points,
                                  sub.c.tier).where(reach).order_by(sub.c.member_id.is_(None), sub.c.member_id, sub.c.follower_id))
    seen: set[str] = set()
    out = []
    for r in rows:
        if r.user_id in seen:
            continue
        seen.add(r.user_id)
        out.append(Recipient(r.user_id, r.member_id, r.follower_id, r.display_name, int(r.points or 0), r.tier))
    return out, int(total) - len(out)


@dataclass(frozen=True)
class Quota:
    limited: bool
    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if not self.limited else max(0, (self.limit or 0) - self.used)


def read_quota(api) -> Quota:
    q = api.quota()
    used = int(api.quota_consumption().get("totalUsage") or 0)
    if q.get("type") == "limited":
        return Quota(True, int(q.get("value") or 0), used)
    return Quota(False, None, used)


@dataclass(frozen=True)
class Prepared:
    campaign: str
    recipients: int
    skipped: int
    requests: int
    payloads: list[dict]


def prepare(session, *, store_id: int, c: Campaign, now: datetime, quota: Quota | None, partial: bool,
            keep_payloads: bool = False) -> Prepared:
    """Evaluate the audience and write every request (body + retry key) as a pending batch."""
    from crm_cli.services import segments

    spec = segments.spec_of(session.get(Segment, c.segment_id)) if c.segment_id else SegmentSpec()
    messages = json.loads(c.messages)
    people, skipped = recipients(session, store_id=store_id, spec=spec, now=now, personal=c.personalized)
    note = []
    if skipped:
        note.append(f"{skipped} skipped (blocked, not following or no LINE account)")
    if quota is not None and quota.remaining is not None and len(people) > quota.remaining:
        if not partial or quota.remaining == 0:
            raise Conflict(f"campaign '{c.name}' needs {len(people):,} messages but only {quota.remaining:,} of this "
                           f"month's {quota.limit:,} are left: add --partial to send to the first {quota.remaining:,}")
        cut = len(people) - quota.remaining
        note.append(f"{cut} left out by the monthly quota (--partial)")
        skipped += cut
        people = people[:quota.remaining]
    if not people:
        raise Conflict(f"campaign '{c.name}' reaches nobody: no one in its audience follows the LINE account")
    codes: dict[str, str] = {}
    if c.promo_pool_id:
        from crm_cli.services.promos import issue_for

        codes = issue_for(session, pool_id=c.promo_pool_id, people=people, now=now)
    batches: list[dict] = []
    if c.personalized:
        for p in people:
            values = {"display_name": p.display_name or "", "points": f"{p.points:,}", "tier": p.tier or "",
                      "promo_code": codes.get(p.user_id, "")}
            body = {"to": p.user_id, "messages": personalize(messages, values)}
            batches.append({"kind": "push", "size": 1, "body": body})
    else:
        for i in range(0, len(people), MULTICAST_MAX):
            body = {"to": [p.user_id for p in people[i:i + MULTICAST_MAX]], "messages": messages}
            batches.append({"kind": "multicast", "size": len(body["to"]), "body": body})
    rows = []
    for seq, b in enumerate(batches, 1):
        rows.append(dict(campaign_id=c.id, seq=seq, kind=b["kind"], retry_key=str(uuid.uuid4()), status="pending",
                         size=b["size"], body=json.dumps(b["body"], ensure_ascii=False, separators=(",", ":")), attempts=0))
    for i in range(0, len(rows), 2000):
        session.execute(insert(CampaignBatch), rows[i:i + 2000])
    c.status, c.started_at, c.recipients, c.skipped = "sending", now, len(people), skipped
    c.partial = partial
    c.note = "; ".join(note) or None
    session.add(c)
    session.flush()
    payloads = []
    if keep_payloads:
        path = {"push": "/v2/bot/message/push", "multicast": "/v2/bot/message/multicast"}
        payloads = [{"seq": r["seq"], "method": "POST", "path": path[r["kind"]], "retry_key": r["retry_key"],
                     "body": json.loads(r["body"])} for r in rows]
    return Prepared(campaign=c.name, recipients=len(people), skipped=skipped, requests=len(rows), payloads=payloads)


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendResult:
    campaign: str
    status: str
    recipients: int
    skipped: int
    requests_sent: int
    accepted: int
    failed: int
    pending: int
    already_accepted: int
    note: str | None


@dataclass(frozen=True)
class _Claim:
    id: int
    kind: str
    retry_key: str
    body: str
    size: int


def _claim(engine, campaign_id: int, *, now: datetime, takeover: bool, limit: int) -> list[_Claim]:
    """Take up to ``limit`` batches for this sender, in one short committed transaction."""
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(engine, write=True) as session:
        stale = now - (timedelta(0) if takeover else CLAIM_LEASE)
        q = (select(col(CampaignBatch.id), col(CampaignBatch.kind), col(CampaignBatch.retry_key), col(CampaignBatch.body), col(CampaignBatch.size))
             .where(col(CampaignBatch.campaign_id) == campaign_id,
                    or_(col(CampaignBatch.status) == "pending",
                        and_(col(CampaignBatch.status) == "sending", col(CampaignBatch.claimed_at) <= stale)))
             .order_by(col(CampaignBatch.seq)).limit(limit))
        q = dialect.skip_locked(q, session)
        rows = session.execute(q).all()
        if rows:
            session.execute(update(CampaignBatch).where(col(CampaignBatch.id).in_([r.id for r in rows]))
                            .values(status="sending", claimed_at=now, attempts=col(CampaignBatch.attempts) + 1))
        return [_Claim(r.id, r.kind, r.retry_key, r.body, r.size) for r in rows]


def _record(engine, outcomes: list[tuple[int, dict]]) -> None:
    from crm_cli.db.uow import unit_of_work

    if not outcomes:
        return
    from sqlalchemy import bindparam

    # one UPDATE per set of columns, executed for many rows (a statement built per row cost
    # more CPU than the request it records)
    groups: dict[tuple[str, ...], list[dict]] = {}
    for batch_id, values in outcomes:
        groups.setdefault(tuple(sorted(values)), []).append({"b_id": batch_id, **{f"b_{k}": v for k, v in values.items()}})
    t = SQLModel.metadata.tables[CampaignBatch.__tablename__]
    with unit_of_work(engine, write=True) as session:
        for keys, rows in groups.items():
            stmt = update(t).where(t.c.id == bindparam("b_id")).values({k: bindparam(f"b_{k}") for k in keys})
            session.execute(stmt, rows)


def _close_if_done(engine, campaign_id: int, now: datetime) -> str:
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(engine, write=True) as session:
        c = _locked(session, campaign_id)
        left = session.execute(select(func.count()).select_from(CampaignBatch).where(
            col(CampaignBatch.campaign_id) == campaign_id, col(CampaignBatch.status).in_(("pending", "sending")))).scalar()
        if c.status == "sending" and not left:
            c.status, c.finished_at = "sent", now
            session.add(c)
        return c.status


def send(engine, *, store_id: int, name: str, api, clock: Callable[[], datetime], partial: bool = False,
         takeover: bool = False, max_batches: int | None = None, progress=None) -> SendResult:
    """Send a campaign (prepare it first if needed), batch by batch; resumable at any point."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.line.client import LineApiError

    with unit_of_work(engine, write=False) as session:
        c = get(session, store_id, name)
        cid, status, personalized = _id(c), c.status, c.personalized
    if status in ("sent", "cancelled"):
        raise Conflict(f"campaign '{name}' is already {status}")
    quota = read_quota(api) if status in ("draft", "scheduled") else None
    with unit_of_work(engine, write=True) as session:
        c = _locked(session, cid)
        if c.status in ("draft", "scheduled"):
            prepare(session, store_id=store_id, c=c, now=clock(), quota=quota, partial=partial)
        elif c.status != "sending":
            raise Conflict(f"campaign '{c.name}' is already {c.status}")
    sent = again = 0
    error: LineApiError | None = None

    def one(claim: _Claim):
        try:  # the stored body goes out as stored (its messages were checked when prepared)
            return claim, api.send_stored(claim.kind, claim.body, retry_key=claim.retry_key), None
        except LineApiError as exc:
            return claim, None, exc

    from concurrent.futures import ThreadPoolExecutor

    # multicasts go one at a time, each recorded at once; pushes (one person each) in groups
    group, parallel = (CLAIM_GROUP, PARALLEL) if personalized else (1, 1)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while error is None and (max_batches is None or sent < max_batches):
            claims = _claim(engine, cid, now=clock(), takeover=takeover, limit=group)
            if not claims:
                break
            outcomes = []
            for claim, res, exc in pool.map(one, claims):
                if exc is None:
                    sent += 1
                    again += int(res.already_accepted)
                    outcomes.append((claim.id, dict(status="accepted", request_id=(res.request_id or "")[:64] or None,
                                                    sent_at=clock(), error=None)))
                    if progress is not None:
                        progress.advance(claim.size)
                elif exc.status >= 500 or exc.status in (0, 429, 401):
                    # not known to be delivered: keep the key, leave it for the next run
                    outcomes.append((claim.id, dict(status="pending", error=str(exc)[:300])))
                    error = error or exc
                else:
                    outcomes.append((claim.id, dict(status="failed", error=str(exc)[:300], sent_at=clock())))
            _record(engine, outcomes)
    final = _close_if_done(engine, cid, clock())
    with unit_of_work(engine, write=False) as session:
        d = detail(session, get(session, store_id, name))
    if error is not None:
        from crm_cli.domain.errors import UpstreamError

        raise UpstreamError(f"campaign '{d.name}' stopped after {d.accepted:,} of {d.recipients:,} recipients: {error}; "
                            f"nothing is sent twice: run `crm campaign send {d.name}` again to resume")
    return SendResult(campaign=d.name, status=final, recipients=d.recipients, skipped=d.skipped, requests_sent=sent,
                      accepted=d.accepted, failed=d.failed, pending=d.pending, already_accepted=again, note=d.note)


def dry_run(session, *, store_id: int, name: str, now: datetime, quota: Quota | None, partial: bool) -> Prepared:
    """The requests a send would make (bodies and retry keys), in a transaction the caller rolls back."""
    c = get(session, store_id, name)
    if c.status != "draft" and c.status != "scheduled":
        raise Conflict(f"campaign '{c.name}' is {c.status}: only a draft or scheduled campaign can be dry-run")
    return prepare(session, store_id=store_id, c=c, now=now, quota=quota, partial=partial, keep_payloads=True)


# ---------------------------------------------------------------- due campaigns (maintenance)


def due(session, *, now: datetime, store_id: int | None = None) -> list[tuple[int, str]]:
    """(store_id, name) of scheduled campaigns whose moment has come and of those left sending."""
    q = select(col(Campaign.store_id), col(Campaign.name)).where(
        or_(and_(col(Campaign.status) == "scheduled", col(Campaign.scheduled_at) <= now), col(Campaign.status) == "sending"))
    if store_id is not None:
        q = q.where(col(Campaign.store_id) == store_id)
    return [(r[0], r[1]) for r in session.execute(q.order_by(col(Campaign.scheduled_at), col(Campaign.id))).all()]


def job_campaigns(engine, *, now: datetime, clock: Callable[[], datetime], store_id: int | None = None,
                  dry_run: bool = False) -> str:
    """Send every due campaign; a store without a LINE connection is named, not fatal."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.domain.errors import CrmError
    from crm_cli.line.client import MessagingApi
    from crm_cli.services import line_channel

    with unit_of_work(engine, write=False) as session:
        todo = due(session, now=now, store_id=store_id)
        creds: dict[int, str | None] = {}
        for sid, _ in todo:
            if sid not in creds:
                try:
                    creds[sid] = line_channel.credentials(session, store_id=sid).access_token
                except CrmError:
                    creds[sid] = None
    from crm_cli.services.maintenance import Outcome

    counts = {"campaigns_due": len(todo), "campaigns_sent": 0, "messages_accepted": 0}
    if dry_run:
        return Outcome(f"{len(todo)} campaign(s) due: " + ", ".join(n for _, n in todo) if todo else "no campaigns due", counts)
    done, failed = [], []
    for sid, name in todo:
        token = creds.get(sid)
        if not token:
            failed.append(f"{name}: the store is not connected to LINE")
            continue
        try:
            with MessagingApi(token) as api:
                r = send(engine, store_id=sid, name=name, api=api, clock=clock)
            done.append(f"{name}: {r.accepted} sent")
            counts["campaigns_sent"] += 1
            counts["messages_accepted"] += r.accepted
        except CrmError as exc:
            failed.append(f"{name}: {exc.message}")
    if failed:
        from crm_cli.services.maintenance import JobFailed

        raise JobFailed("; ".join(done + failed))
    return Outcome("; ".join(done) if done else "no campaigns due", counts)


