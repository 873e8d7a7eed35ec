"""The service timeline (``service_state``): a pure function of the events and the invoices.

A property test compares it with a simple day-by-day reference model on random
event sequences (subscribe, Pro moves, cancellations, resumes) and random invoices
(paid in time, paid late, never paid).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_cli.domain.billing import (
    BANGKOK,
    CANCELLED,
    NOT_SUBSCRIBED,
    ON,
    UNPAID,
    BillingRuleError,
    InvoiceFact,
    order_eligibility,
    service_active,
    service_state,
    validate_events,
)
from crm_cli.domain.billing import (
    SubscriptionEvent as E,
)


def bkk(y, m, d, hh=0, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=BANGKOK)


# ---------------------------------------------------------------- worked cases


def test_cancelled_service_is_on_to_the_end_of_its_last_day_then_off():
    events = [E("subscribe", date(2026, 11, 10)), E("cancel", date(2027, 1, 31))]
    assert service_state(events, (), bkk(2027, 1, 31, 23, 59, 59)).state == ON
    st_ = service_state(events, (), bkk(2027, 2, 1, 12, 0))
    assert st_.state == CANCELLED and st_.suspended and not st_.active
    assert st_.reason == "MyCustomer | CRM cancelled on 2027-01-31, service ended 2027-01-31"
    assert st_.since == bkk(2027, 2, 1)


def test_before_the_subscription_the_store_is_not_subscribed_not_suspended():
    events = [E("subscribe", date(2026, 11, 10), bkk(2026, 11, 10, 10, 30))]
    st_ = service_state(events, (), bkk(2026, 11, 10, 10, 29))
    assert st_.state == NOT_SUBSCRIBED and not st_.active and not st_.suspended
    assert service_state([], (), bkk(2026, 11, 10)).state == NOT_SUBSCRIBED


def test_unpaid_invoice_suspends_from_the_day_after_its_due_date_until_the_payment():
    events = [E("subscribe", date(2026, 11, 10))]
    unpaid = [InvoiceFact("INV-2027-000001", date(2027, 1, 15))]
    assert service_active(events, bkk(2027, 1, 15, 23, 59, 59), unpaid)
    st_ = service_state(events, unpaid, bkk(2027, 1, 16, 0, 0))
    assert st_.state == UNPAID and st_.invoice == "INV-2027-000001" and st_.since == bkk(2027, 1, 16)
    assert st_.reason == "invoice INV-2027-000001 unpaid after its due date 2027-01-15"
    paid = [InvoiceFact("INV-2027-000001", date(2027, 1, 15), bkk(2027, 2, 3, 10, 0))]
    assert not service_active(events, bkk(2027, 2, 3, 9, 59), paid)
    assert service_active(events, bkk(2027, 2, 3, 10, 0), paid)
    in_time = [InvoiceFact("INV-2027-000001", date(2027, 1, 15), bkk(2027, 1, 15, 23, 0))]
    assert service_active(events, bkk(2027, 1, 20), in_time)


def test_orders_paid_during_a_suspension_for_non_payment_are_not_eligible():
    events = [E("subscribe", date(2026, 11, 10))]
    paid = [InvoiceFact("INV-2027-000001", date(2027, 1, 15), bkk(2027, 2, 3, 10, 0))]
    sync = bkk(2027, 2, 3, 19, 0)
    for when in (bkk(2027, 1, 20, 12), bkk(2027, 2, 2, 12)):
        ok, why = order_eligibility(events, when, sync, paid)
        assert not ok and "suspended for non-payment (invoice INV-2027-000001" in why
    assert order_eligibility(events, bkk(2027, 1, 10, 12), sync, paid) == (True, None)
    assert order_eligibility(events, bkk(2027, 2, 3, 11), sync, paid) == (True, None)


def test_a_payment_on_the_1st_before_18_00_covers_that_days_orders_from_00_00():
    events = [E("subscribe", date(2026, 10, 1))]
    early = [InvoiceFact("INV-2026-000001", date(2026, 11, 15), bkk(2026, 12, 1, 17, 0))]
    late = [InvoiceFact("INV-2026-000001", date(2026, 11, 15), bkk(2026, 12, 1, 18, 0))]
    sync = bkk(2026, 12, 1, 19, 0)
    assert order_eligibility(events, bkk(2026, 12, 1, 9, 0), sync, early) == (True, None)
    assert not order_eligibility(events, bkk(2026, 12, 1, 9, 0), sync, late)[0]  # 18:00 is not before 18:00
    assert not order_eligibility(events, bkk(2026, 11, 30, 9, 0), sync, early)[0]


def test_a_payment_recorded_after_the_sync_does_not_count_at_that_sync():
    events = [E("subscribe", date(2026, 11, 10))]
    paid = [InvoiceFact("INV-2027-000001", date(2027, 1, 15), bkk(2027, 2, 1, 17, 0))]
    ok, why = order_eligibility(events, bkk(2027, 2, 1, 9, 0), bkk(2027, 2, 1, 12, 0), paid)
    assert not ok and "still unpaid" in why
    assert order_eligibility(events, bkk(2027, 2, 1, 9, 0), bkk(2027, 2, 1, 19, 0), paid) == (True, None)


def test_service_state_needs_an_aware_instant():
    with pytest.raises(ValueError):
        service_state([E("subscribe", date(2026, 11, 10))], (), datetime(2026, 11, 10, 12, 0))


# ---------------------------------------------------------------- the reference model


def _last_of_month(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def reference_active(events: list[E], invoices: list[InvoiceFact], at: datetime) -> bool:
    """Walk the calendar day by day from the first event, applying each day's events in order."""
    today = at.astimezone(BANGKOK).date()
    on = False
    on_from: datetime | None = None  # the moment the current period started
    last_day: date | None = None  # last service day once cancelled
    trial_end: date | None = None
    day = events[0].day if events else today
    while day <= today:
        for ev in (e for e in events if e.day == day):
            if ev.kind == "subscribe":
                trial_end = day + timedelta(days=29)
                on, on_from, last_day = True, ev.at or datetime.combine(day, time(0), tzinfo=BANGKOK), None
            elif ev.kind == "resume":
                if on and last_day is not None:  # still in service: the cancellation is withdrawn
                    last_day = None
                else:
                    on, on_from, last_day = True, ev.at or datetime.combine(day, time(0), tzinfo=BANGKOK), None
            elif ev.kind == "cancel":
                last_day = _last_of_month(day)
                if day <= trial_end:
                    last_day = min(last_day, trial_end)
            elif ev.kind == "cancel_pro":
                last_day = _last_of_month(day)
        if day == today:
            break
        if on and last_day == day:  # the service ends at 24:00 of its last day
            on = False
        day += timedelta(days=1)
    active = on and on_from is not None and at >= on_from
    if not active:
        return False
    for inv in invoices:  # off from the day after the due date until paid
        off_from = datetime.combine(inv.due_date + timedelta(days=1), time(0), tzinfo=BANGKOK)
        if at >= off_from and (inv.paid_at is None or at < inv.paid_at):
            return False
    return True


KINDS = ("pro", "cancel", "cancel_pro", "resume", "cancel", "resume")
steps = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 75), st.one_of(st.none(), st.integers(0, 23))),
    max_size=8,
)
invoice_specs = st.lists(
    st.tuples(st.integers(0, 400), st.one_of(st.none(), st.integers(-48, 24 * 60))), max_size=3
)


def _build(start_offset: int, start_hour: int | None, raw_steps) -> list[E]:
    d0 = date(2026, 1, 1) + timedelta(days=start_offset)
    at0 = None if start_hour is None else datetime.combine(d0, time(start_hour), tzinfo=BANGKOK)
    events = [E("subscribe", d0, at0)]
    day = d0
    for kind, gap, hour in raw_steps:
        day = day + timedelta(days=gap)
        at = None
        if hour is not None and kind == "resume":
            at = datetime.combine(day, time(hour), tzinfo=BANGKOK)
        candidate = E(kind, day, at)
        try:
            validate_events(events + [candidate])
        except BillingRuleError:
            continue
        events.append(candidate)
    return events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start_offset=st.integers(0, 400),
    start_hour=st.one_of(st.none(), st.integers(0, 23)),
    raw_steps=steps,
    raw_invoices=invoice_specs,
    probes=st.lists(st.tuples(st.integers(-3, 500), st.integers(0, 24 * 60 - 1)), min_size=1, max_size=12),
)
def test_service_state_agrees_with_a_day_by_day_model(start_offset, start_hour, raw_steps, raw_invoices, probes):
    events = _build(start_offset, start_hour, raw_steps)
    d0 = events[0].day
    invoices = []
    for i, (due_offset, paid_hours) in enumerate(raw_invoices):
        due = d0 + timedelta(days=due_offset)
        paid = None
        if paid_hours is not None:
            paid = datetime.combine(due, time(12), tzinfo=BANGKOK) + timedelta(hours=paid_hours)
        invoices.append(InvoiceFact(f"INV-{i}", due, paid))
    moments = [datetime.combine(d0 + timedelta(days=off), time(0), tzinfo=BANGKOK) + timedelta(minutes=minute)
               for off, minute in probes]
    moments += [e.moment for e in events] + [e.moment - timedelta(seconds=1) for e in events]
    for inv in invoices:
        if inv.paid_at is not None:
            moments += [inv.paid_at, inv.paid_at - timedelta(seconds=1)]
    for at in moments:
        got = service_state(events, invoices, at)
        assert got.active == reference_active(events, invoices, at), (events, invoices, at, got)
        if not got.active:
            assert got.reason
            assert got.suspended == (at >= events[0].moment)
