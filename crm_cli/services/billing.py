"""Subscription events, invoices and suspension (SPEC section 7).

The rules themselves (trial, proration, Pro, cancellation, the 18:00 rule, purge
day) are pure functions in ``crm_cli.domain.billing``; this module stores the
events, numbers and keeps invoices, and decides when a store is suspended.

Suspension (docs/billing.md): a store is suspended when its cancelled service
has ended, or when one of its invoices is unpaid after its due date. It is
lifted by ``resume`` (a new subscription period) or by paying the overdue
invoice(s).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import select

from crm_cli.db.models import Invoice, InvoiceLine, MarketplaceOrder, Store, SubscriptionEventRow
from crm_cli.domain import billing as rules
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.domain.timeutil import BKK, bkk_date, start_of_bkk_day

#: reason prefixes (the reason is shown in the "store suspended" error)
REASON_CANCELLED = "MyCustomer | CRM cancelled"
REASON_UNPAID = "invoice"


def to_conflict(exc: rules.BillingRuleError) -> Conflict:
    return Conflict(exc.message)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class EventInfo:
    kind: str
    day: date
    at: datetime | None
    recorded_at: datetime


@dataclass(frozen=True)
class StatusInfo:
    store: str
    plan: str | None
    state: str
    service_active: bool
    trial_end: date | None
    paid_from: date | None
    cancelled_on: date | None
    service_ends: date | None
    purge_after: date | None
    next_charge_month: str | None
    suspended: bool
    suspended_reason: str | None
    unpaid_invoices: list[str]
    events: list[str] = field(default_factory=list)


def _event_rows(session, store_id: int) -> list[SubscriptionEventRow]:
    return list(
        session.exec(
            select(SubscriptionEventRow)
            .where(SubscriptionEventRow.store_id == store_id)
            .order_by(SubscriptionEventRow.day, SubscriptionEventRow.id)
        ).all()
    )


def load_events(session, store_id: int) -> list[rules.SubscriptionEvent]:
    """The store's subscription events in day order (same day: recording order)."""
    return [rules.SubscriptionEvent(r.kind, r.day, r.at) for r in _event_rows(session, store_id)]


def _store(session, store_id: int) -> Store:
    from crm_cli.services.common import get_store

    return get_store(session, store_id)


def _lock_store(session, store_id: int) -> None:
    """Serialize billing work on one store (row lock on PostgreSQL; SQLite holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT id FROM store WHERE id = :id FOR UPDATE"), {"id": store_id})


def event_time(kind: str, day: date, at: datetime | None, now: datetime) -> datetime | None:
    """The moment stored with an event: given explicitly, else ``now`` when the event is today.

    Only subscribe and resume keep a moment (the service starts then; the 18:00
    rule on the 1st is judged by it). A past or future day counts from 00:00.
    """
    if kind not in (rules.SUBSCRIBE, rules.RESUME):
        return None
    if at is not None:
        return at
    return now if bkk_date(now) == day else None


def billing_status(session, *, store_id: int, now: datetime) -> StatusInfo:
    s = _store(session, store_id)
    rows = _event_rows(session, store_id)
    events = [rules.SubscriptionEvent(r.kind, r.day, r.at) for r in rows]
    today = bkk_date(now)
    try:
        st = rules.status(events, today)
        # events dated later (a scheduled cancellation) show in the cancellation fields
        ahead = rules.status(events, max([today] + [e.day for e in events]))
        active = bool(events) and rules.service_active(events, now)
    except rules.BillingRuleError as exc:  # pragma: no cover - stored events were validated
        raise to_conflict(exc) from None
    unpaid = session.exec(
        select(Invoice.number).where(Invoice.store_id == store_id, Invoice.paid_at.is_(None)).order_by(Invoice.month)
    ).all()
    return StatusInfo(
        store=s.slug, plan=st.plan, state=st.state, service_active=active, trial_end=st.trial_end,
        paid_from=st.paid_from, cancelled_on=ahead.cancelled_on, service_ends=ahead.service_ends,
        purge_after=ahead.purge_after, next_charge_month=st.next_charge_month,
        suspended=s.suspended_at is not None, suspended_reason=s.suspended_reason,
        unpaid_invoices=list(unpaid),
        events=[f"{r.day.isoformat()} {r.kind}" + (f" at {r.at.astimezone(BKK):%H:%M}" if r.at else "") for r in rows],
    )


def record_event(session, *, store_id: int, kind: str, day: date, at: datetime | None = None, now: datetime) -> StatusInfo:
    """Store one subscription event after the domain has checked the whole sequence.

    ``resume`` also lifts a suspension (see :func:`resume`).
    """
    if kind == rules.RESUME:
        return resume(session, store_id=store_id, day=day, at=at, now=now)
    _store(session, store_id)
    _lock_store(session, store_id)
    _append_event(session, store_id=store_id, kind=kind, day=day, at=event_time(kind, day, at, now), now=now)
    apply_suspension(session, store_id=store_id, now=now)
    return billing_status(session, store_id=store_id, now=now)


def _append_event(session, *, store_id: int, kind: str, day: date, at: datetime | None, now: datetime) -> None:
    events = load_events(session, store_id)
    try:
        new = rules.SubscriptionEvent(kind, day, at)
        rules.validate_events(events + [new])
    except rules.BillingRuleError as exc:
        raise to_conflict(exc) from None
    session.add(SubscriptionEventRow(store_id=store_id, kind=kind, day=day, at=at, created_at=now))
    session.flush()


def resume(session, *, store_id: int, day: date, at: datetime | None = None, now: datetime) -> StatusInfo:
    """Subscribe the CRM again and/or lift a suspension.

    - A cancellation in force: a ``resume`` event is recorded (the domain checks
      the dates, e.g. not before the 1st of the month after a Pro cancellation).
    - A suspension for an unpaid invoice: refused while an invoice is still
      overdue (pay it with ``crm billing pay``); otherwise lifted.
    """
    s = _store(session, store_id)
    _lock_store(session, store_id)
    moment = event_time(rules.RESUME, day, at, now)
    overdue = _overdue_invoices(session, store_id, bkk_date(now))
    if overdue:
        first = overdue[0]
        raise Conflict(
            f"invoice {first.number} ({first.month}, {first.total} THB) is unpaid after its due date "
            f"{first.due_date.isoformat()}: record the payment with `crm billing pay {first.number}` first"
        )
    events = load_events(session, store_id)
    try:
        cancelled = bool(events) and rules.status(events, max(day, bkk_date(now))).state == "cancelled"
    except rules.BillingRuleError as exc:  # pragma: no cover
        raise to_conflict(exc) from None
    if cancelled or s.suspended_at is None:
        # a normal resubscription (or a refusal from the rules when nothing is cancelled)
        _append_event(session, store_id=store_id, kind=rules.RESUME, day=day, at=moment, now=now)
    apply_suspension(session, store_id=store_id, now=now, resumed_at=moment or start_of_bkk_day(day))
    return billing_status(session, store_id=store_id, now=now)


# ---------------------------------------------------------------- suspension


@dataclass(frozen=True)
class SuspensionChange:
    store: str
    action: str  # suspended | resumed | unchanged
    reason: str | None


def _overdue_invoices(session, store_id: int, today: date) -> list[Invoice]:
    rows = session.exec(
        select(Invoice).where(Invoice.store_id == store_id, Invoice.paid_at.is_(None)).order_by(Invoice.month)
    ).all()
    return [r for r in rows if rules.is_overdue(r.due_date, today)]


def suspension_reason(session, store: Store, events: list[rules.SubscriptionEvent], now: datetime) -> str | None:
    """Why the store must be suspended at ``now`` (None: it must not be)."""
    today = bkk_date(now)
    if events and not rules.service_active(events, now):
        st = rules.status(events, today)
        if st.state == "cancelled" and st.service_ends is not None and st.service_ends < today:
            return f"{REASON_CANCELLED} on {st.cancelled_on.isoformat()}, service ended {st.service_ends.isoformat()}"
    overdue = _overdue_invoices(session, store.id, today)
    if overdue:
        first = overdue[0]
        return f"{REASON_UNPAID} {first.number} unpaid after its due date {first.due_date.isoformat()}"
    return None


def apply_suspension(session, *, store_id: int, now: datetime, resumed_at: datetime | None = None) -> SuspensionChange:
    """Suspend or lift the store so it matches the rules at ``now``. Idempotent."""
    s = session.get(Store, store_id)
    if s is None or s.purged_at is not None:
        return SuspensionChange(s.slug if s else "?", "unchanged", None)
    events = load_events(session, store_id)
    reason = suspension_reason(session, s, events, now)
    if reason is not None:
        if s.suspended_at is None:
            s.suspended_at, s.suspended_reason = now, reason[:300]
            session.add(s)
            session.flush()
            return SuspensionChange(s.slug, "suspended", reason)
        if s.suspended_reason != reason[:300]:
            s.suspended_reason = reason[:300]
            session.add(s)
            session.flush()
        return SuspensionChange(s.slug, "unchanged", reason)
    if s.suspended_at is not None:
        _close_unpaid_window(session, s, resumed_at or now)
        s.suspended_at, s.suspended_reason = None, None
        session.add(s)
        session.flush()
        return SuspensionChange(s.slug, "resumed", None)
    return SuspensionChange(s.slug, "unchanged", None)


def _close_unpaid_window(session, s: Store, resumed_at: datetime) -> None:
    """Orders paid while the store was suspended for an unpaid invoice earn nothing.

    (A cancellation is already in the events, so the domain judges those orders.)
    As for a resubscription, lifting the suspension on the 1st of a month before
    18:00 Bangkok covers that day's orders from 00:00.
    """
    if not (s.suspended_reason or "").startswith(REASON_UNPAID) or s.suspended_at is None:
        return
    local = resumed_at.astimezone(BKK)
    cutoff = resumed_at
    if local.day == 1 and local.time() < rules.TERMS.resume_cutoff:
        cutoff = start_of_bkk_day(local.date())
    start = s.suspended_at
    if cutoff <= start:
        return
    reason = (
        f"paid while the store was suspended for an unpaid invoice "
        f"({start.astimezone(BKK):%Y-%m-%d %H:%M} to {cutoff.astimezone(BKK):%Y-%m-%d %H:%M} Bangkok)"
    )
    t = MarketplaceOrder.__table__
    session.execute(
        t.update()
        .where(t.c.store_id == s.id, t.c.state == "new", t.c.paid_at >= start, t.c.paid_at < cutoff)
        .values(state="not_eligible", state_reason=reason, updated_at=resumed_at)
    )


def purge_day(session, store: Store, events: list[rules.SubscriptionEvent]) -> date | None:
    """The first Bangkok day the store's data may be purged, or None.

    Cancelled: the domain rule (last day of the cancellation month + 90 days).
    Suspended for an unpaid invoice (chosen, from the help centre's "not paid on
    time or cancelled ... kept 90 days"): last day of the month of the
    suspension + 90 days.
    """
    if store.purged_at is not None:
        return None
    day = rules.purge_after(events) if events else None
    if day is not None:
        return day
    if store.suspended_at is not None and (store.suspended_reason or "").startswith(REASON_UNPAID):
        d = bkk_date(store.suspended_at)
        last = d.replace(day=calendar.monthrange(d.year, d.month)[1])
        return last + timedelta(days=rules.TERMS.retention_days)
    return None


# ---------------------------------------------------------------- invoices


#: an invoice line as shown: the same fields as the rule's charge line
LineView = rules.ChargeLine


@dataclass(frozen=True)
class InvoiceView:
    number: str | None
    store: str
    store_name: str
    month: str
    status: str  # unpaid | overdue | paid | no charges
    issued_at: datetime | None
    due_date: date | None
    paid_at: datetime | None
    subtotal: Decimal
    vat: Decimal
    total: Decimal
    lines: list[LineView]
    new: bool = False  # issued by this call (False: the stored invoice was returned)


def parse_month(raw: str) -> tuple[int, int]:
    try:
        y, m = raw.strip().split("-")
        year, month = int(y), int(m)
        if len(y) != 4 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"invalid month '{raw}': use YYYY-MM, e.g. 2026-12") from None
    return year, month


def month_ended(year: int, month: int, now: datetime) -> bool:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return bkk_date(now) > last


def _view(session, store: Store, inv: Invoice, today: date, *, new: bool = False) -> InvoiceView:
    lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(InvoiceLine.id)).all()
    if inv.paid_at is not None:
        status = "paid"
    elif rules.is_overdue(inv.due_date, today):
        status = "overdue"
    else:
        status = "unpaid"
    return InvoiceView(
        number=inv.number, store=store.slug, store_name=store.name, month=inv.month, status=status,
        issued_at=inv.issued_at, due_date=inv.due_date, paid_at=inv.paid_at, subtotal=inv.subtotal, vat=inv.vat,
        total=inv.total,
        lines=[LineView(l.plan, l.description, l.period_start, l.period_end, l.days, l.days_in_month, l.rate, l.amount) for l in lines],
        new=new,
    )


def _next_number(session, year: int) -> str:
    """INV-YYYY-NNNNNN: one sequence per year of issue, advanced by an atomic UPDATE."""
    bump = text("UPDATE invoice_counter SET last = last + 1 WHERE year = :y RETURNING last")
    value = session.execute(bump, {"y": year}).scalar()
    if value is None:
        session.execute(
            text("INSERT INTO invoice_counter (year, last) VALUES (:y, 0) ON CONFLICT (year) DO NOTHING"), {"y": year}
        )
        value = session.execute(bump, {"y": year}).scalar_one()
    return f"INV-{year:04d}-{int(value):06d}"


def issue_invoice(session, *, store_id: int, month: str, now: datetime) -> InvoiceView:
    """The store's invoice for ``month`` (YYYY-MM): the stored one, or a new one once the month has ended.

    A month without charges (e.g. inside the free trial) gets no invoice and no
    number: the result has status "no charges" and totals 0.00.
    """
    year, mon = parse_month(month)
    label = f"{year:04d}-{mon:02d}"
    store = _store(session, store_id)
    _lock_store(session, store_id)
    today = bkk_date(now)
    existing = session.exec(select(Invoice).where(Invoice.store_id == store_id, Invoice.month == label)).first()
    if existing is not None:
        return _view(session, store, existing, today)
    if not month_ended(year, mon, now):
        nxt = date(year, mon, calendar.monthrange(year, mon)[1]) + timedelta(days=1)
        raise Conflict(
            f"month {label} has not ended yet (Bangkok time): its invoice can be issued from {nxt.isoformat()}; "
            "see `crm billing status` for what is due"
        )
    events = load_events(session, store_id)
    try:
        charges = rules.month_charges(events, year, mon) if events else []
    except rules.BillingRuleError as exc:  # pragma: no cover - stored events were validated
        raise to_conflict(exc) from None
    if not charges:
        zero = Decimal("0.00")
        return InvoiceView(None, store.slug, store.name, label, "no charges", None, None, None, zero, zero, zero, [])
    subtotal, vat, total = rules.invoice_totals(charges)
    inv = Invoice(
        store_id=store_id, number=_next_number(session, today.year), month=label, subtotal=subtotal, vat=vat,
        total=total, issued_at=now, due_date=rules.invoice_due_date(year, mon),
    )
    session.add(inv)
    session.flush()
    session.execute(
        InvoiceLine.__table__.insert(),
        [
            dict(invoice_id=inv.id, plan=c.plan, description=c.description[:300], period_start=c.period_start,
                 period_end=c.period_end, days=c.days, days_in_month=c.days_in_month, rate=c.rate, amount=c.amount)
            for c in charges
        ],
    )
    return _view(session, store, inv, today, new=True)


def billable_store_ids(session) -> list[int]:
    """Stores that have subscription events and have not been purged."""
    q = (
        select(Store.id)
        .where(Store.purged_at.is_(None))
        .where(Store.id.in_(select(SubscriptionEventRow.store_id)))
        .order_by(Store.slug)
    )
    return list(session.exec(q).all())


def issue_all(session, *, month: str, now: datetime) -> list[InvoiceView]:
    """Invoices for every billable store for ``month`` (stores without charges are left out)."""
    out = []
    for sid in billable_store_ids(session):
        view = issue_invoice(session, store_id=sid, month=month, now=now)
        if view.number is not None:
            out.append(view)
    return out


def get_invoice(session, *, number: str, now: datetime, store_id: int | None = None) -> InvoiceView:
    inv = session.exec(select(Invoice).where(Invoice.number == number.strip().upper())).first()
    if inv is None or (store_id is not None and inv.store_id != store_id):
        raise NotFound(f"invoice {number} not found: see `crm billing invoice --month YYYY-MM`")
    return _view(session, session.get(Store, inv.store_id), inv, bkk_date(now))


def invoice_store_id(session, number: str) -> int | None:
    return session.exec(select(Invoice.store_id).where(Invoice.number == number.strip().upper())).first()


def pay_invoice(session, *, number: str, paid_at: datetime, now: datetime) -> tuple[InvoiceView, SuspensionChange]:
    """Record the payment of an invoice; lifts a suspension that no longer has a reason."""
    inv = session.exec(select(Invoice).where(Invoice.number == number.strip().upper())).first()
    if inv is None:
        raise NotFound(f"invoice {number} not found: see `crm billing invoice --month YYYY-MM`")
    _lock_store(session, inv.store_id)
    if inv.paid_at is not None:
        raise Conflict(
            f"invoice {inv.number} was already paid on {inv.paid_at.astimezone(BKK):%Y-%m-%d}; nothing to do"
        )
    inv.paid_at = paid_at
    session.add(inv)
    session.flush()
    change = apply_suspension(session, store_id=inv.store_id, now=now, resumed_at=now)
    store = session.get(Store, inv.store_id)
    return _view(session, store, inv, bkk_date(now)), change


def parse_event_date(raw: str) -> tuple[date, datetime | None]:
    """``--date`` of a billing command: YYYY-MM-DD, or a date and time (Bangkok unless an offset is given)."""
    from crm_cli.domain.timeutil import parse_day, parse_moment

    s = raw.strip()
    if len(s) == 10:
        return parse_day(s), None
    at = parse_moment(s)
    return bkk_date(at), at


def missing_invoice_months(session, *, store_id: int, until: str, limit: int = 24) -> list[str]:
    """Ended months up to ``until`` (YYYY-MM) with charges but no invoice yet, oldest first."""
    events = load_events(session, store_id)
    if not events:
        return []
    have = set(session.exec(select(Invoice.month).where(Invoice.store_id == store_id)).all())
    uy, um = parse_month(until)
    first = min(e.day for e in events)
    y, m = first.year, first.month
    months = []
    while (y, m) <= (uy, um):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    out = []
    for y, m in months[-limit:]:
        label = f"{y:04d}-{m:02d}"
        if label not in have and rules.month_charges(events, y, m):
            out.append(label)
    return out
