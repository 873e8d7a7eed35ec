"""Marketplace orders (SPEC section 6): import a feed, award points, claw them back.

An order row is keyed by (store, channel, order id). Its ``state`` says what
the points side has done with it:

- ``new``: imported, not judged yet (the next sync will); an order paid while
  the service was off, synced while it is still off, waits here (``state_reason``
  says why) until the first sync after the service is on again;
- ``awarded``: points were given (``points_awarded``; a partial refund has
  clawed back ``points_clawed`` of them);
- ``not_eligible``: paid while the store's CRM service was not active; earns
  nothing (``state_reason`` says why);
- ``reversed``: cancelled or fully refunded; whatever it earned was taken back
  (or it was reversed before it earned anything).

Points are given once per order: the ledger entry carries the idempotency key
``('order', '<channel>:<order id>')``; each clawback step the key
``('clawback', '<channel>:<order id>:<cumulative points>')``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col

from crm_cli.db import dialect
from crm_cli.db.models import LedgerEntry, MarketplaceOrder, Member, Store
from crm_cli.domain import billing as rules
from crm_cli.domain.errors import InvalidInput, NotFound
from crm_cli.domain.orders_feed import (
    CHANNELS,
    RowError,
    clawback_points,
    points_for_amount,
)
from crm_cli.domain.redact import is_anon_id
from crm_cli.domain.timeutil import BKK

STATES = ("new", "awarded", "not_eligible", "reversed")
CHUNK = 500


class FeedRejected(InvalidInput):
    """The feed has errors; nothing was written. ``errors`` lists every one."""

    def __init__(self, message: str, errors: list[RowError]) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    channel: str
    file: str
    rows: int
    new: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class SyncResult:
    store: str
    as_of: datetime
    awarded: int  # orders that earned points in this run
    points_awarded: int
    not_eligible: int
    reversed: int  # orders reversed in this run (cancelled/refunded)
    points_clawed: int
    debt: int  # points that could not be taken back (recorded as debt)
    skipped: str | None = None  # why the store was not synced
    waiting: int = 0  # orders left `new`: paid while the service was off, and it is still off
    service: str | None = None  # why the service is off at as-of (None: it is on)

    @property
    def summary(self) -> str:
        if self.skipped:
            return f"{self.store}: skipped ({self.skipped})"
        off = f" (service not active: {self.service})" if self.service else ""
        return (
            f"{self.store}: {self.awarded} orders awarded {self.points_awarded} points, "
            f"{self.not_eligible} not eligible, {self.points_clawed} points clawed back"
            + (f" ({self.debt} recorded as debt)" if self.debt else "")
            + (f", {self.waiting} waiting" if self.waiting else "")
            + off
        )


@dataclass(frozen=True)
class OrderInfo:
    channel: str
    order_id: str
    phone: str
    paid_at: datetime
    amount: Decimal
    status: str
    refund_amount: Decimal | None
    state: str
    points_awarded: int
    points_clawed: int
    state_reason: str | None


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------- import


def _normalize_phones(orders, errors: list[RowError]) -> dict[str, str]:
    from crm_cli.domain.phone import InvalidPhone, normalize_phone

    out: dict[str, str] = {}
    for o in orders:
        try:
            out[o.order_id] = normalize_phone(o.phone_raw)
        except InvalidPhone as exc:
            errors.append(RowError(o.row, "phone", o.phone_raw, f"invalid phone number: {exc}"))
    return out


def _change_error(o, old, phone: str) -> str | None:
    """Why a stored order cannot take the feed's new content (None: it can)."""
    if old.state not in ("awarded", "reversed"):
        return None  # no points moved yet: the feed's latest content wins
    if old.amount != o.amount or old.phone != phone or old.paid_at != o.paid_at:
        return (
            f"order {o.order_id} has already been synced (state {old.state}); only its status and "
            "refund_amount may change, not amount, phone or paid_at"
        )
    if old.status == "cancelled" and o.status != "cancelled":
        return f"order {o.order_id} was cancelled; a cancelled order cannot become {o.status}"
    if old.status == "refunded" and o.status == "paid":
        return f"order {o.order_id} was refunded; a refunded order cannot become paid again"
    if old.status == "refunded" and o.status == "refunded" and o.refund_amount < (old.refund_amount or o.amount):
        return (
            f"refund_amount {o.refund_amount} is less than the {old.refund_amount} already refunded; "
            "refund_amount is the total refunded so far and can only grow"
        )
    return None


def import_orders(session, *, store_id: int, channel: str, path: Path, now: datetime) -> ImportResult:
    """Store a feed's orders (all or nothing). Re-importing the same feed changes nothing."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel '{channel}': use one of {', '.join(CHANNELS)}")
    from crm_cli.fileio.order_feed import read_order_feed

    try:
        orders, errors = read_order_feed(path)
    except ValueError as exc:  # neither .csv nor .json
        raise InvalidInput(str(exc)) from None
    except FileNotFoundError:
        raise InvalidInput(f"file {path} not found") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    phones = _normalize_phones(orders, errors)

    t = MarketplaceOrder.__table__
    existing: dict[str, Any] = {}
    ids = [o.order_id for o in orders]
    for part in _chunks(ids):
        for row in session.execute(
            sa_select(t).where(t.c.store_id == store_id, t.c.channel == channel, t.c.order_id.in_(part))
        ).all():
            existing[row.order_id] = row

    inserts, updates, unchanged = [], [], 0
    for o in orders:
        if o.order_id not in phones:
            continue
        phone = phones[o.order_id]
        old = existing.get(o.order_id)
        if old is not None and is_anon_id(old.phone):
            phone = old.phone  # the buyer was erased: the feed's number is not stored again
        values = dict(phone=phone, paid_at=o.paid_at, amount=o.amount, status=o.status, refund_amount=o.refund_amount)
        if old is None:
            inserts.append(dict(store_id=store_id, channel=channel, order_id=o.order_id, state="new",
                                points_awarded=0, points_clawed=0, imported_at=now, updated_at=now, **values))
            continue
        same = (old.phone, old.paid_at, old.amount, old.status, old.refund_amount) == (
            phone, o.paid_at, o.amount, o.status, o.refund_amount)
        if same:
            unchanged += 1
            continue
        problem = _change_error(o, old, phone)
        if problem:
            errors.append(RowError(o.row, "status", o.status, problem))
            continue
        updates.append(dict(b_id=old.id, updated_at=now, **values))

    if errors:
        errors.sort(key=lambda e: e.row)
        raise FeedRejected(
            f"{path.name}: {len(errors)} problem{'s' if len(errors) != 1 else ''} in the feed; nothing was imported "
            f"(first: {errors[0]})",
            errors,
        )
    for part in _chunks(inserts):
        session.execute(t.insert(), part)
    if updates:
        stmt = t.update().where(t.c.id == bindparam("b_id")).values(
            phone=bindparam("phone"), paid_at=bindparam("paid_at"), amount=bindparam("amount"),
            status=bindparam("status"), refund_amount=bindparam("refund_amount"), updated_at=bindparam("updated_at"),
        )
        for part in _chunks(updates):
            session.execute(stmt, part)
    session.flush()
    return ImportResult(channel=channel, file=str(path), rows=len(orders), new=len(inserts), updated=len(updates),
                        unchanged=unchanged)


# ---------------------------------------------------------------- sync


def forget_buyer(session, *, store_id: int, phone: str, anon_id: str) -> None:
    """PDPA erasure of a buyer: the store's orders from ``phone`` keep the member's
    anonymous id instead (a later refund still claws back from that account; a feed that
    sends the order again does not bring the number back)."""
    session.execute(update(MarketplaceOrder).where(col(MarketplaceOrder.store_id) == store_id,
                                                   col(MarketplaceOrder.phone) == phone).values(phone=anon_id))


def _accounts(session, store_id: int, phones: set[str], now: datetime) -> dict[str, int]:
    """member id per phone; phone-only accounts are created (in batches) for new buyers.
    An erased buyer's orders name the member's anonymous id, found as such and never created."""
    m = Member.__table__
    found: dict[str, int] = {}
    erased = {p for p in phones if is_anon_id(p)}
    phones = phones - erased

    def load(batch, column=m.c.phone):
        for part in _chunks(sorted(batch)):
            for pid, ph in session.execute(
                sa_select(m.c.id, column).where(m.c.store_id == store_id, column.in_(part))
            ).all():
                found[ph] = pid

    load(erased, m.c.anon_id)
    load(phones)
    missing = sorted(phones - found.keys())
    if missing:
        rows = [dict(store_id=store_id, phone=p, source="points", created_at=now) for p in missing]
        stmt = dialect.insert_ignore(session, m, constraint="uq_member_store_phone")
        for part in _chunks(rows):
            session.execute(stmt, part)
        load(set(missing))
    return found


def _reason(text: str) -> str:
    return text[:300]


WAITING_SYNC = "waiting for the next order sync (daily at 19:00 Bangkok)"


def sync_store(session, *, store_id: int, as_of: datetime, actor: str | None = None) -> SyncResult:
    """Award points for the store's new orders paid up to ``as_of`` and claw back reversed ones.

    Each order is judged at its payment time against the service timeline (the
    subscription events and the suspensions for unpaid invoices), whenever it is
    synced. While the service is off at ``as_of`` (cancelled and ended, or
    suspended for non-payment), orders paid while it was on are still awarded
    (until the store is purged); those paid while it was off wait, ``new``, for
    the first run after it is on again (where the 18:00 rule on the 1st applies).
    """
    from crm_cli.services import ledger, tiers
    from crm_cli.services.billing import invoice_facts, load_events
    from crm_cli.services.common import lock_member

    store = session.get(Store, store_id)
    if store is None:
        raise NotFound("store not found")

    def skipped(why: str) -> SyncResult:
        return SyncResult(store.slug, as_of, 0, 0, 0, 0, 0, 0, skipped=why)

    if store.purged_at is not None:
        return skipped("purged")
    events = load_events(session, store_id)
    if not events:
        return skipped("no MyCustomer | CRM subscription: see `crm billing subscribe`")
    invoices = invoice_facts(session, store_id)
    service = rules.service_state(events, invoices, as_of)
    if service.state == rules.NOT_SUBSCRIBED:
        return skipped(f"MyCustomer | CRM service not active at {as_of.astimezone(BKK):%Y-%m-%d %H:%M} Bangkok")

    t = MarketplaceOrder.__table__
    new_rows = session.execute(
        sa_select(t).where(t.c.store_id == store_id, t.c.state == "new", t.c.paid_at <= as_of)
        .order_by(t.c.paid_at, t.c.id)
    ).all()
    to_claw = session.execute(
        sa_select(t).where(t.c.store_id == store_id, t.c.state == "awarded",
                           t.c.status.in_(("cancelled", "refunded")), t.c.points_clawed < t.c.points_awarded)
        .order_by(t.c.paid_at, t.c.id)
    ).all()
    members = _accounts(session, store_id, {r.phone for r in new_rows} | {r.phone for r in to_claw}, as_of)

    updates: dict[int, dict] = {}
    awarded = points_awarded = not_eligible = reversed_ = points_clawed = debt = waiting = 0
    credited_members: set[int] = set()
    claw: list[tuple] = [(r, r.points_awarded, r.points_clawed) for r in to_claw]

    for r in new_rows:
        ok, why = rules.order_eligibility(events, r.paid_at, as_of, invoices)
        full_reversal = r.status == "cancelled" or (r.status == "refunded" and r.refund_amount == r.amount)
        if not ok and not service.active:
            # still off: a resumption (or a payment) on the 1st before 18:00 may yet cover it
            note = _reason(f"waiting: {why}; judged at the first sync after the service is on again")
            if note != r.state_reason:
                updates[r.id] = dict(state="new", state_reason=note, points_awarded=0, points_clawed=0)
            waiting += 1
            continue
        if not ok:
            updates[r.id] = dict(state="not_eligible", state_reason=_reason(why), points_awarded=0, points_clawed=0)
            not_eligible += 1
            continue
        if full_reversal:
            updates[r.id] = dict(state="reversed", points_awarded=0, points_clawed=0, state_reason=_reason(
                f"{r.status} before points were awarded"))
            reversed_ += 1
            continue
        pts = points_for_amount(r.amount, store.earn_points, store.earn_per)
        reason = None if pts else f"amount {r.amount} is below the earning step of {store.earn_per} THB"
        if pts:
            member_id = members[r.phone]
            ledger.credit(
                session, store=store, member_id=member_id, kind="earn", points=pts, now=as_of, channel="order",
                reason=f"{r.channel} order {r.order_id}", spend=r.amount,
                idem=("order", f"{r.channel}:{r.order_id}"), actor=actor,
            )
            credited_members.add(member_id)
            awarded += 1
            points_awarded += pts
        updates[r.id] = dict(state="awarded", state_reason=reason, points_awarded=pts, points_clawed=0)
        if r.status == "refunded":
            claw.append((r, pts, 0))

    earn_ids: dict[str, int] = {}
    keys = [f"{r.channel}:{r.order_id}" for r, pts, done in claw if pts > done]
    for part in _chunks(keys):
        for key, eid in session.execute(
            sa_select(col(LedgerEntry.idem_key), col(LedgerEntry.id))
            .where(col(LedgerEntry.store_id) == store_id, col(LedgerEntry.idem_source) == "order", col(LedgerEntry.idem_key).in_(part))
        ).all():
            earn_ids[key] = eid

    for r, pts, done in claw:
        full = r.status == "cancelled" or r.refund_amount is None or r.refund_amount == r.amount
        target = clawback_points(pts, r.amount, None if full else r.refund_amount)
        state = "reversed" if full else "awarded"
        upd = updates.setdefault(r.id, dict(state=r.state, state_reason=r.state_reason, points_awarded=pts,
                                            points_clawed=done))
        if target > done:
            member_id = members[r.phone]
            lock_member(session, member_id)
            key = f"{r.channel}:{r.order_id}"
            posted = ledger.debit(
                session, store_id=store_id, member_id=member_id, kind="clawback", points=target - done, now=as_of,
                channel="order", reason=f"{r.channel} order {r.order_id} {r.status}",
                idem=("clawback", f"{key}:{target}"), ref_entry_id=earn_ids.get(key), actor=actor, partial=True,
            )
            if not posted.duplicate:
                points_clawed += target - done
                debt += posted.shortfall
        upd.update(points_clawed=target, state=state)
        if state == "reversed":
            upd["state_reason"] = _reason(f"{r.status}: {target} of {pts} points taken back")
            reversed_ += 1

    if updates:
        stmt = t.update().where(t.c.id == bindparam("b_id")).values(
            state=bindparam("state"), state_reason=bindparam("state_reason"),
            points_awarded=bindparam("points_awarded"), points_clawed=bindparam("points_clawed"),
            updated_at=bindparam("updated_at"),
        )
        rows = [dict(b_id=i, updated_at=as_of, **u) for i, u in updates.items()]
        for part in _chunks(rows):
            session.execute(stmt, part)
    for member_id in sorted(credited_members):
        tiers.lift_on_earn(session, store=store, member_id=member_id, now=as_of)
    session.flush()
    return SyncResult(store.slug, as_of, awarded, points_awarded, not_eligible, reversed_, points_clawed, debt,
                      waiting=waiting, service=None if service.active else service.reason)


def stores_with_pending_orders(session, *, as_of: datetime) -> list[int]:
    """Stores (not purged) with orders to judge or to claw back; whether the service is on is judged per order."""
    t = MarketplaceOrder.__table__
    s = Store.__table__
    pending = (t.c.state == "new") & (t.c.paid_at <= as_of) | (
        (t.c.state == "awarded") & t.c.status.in_(("cancelled", "refunded")) & (t.c.points_clawed < t.c.points_awarded)
    )
    q = (
        sa_select(t.c.store_id)
        .join(s, s.c.id == t.c.store_id)
        .where(pending, s.c.purged_at.is_(None))
        .group_by(t.c.store_id)
        .order_by(t.c.store_id)
    )
    return [r[0] for r in session.execute(q).all()]


# ---------------------------------------------------------------- listing


def list_orders(session, *, store_id: int, state: str | None = None, limit: int = 1000) -> list[OrderInfo]:
    if state is not None and state not in STATES:
        raise InvalidInput(f"unknown order state '{state}': use one of {', '.join(STATES)}")
    t = MarketplaceOrder.__table__
    q = sa_select(t).where(t.c.store_id == store_id)
    if state:
        q = q.where(t.c.state == state)
    q = q.order_by(t.c.paid_at, t.c.id).limit(limit)
    return [
        OrderInfo(r.channel, r.order_id, r.phone, r.paid_at, r.amount, r.status, r.refund_amount, r.state,
                  r.points_awarded, r.points_clawed,
                  r.state_reason or (WAITING_SYNC if r.state == "new" else None))
        for r in session.execute(q).all()
    ]


def count_orders(session, *, store_id: int) -> dict[str, int]:
    t = MarketplaceOrder.__table__
    rows = session.execute(
        sa_select(t.c.state, func.count()).where(t.c.store_id == store_id).group_by(t.c.state)
    ).all()
    return {state: n for state, n in rows}
