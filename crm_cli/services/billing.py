"""Subscription events, invoices and suspension (SPEC section 7).

The rules themselves (trial, proration, Pro, cancellation, the 18:00 rule, purge
day) are pure functions in ``crm_cli.domain.billing``; this module stores the
events, numbers and keeps invoices, and decides when a store is suspended.

Suspension (docs/billing.md): the service is off when its cancelled service
has ended, or while one of its invoices is unpaid after its due date. Whether it
is on at a moment is computed from the events and the invoices
(:func:`service_now`, the pure rule ``rules.service_state``); the store's
``suspended_at``/``suspended_reason`` columns only record what the nightly job
noticed, for notices and the purge.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, text
from sqlmodel import col, select

from crm_cli.db import dialect
from crm_cli.db.models import Invoice, InvoiceLine, Store, SubscriptionEventRow
from crm_cli.domain import billing as rules
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.domain.timeutil import BKK, bkk_date
from crm_cli.services import store_state


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
    subscription: str  # the label store list/show use ("none: not billed", "crm trial", ...)
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
            .order_by(col(SubscriptionEventRow.day), col(SubscriptionEventRow.id))
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
    dialect.lock_row(session, "store", store_id)


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


def invoice_facts(session, store_id: int, *, open_at: datetime | None = None) -> list[rules.InvoiceFact]:
    """The store's invoices as the service timeline needs them (number, due date, payment).

    With ``open_at``: only those that can hold the service off at that moment
    (due before its Bangkok day and not paid by then).
    """
    q = select(Invoice.number, col(Invoice.due_date), col(Invoice.paid_at)).where(Invoice.store_id == store_id)
    if open_at is not None:
        q = q.where(col(Invoice.due_date) < bkk_date(open_at), or_(col(Invoice.paid_at).is_(None), col(Invoice.paid_at) > open_at))
    return [rules.InvoiceFact(n, d, p) for n, d, p in session.exec(q.order_by(col(Invoice.due_date))).all()]


def service_now(session, *, store_id: int, now: datetime,
                events: list[rules.SubscriptionEvent] | None = None) -> rules.ServiceState:
    """Is the store's CRM service on at ``now``? (store_state.service_state: the events and the
    invoices open at that moment, one query each.)"""
    return store_state.service_state(session, store_id=store_id, now=now, events=events)


def subscription_summary(session, *, store_id: int, now: datetime) -> tuple[str, rules.ServiceState]:
    """A short label of the store's subscription at ``now`` ("none: not billed", "crm trial",
    "pro active", "crm cancelled", ...) and its service state."""
    return store_state.subscription_summary(session, store_id=store_id, now=now)


def billing_status(session, *, store_id: int, now: datetime) -> StatusInfo:
    s = _store(session, store_id)
    rows = _event_rows(session, store_id)
    events = [rules.SubscriptionEvent(r.kind, r.day, r.at) for r in rows]
    today = bkk_date(now)
    try:
        st = rules.status(events, today)
        # events dated later (a scheduled cancellation) show in the cancellation fields
        ahead = rules.status(events, max([today] + [e.day for e in events]))
        # ... and a cancellation in force stays shown while a resume is only scheduled
        cancel = ahead if ahead.cancelled_on is not None else st
    except rules.BillingRuleError as exc:  # pragma: no cover - stored events were validated
        raise to_conflict(exc) from None
    service = service_now(session, store_id=store_id, now=now, events=events)
    unpaid = session.exec(
        select(Invoice.number).where(Invoice.store_id == store_id, col(Invoice.paid_at).is_(None)).order_by(Invoice.month)
    ).all()
    return StatusInfo(
        store=s.slug, plan=st.plan, state=st.state, subscription=store_state.subscription_label(events, st, service),
        service_active=service.active, trial_end=st.trial_end,
        paid_from=st.paid_from, cancelled_on=cancel.cancelled_on, service_ends=cancel.service_ends,
        purge_after=ahead.purge_after, next_charge_month=st.next_charge_month,
        suspended=service.suspended, suspended_reason=service.reason if service.suspended else None,
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
    apply_suspension(session, store_id=store_id, now=now)
    return billing_status(session, store_id=store_id, now=now)


# ---------------------------------------------------------------- suspension


@dataclass(frozen=True)
class SuspensionChange:
    store: str
    action: str  # suspended | resumed | unchanged
    reason: str | None


def _overdue_invoices(session, store_id: int, today: date) -> list[Invoice]:
    rows = session.exec(
        select(Invoice).where(Invoice.store_id == store_id, col(Invoice.paid_at).is_(None)).order_by(Invoice.month)
    ).all()
    return [r for r in rows if rules.is_overdue(r.due_date, today)]


def suspension_reason(session, store: Store, events: list[rules.SubscriptionEvent], now: datetime) -> str | None:
    """Why the store's service is off at ``now`` after having been subscribed (None: it is not)."""
    service = service_now(session, store_id=store.id, now=now, events=events)
    return service.reason if service.suspended else None


def apply_suspension(session, *, store_id: int, now: datetime) -> SuspensionChange:
    """Record on the store row whether its service is off at ``now`` (for notices and the purge). Idempotent.

    The service state itself is computed from the events and invoices
    (:func:`service_now`); this only keeps ``suspended_at``/``suspended_reason`` in step.
    """
    s = session.get(Store, store_id)
    if s is None or s.purged_at is not None:
        return SuspensionChange(s.slug if s else "?", "unchanged", None)
    service = service_now(session, store_id=store_id, now=now)
    if service.suspended:
        reason = service.reason[:300]
        if s.suspended_at is None:
            s.suspended_at, s.suspended_reason = service.since or now, reason
            session.add(s)
            session.flush()
            return SuspensionChange(s.slug, "suspended", service.reason)
        if s.suspended_reason != reason:
            s.suspended_reason = reason
            session.add(s)
            session.flush()
        return SuspensionChange(s.slug, "unchanged", service.reason)
    if s.suspended_at is not None:
        s.suspended_at, s.suspended_reason = None, None
        session.add(s)
        session.flush()
        return SuspensionChange(s.slug, "resumed", None)
    return SuspensionChange(s.slug, "unchanged", None)


def purge_day(session, store: Store, events: list[rules.SubscriptionEvent], now: datetime) -> date | None:
    """The first Bangkok day the store's data may be purged, or None.

    Cancelled: the domain rule (last day of the cancellation month + 90 days).
    Suspended for an unpaid invoice at ``now`` (chosen, from the help centre's
    "not paid on time or cancelled ... kept 90 days"): last day of the month in
    which the suspension began + 90 days.
    """
    if store.purged_at is not None:
        return None
    day = rules.purge_after(events) if events else None
    if day is not None:
        return day
    service = service_now(session, store_id=store.id, now=now, events=events)
    if service.state == rules.UNPAID and service.since is not None:
        d = bkk_date(service.since)
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
    lines = session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == inv.id).order_by(col(InvoiceLine.id))).all()
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
        total=total, issued_at=now, due_date=rules.invoice_due_date(year, mon, issued_on=today),
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
        .where(col(Store.purged_at).is_(None))
        .where(col(Store.id).in_(select(col(SubscriptionEventRow.store_id))))
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
    if paid_at > now:  # a payment dated ahead would read "paid" while the store is still held off
        raise InvalidInput(
            f"payment date {paid_at.astimezone(BKK):%Y-%m-%d %H:%M} Bangkok is in the future "
            f"(now {now.astimezone(BKK):%Y-%m-%d %H:%M}): record a payment once it has been made"
        )
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
    change = apply_suspension(session, store_id=inv.store_id, now=now)
    store = session.get(Store, inv.store_id)
    return _view(session, store, inv, bkk_date(now)), change


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
