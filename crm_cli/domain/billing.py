"""Subscription billing rules for MyCustomer | CRM.

Pure rules: no SQL, no I/O, no clock. Every function takes the store's
subscription events (and, where it matters, the instant or day to judge) and
returns plain values. The help-centre text is the authority; docs/billing.md
explains each rule, and where the help centre is silent, the rule chosen here.

All prices, rates and periods live in ``TERMS`` below and nowhere else.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from crm_cli.domain.errors import Conflict
from crm_cli.domain.timeutil import BKK

# --------------------------------------------------------------------------
# The one table of plans, prices and billing terms
# --------------------------------------------------------------------------

PLAN_CRM = "crm"
PLAN_PRO = "pro"


@dataclass(frozen=True)
class PlanPrice:
    """One row of the price table: a plan's monthly price (THB, before VAT) from a date on."""

    plan: str
    name: str
    monthly_price: Decimal
    effective_from: date
    includes_crm: bool


@dataclass(frozen=True)
class BillingTerms:
    """Everything numeric about billing, in one place."""

    prices: tuple[PlanPrice, ...]
    vat_rate: Decimal
    trial_days: int
    retention_days: int
    invoice_due_day: int  # day of the month after the invoice month
    invoice_min_days: int  # days to pay at least, the day of issue counted
    resume_cutoff: time  # a resubscription on the 1st before this gets the day's orders from 00:00
    order_sync_time: time  # the daily marketplace order sync (Bangkok)
    timezone: ZoneInfo


TERMS = BillingTerms(
    prices=(
        PlanPrice(PLAN_CRM, "MyCustomer | CRM", Decimal("369.00"), date.min, includes_crm=False),
        PlanPrice(
            PLAN_PRO,
            "LINE OA Pro package (includes MyCustomer | CRM)",
            Decimal("1780.00"),
            date(2024, 8, 1),
            includes_crm=True,
        ),
    ),
    vat_rate=Decimal("0.07"),
    trial_days=30,
    retention_days=90,
    invoice_due_day=15,
    invoice_min_days=15,
    resume_cutoff=time(18, 0),
    order_sync_time=time(19, 0),
    timezone=BKK,
)

BANGKOK = TERMS.timezone
SATANG = Decimal("0.01")
ZERO = Decimal("0.00")

# --------------------------------------------------------------------------
# Events, errors, results
# --------------------------------------------------------------------------

SUBSCRIBE = "subscribe"
PRO = "pro"
CANCEL = "cancel"
CANCEL_PRO = "cancel_pro"
RESUME = "resume"
EVENT_KINDS = (SUBSCRIBE, PRO, CANCEL, CANCEL_PRO, RESUME)


class BillingRuleError(Conflict):
    """A subscription event or request breaks a billing rule (exit 4). ``str(err)`` is one line."""


@dataclass(frozen=True)
class SubscriptionEvent:
    """One subscription event of a store.

    ``day`` is the Bangkok calendar day of the event. ``at`` is the exact moment
    (timezone-aware), when known; without it the event counts from 00:00 Bangkok
    of ``day``. Only ``subscribe`` and ``resume`` use the moment: the service
    starts then, and the 18:00 rule on the 1st of a month is judged by it.
    """

    kind: str
    day: date
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise BillingRuleError(
                f"unknown subscription event '{self.kind}': use one of {', '.join(EVENT_KINDS)}"
            )
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise BillingRuleError(f"the day of a '{self.kind}' event must be a date (YYYY-MM-DD), not {self.day!r}")
        if self.at is not None:
            if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
                raise BillingRuleError(
                    f"the time of a '{self.kind}' event must carry a UTC offset, e.g. 2026-12-01T09:30:00+07:00"
                )
            if self.at.astimezone(BANGKOK).date() != self.day:
                raise BillingRuleError(
                    f"the '{self.kind}' event time {self.at.isoformat()} is not on {self.day.isoformat()} "
                    "in Bangkok; give a time on that day"
                )

    @property
    def moment(self) -> datetime:
        """The aware instant the event takes effect (00:00 Bangkok of ``day`` by default)."""
        if self.at is not None:
            return self.at
        return datetime.combine(self.day, time(0, 0), tzinfo=BANGKOK)


@dataclass(frozen=True)
class ChargeLine:
    """One invoice line: what is charged for which days at which monthly rate (before VAT)."""

    plan: str
    description: str
    period_start: date
    period_end: date
    days: int
    days_in_month: int
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class BillingStatus:
    """Where a store stands on a given Bangkok day (only events up to that day count)."""

    plan: str | None  # "crm", "pro", or None before any subscription
    state: str  # "none" | "trial" | "active" | "cancelled"
    trial_end: date | None
    paid_from: date | None  # first charged day of the current (or last) service period
    cancelled_on: date | None
    service_ends: date | None  # last day of service when cancelled
    purge_after: date | None
    next_charge_month: str | None  # "YYYY-MM": first month from this one on that has charges


# --------------------------------------------------------------------------
# Small calendar and money helpers
# --------------------------------------------------------------------------


def money(value: Decimal | int) -> Decimal:
    """Round to the satang, half-up."""
    if isinstance(value, float | bool):
        raise TypeError("money must be a Decimal or int, never a float")
    return Decimal(value).quantize(SATANG, rounding=ROUND_HALF_UP)


def plan_price(plan: str, on: date) -> PlanPrice:
    """The price-table row in force for ``plan`` on day ``on``."""
    rows = [p for p in TERMS.prices if p.plan == plan and p.effective_from <= on]
    if not rows:
        available = [p for p in TERMS.prices if p.plan == plan]
        if not available:
            raise BillingRuleError(f"unknown plan '{plan}': use one of {PLAN_CRM}, {PLAN_PRO}")
        first = min(p.effective_from for p in available)
        raise BillingRuleError(
            f"the {available[0].name} is available from {first.isoformat()}; use a date on or after it"
        )
    return max(rows, key=lambda p: p.effective_from)


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _last_day(day: date) -> date:
    return day.replace(day=_days_in_month(day.year, day.month))


def _first_of_next_month(day: date) -> date:
    return _last_day(day) + timedelta(days=1)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _check_month(year: int, month: int) -> None:
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month!r}")


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, e.g. 2026-12-01T09:30:00+07:00")


def _bkk(value: datetime) -> str:
    return value.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------
# Replaying the events
# --------------------------------------------------------------------------


@dataclass
class _Span:
    """One unbroken period of CRM service."""

    started_by: SubscriptionEvent
    start_at: datetime
    paid_from: date  # first day this period is charged (after the trial)
    end: date | None = None  # last day of service (inclusive) once cancelled
    cancel: SubscriptionEvent | None = None


@dataclass
class _ProPeriod:
    start: date
    cancel: SubscriptionEvent | None = None


@dataclass
class _Timeline:
    subscribed: SubscriptionEvent | None = None
    trial_end: date | None = None
    spans: list[_Span] = field(default_factory=list)
    pro: list[_ProPeriod] = field(default_factory=list)

    @property
    def current(self) -> _Span | None:
        return self.spans[-1] if self.spans else None

    @property
    def pro_open(self) -> _ProPeriod | None:
        if self.pro and self.pro[-1].cancel is None:
            return self.pro[-1]
        return None


def _no_subscription(ev: SubscriptionEvent, what: str) -> BillingRuleError:
    return BillingRuleError(
        f"cannot {what} on {ev.day.isoformat()}: the store has no CRM subscription yet; "
        "run `crm billing subscribe --date D` with the LINE Pay binding day first"
    )


def _replay(events: list[SubscriptionEvent]) -> _Timeline:
    """Apply the events in day order (same-day events in the order given)."""
    tl = _Timeline()
    for ev in sorted(events, key=lambda e: e.day):
        if not isinstance(ev, SubscriptionEvent):
            raise TypeError(f"expected SubscriptionEvent, got {type(ev).__name__}")
        cur = tl.current
        if ev.kind == SUBSCRIBE:
            if tl.subscribed is not None:
                raise BillingRuleError(
                    f"the store already subscribed on {tl.subscribed.day.isoformat()} and the free trial "
                    "is given once; to subscribe again after a cancellation run `crm billing resume --date D`"
                )
            tl.subscribed = ev
            tl.trial_end = ev.day + timedelta(days=TERMS.trial_days - 1)
            tl.spans.append(
                _Span(started_by=ev, start_at=ev.moment, paid_from=ev.day + timedelta(days=TERMS.trial_days))
            )
        elif ev.kind == PRO:
            if cur is None:
                raise _no_subscription(ev, "move to Pro")
            plan_price(PLAN_PRO, ev.day)  # refuses a date before the Pro package existed
            if tl.pro_open is not None:
                raise BillingRuleError(
                    f"the store is already on Pro since {tl.pro_open.start.isoformat()}; nothing to change"
                )
            if cur.cancel is not None:
                raise _cancelled_first(cur, "before moving to Pro")
            tl.pro.append(_ProPeriod(start=ev.day))
        elif ev.kind == CANCEL:
            if cur is None:
                raise _no_subscription(ev, "cancel the CRM")
            if tl.pro_open is not None:
                raise BillingRuleError(
                    f"the store is on Pro (MyCustomer | CRM included) since {tl.pro_open.start.isoformat()}; "
                    "cancel Pro with `crm billing cancel --pro --date D`, which cancels the CRM from the next month"
                )
            if cur.cancel is not None:
                raise BillingRuleError(
                    f"the CRM is already cancelled (on {cur.cancel.day.isoformat()}, service until "
                    f"{cur.end}); to keep it run `crm billing resume --date D`"
                )
            end = _last_day(ev.day)
            if ev.day < cur.paid_from:  # cancelled during the free trial: never charged
                end = min(end, cur.paid_from - timedelta(days=1))
            cur.end, cur.cancel = end, ev
        elif ev.kind == CANCEL_PRO:
            if cur is None:
                raise _no_subscription(ev, "cancel Pro")
            pro = tl.pro_open
            if pro is None:
                raise BillingRuleError(
                    f"the store is not on Pro on {ev.day.isoformat()}; to cancel the CRM run "
                    "`crm billing cancel --date D` without --pro"
                )
            pro.cancel = ev
            cur.end, cur.cancel = _last_day(ev.day), ev
        elif ev.kind == RESUME:
            if cur is None:
                raise _no_subscription(ev, "resume the CRM")
            if cur.cancel is None:
                raise BillingRuleError(
                    f"the CRM is not cancelled on {ev.day.isoformat()}, so there is nothing to resume"
                )
            if cur.cancel.kind == CANCEL_PRO:
                allowed = _first_of_next_month(cur.cancel.day)
                if ev.day < allowed:
                    raise BillingRuleError(
                        f"after Pro was cancelled on {cur.cancel.day.isoformat()} the CRM can be subscribed "
                        f"again from {allowed.isoformat()}; use --date {allowed.isoformat()} or later"
                    )
            if cur.end is not None and ev.day <= cur.end:
                # Still in service: the resumption withdraws the pending cancellation.
                cur.end, cur.cancel = None, None
            else:
                assert tl.subscribed is not None  # a span was open before, so the store subscribed
                first_paid = tl.subscribed.day + timedelta(days=TERMS.trial_days)
                tl.spans.append(_Span(started_by=ev, start_at=ev.moment, paid_from=max(ev.day, first_paid)))
    return tl


def _cancelled_first(span: _Span, purpose: str) -> BillingRuleError:
    assert span.cancel is not None
    if span.cancel.kind == CANCEL_PRO:
        allowed = _first_of_next_month(span.cancel.day)
        return BillingRuleError(
            f"Pro was cancelled on {span.cancel.day.isoformat()}; subscribe the CRM again from "
            f"{allowed.isoformat()} with `crm billing resume --date D` {purpose}"
        )
    return BillingRuleError(
        f"the CRM was cancelled on {span.cancel.day.isoformat()}; run `crm billing resume --date D` {purpose}"
    )


def validate_events(events: list[SubscriptionEvent]) -> None:
    """Raise BillingRuleError if the event sequence breaks a rule (check before storing a new event)."""
    _replay(list(events))


# --------------------------------------------------------------------------
# Charges
# --------------------------------------------------------------------------


def _crm_line(start: date, end: date, dim: int) -> ChargeLine:
    row = plan_price(PLAN_CRM, start)
    days = (end - start).days + 1
    month_name = start.strftime("%B %Y")
    if days == dim:
        description = f"{row.name}, {month_name}"
        amount = money(row.monthly_price)
    else:
        description = (
            f"{row.name}, {start.isoformat()} to {end.isoformat()}: "
            f"{row.monthly_price} x {days}/{dim} days (pro rata)"
        )
        amount = money(row.monthly_price * days / dim)
    return ChargeLine(PLAN_CRM, description, start, end, days, dim, row.monthly_price, amount)


def _pro_line(first: date, last: date, dim: int, move_month: bool, price_day: date) -> ChargeLine:
    row = plan_price(PLAN_PRO, price_day)
    note = " (first month: MyCustomer | CRM billed separately)" if move_month else ""
    description = f"{row.name}, {first.strftime('%B %Y')}{note}"
    return ChargeLine(PLAN_PRO, description, first, last, dim, dim, row.monthly_price, money(row.monthly_price))


def month_charges(events: list[SubscriptionEvent], year: int, month: int) -> list[ChargeLine]:
    """The charge lines for one calendar month (before VAT), CRM first then Pro.

    - Trial days are free. The first month with paid days is charged pro rata:
      price x (days from the first paid day to month end, inclusive) / days in month.
      A month fully in service is charged the full monthly price.
    - The month a store moves to Pro it pays both the CRM (as it would have anyway)
      and Pro in full; later Pro months carry no CRM line.
    - A cancelled month is charged as usual (no refund); nothing afterwards.
    """
    _check_month(year, month)
    tl = _replay(list(events))
    dim = _days_in_month(year, month)
    first, last = date(year, month, 1), date(year, month, dim)
    m = _month_index(first)

    pro = next(
        (
            p
            for p in tl.pro
            if _month_index(p.start) <= m and (p.cancel is None or m <= _month_index(p.cancel.day))
        ),
        None,
    )
    crm_included = pro is not None and _month_index(pro.start) < m

    lines: list[ChargeLine] = []
    if not crm_included:
        for span in tl.spans:
            start = max(span.paid_from, first)
            end = min(span.end or last, last)
            if start <= end:
                lines.append(_crm_line(start, end, dim))
    if pro is not None:
        lines.append(
            _pro_line(first, last, dim, move_month=_month_index(pro.start) == m, price_day=max(first, pro.start))
        )
    return lines


def invoice_totals(lines: list[ChargeLine]) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, VAT, total): VAT is computed once on the subtotal, rounded half-up."""
    subtotal = money(sum((line.amount for line in lines), ZERO))
    vat = money(subtotal * TERMS.vat_rate)
    return subtotal, vat, subtotal + vat


# --------------------------------------------------------------------------
# Service state and order eligibility
# --------------------------------------------------------------------------


def _in_span(span: _Span, at: datetime) -> bool:
    if at < span.start_at:
        return False
    return span.end is None or at.astimezone(BANGKOK).date() <= span.end


@dataclass(frozen=True)
class InvoiceFact:
    """What the service timeline needs to know of one issued invoice."""

    number: str
    due_date: date
    paid_at: datetime | None = None


#: states of the service at a moment (see :func:`service_state`)
NOT_SUBSCRIBED, ON, CANCELLED, UNPAID = "not_subscribed", "active", "cancelled", "unpaid"


@dataclass(frozen=True)
class ServiceState:
    """Whether the CRM service is on at a moment, and if not, why."""

    state: str  # active | not_subscribed | cancelled | unpaid
    reason: str | None = None  # one line saying why the service is off (None when on)
    since: datetime | None = None  # when the current off period began (cancelled / unpaid)
    invoice: str | None = None  # the unpaid invoice behind an "unpaid" state

    @property
    def active(self) -> bool:
        return self.state == ON

    @property
    def suspended(self) -> bool:
        """Off after having been subscribed: store commands are refused (exit 7)."""
        return self.state in (CANCELLED, UNPAID)


def unpaid_window(inv: InvoiceFact) -> tuple[datetime, datetime | None] | None:
    """[start, end) during which ``inv`` suspends the service for non-payment, or None.

    From 00:00 Bangkok of the day after the due date (paying on the due date is in
    time) until the payment (None: not paid). A payment by the due date opens no window.
    """
    start = datetime.combine(inv.due_date + timedelta(days=1), time(0, 0), tzinfo=BANGKOK)
    if inv.paid_at is not None:
        _require_aware(inv.paid_at, "paid_at")
        if inv.paid_at <= start:
            return None
    return start, inv.paid_at


def _unpaid_at(invoices: Sequence[InvoiceFact], at: datetime) -> tuple[InvoiceFact, datetime] | None:
    """The invoice (earliest due first) whose non-payment window holds ``at``, with the window start."""
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        window = unpaid_window(inv)
        if window is not None and window[0] <= at and (window[1] is None or at < window[1]):
            return inv, window[0]
    return None


def _span_state(tl: _Timeline, at: datetime) -> ServiceState:
    if any(_in_span(span, at) for span in tl.spans):
        return ServiceState(ON)
    started = [s for s in tl.spans if s.start_at <= at]
    if not started:
        return ServiceState(NOT_SUBSCRIBED, "no MyCustomer | CRM subscription yet")
    last = started[-1]
    assert last.cancel is not None and last.end is not None
    since = datetime.combine(last.end + timedelta(days=1), time(0, 0), tzinfo=BANGKOK)
    return ServiceState(
        CANCELLED,
        f"MyCustomer | CRM cancelled on {last.cancel.day.isoformat()}, service ended {last.end.isoformat()}",
        since,
    )


def service_state(
    events: list[SubscriptionEvent], invoices: Sequence[InvoiceFact] = (), at: datetime | None = None
) -> ServiceState:
    """The CRM service at instant ``at``: on, or off and why. Days are judged in Bangkok.

    - Before the first subscription: ``not_subscribed`` (the store is not billed).
    - The service starts at the subscribe/resume moment; once cancelled it stays on
      until 24:00 Bangkok of its last service day, then it is ``cancelled`` until a resume.
    - An invoice unpaid after its due date suspends it (``unpaid``) from 00:00 Bangkok
      of the next day until the moment it is paid (a payment after ``at`` does not count).
    """
    if at is None:
        raise ValueError("at must be given")
    _require_aware(at, "at")
    tl = _replay(list(events))
    st = _span_state(tl, at)
    if not st.active:
        return st
    hit = _unpaid_at(invoices, at)
    if hit is None:
        return st
    inv, start = hit
    return ServiceState(
        UNPAID, f"invoice {inv.number} unpaid after its due date {inv.due_date.isoformat()}", start, inv.number
    )


def service_active(
    events: list[SubscriptionEvent], at: datetime, invoices: Sequence[InvoiceFact] = ()
) -> bool:
    """Is the CRM service on at instant ``at``? (see :func:`service_state`)"""
    return service_state(events, invoices, at).active


def _known_invoices(invoices: Sequence[InvoiceFact], sync_at: datetime) -> list[InvoiceFact]:
    """The invoices as they stood at ``sync_at``: a payment recorded later does not count yet."""
    out = []
    for inv in invoices:
        if inv.paid_at is not None and inv.paid_at > sync_at:
            inv = InvoiceFact(inv.number, inv.due_date, None)
        out.append(inv)
    return out


def _on_first_before_cutoff(moment: datetime, day: date) -> bool:
    local = moment.astimezone(BANGKOK)
    return local.date() == day and day.day == 1 and local.time() < TERMS.resume_cutoff


def order_eligibility(
    events: list[SubscriptionEvent], paid_at: datetime, sync_at: datetime, invoices: Sequence[InvoiceFact] = ()
) -> tuple[bool, str | None]:
    """May a marketplace order paid at ``paid_at`` earn points at the sync run at ``sync_at``?

    The order is judged at its payment time against the service timeline: the
    subscription events and the suspensions for non-payment (``invoices``). A
    suspension lifted (invoice paid) on the 1st of a month before 18:00 Bangkok
    covers that day's orders from 00:00, as a resubscription does.
    """
    ok, why = _span_eligibility(events, paid_at, sync_at)
    if not ok:
        return ok, why
    local_day = paid_at.astimezone(BANGKOK).date()
    hit = _unpaid_at(_known_invoices(invoices, sync_at), paid_at)
    if hit is None:
        return True, None
    inv, start = hit
    pay = next((i.paid_at for i in invoices if i.number == inv.number), None)
    if pay is not None and pay <= sync_at and _on_first_before_cutoff(pay, local_day):
        return True, None
    lifted = (
        f", lifted by the payment at {_bkk(pay)}" if pay is not None and pay <= sync_at else ", still unpaid"
    )
    return False, (
        f"paid {_bkk(paid_at)} Bangkok, while the store was suspended for non-payment "
        f"(invoice {inv.number} unpaid after its due date {inv.due_date.isoformat()}, from {_bkk(start)}{lifted})"
    )


def _span_eligibility(
    events: list[SubscriptionEvent], paid_at: datetime, sync_at: datetime
) -> tuple[bool, str | None]:
    """The subscription-events part of :func:`order_eligibility`.

    Returns (True, None) or (False, reason). Only events that had taken effect by
    ``sync_at`` count. An order paid while the CRM service was off earns nothing,
    except: a store that resubscribes (``resume``) on the 1st of a month before
    18:00 Bangkok gets that day's orders from 00:00.
    """
    _require_aware(paid_at, "paid_at")
    _require_aware(sync_at, "sync_at")
    if paid_at > sync_at:
        raise ValueError(
            f"the order was paid at {_bkk(paid_at)} Bangkok, after the sync time {_bkk(sync_at)}; "
            "leave it for a later run"
        )
    tl = _replay([e for e in events if e.moment <= sync_at])
    if not tl.spans:
        return False, f"paid {_bkk(paid_at)} Bangkok, when the store had no MyCustomer | CRM subscription"
    if any(_in_span(span, paid_at) for span in tl.spans):
        return True, None

    local_day = paid_at.astimezone(BANGKOK).date()
    for span in tl.spans:
        ev = span.started_by
        if ev.kind == RESUME and ev.day == local_day and local_day.day == 1:
            started = span.start_at.astimezone(BANGKOK)
            if started.time() < TERMS.resume_cutoff:
                return True, None
            return False, (
                f"paid {_bkk(paid_at)} Bangkok, before the store resubscribed at {started:%H:%M}; "
                f"a resubscription on the 1st covers that day's orders from 00:00 only if made before "
                f"{TERMS.resume_cutoff:%H:%M}"
            )

    if paid_at < tl.spans[0].start_at:
        return False, (
            f"paid {_bkk(paid_at)} Bangkok, before the store subscribed to MyCustomer | CRM "
            f"at {_bkk(tl.spans[0].start_at)}"
        )
    previous = [s for s in tl.spans if s.start_at <= paid_at][-1]
    assert previous.cancel is not None  # a span that ended was cancelled
    return False, (
        f"paid {_bkk(paid_at)} Bangkok, while the store's MyCustomer | CRM service was not active "
        f"(cancelled on {previous.cancel.day.isoformat()}, service ended {previous.end})"
    )


# --------------------------------------------------------------------------
# Retention, status, invoices
# --------------------------------------------------------------------------


def _purge_date(span: _Span) -> date | None:
    if span.cancel is None:
        return None
    if span.cancel.kind == CANCEL_PRO:
        # The help centre: cancelling Pro makes the system cancel the CRM in the following month.
        cancelled_month_end = _last_day(_first_of_next_month(span.cancel.day))
    else:
        cancelled_month_end = _last_day(span.cancel.day)
    return cancelled_month_end + timedelta(days=TERMS.retention_days)


def purge_after(events: list[SubscriptionEvent]) -> date | None:
    """The first Bangkok day on which a cancelled store's data may be purged, or None.

    It is the last day of the month in which the CRM was cancelled plus 90 days
    (cancelled in 2026-11 -> 2026-11-30 + 90 days = 2027-02-28: purge on or after
    that day). For a Pro cancellation the CRM is cancelled in the following month,
    so that month's last day counts. None if not cancelled, or resumed since.
    """
    tl = _replay(list(events))
    return _purge_date(tl.current) if tl.current else None


def purge_due(events: list[SubscriptionEvent], today: date) -> bool:
    """True when ``today`` (a Bangkok date) is on or after purge_after(events)."""
    when = purge_after(events)
    return when is not None and today >= when


def invoice_due_date(year: int, month: int, issued_on: date | None = None) -> date:
    """An invoice for a month is due on the 15th of the following month.

    The store always has at least ``TERMS.invoice_min_days`` (15) days to pay,
    the day of issue counted: an invoice issued on the 1st (by the nightly job)
    is due on the 15th; one issued late, e.g. on 2026-11-24, is due on
    2026-12-08, never before it was issued.
    """
    _check_month(year, month)
    nxt = _first_of_next_month(date(year, month, 1))
    due = nxt.replace(day=TERMS.invoice_due_day)
    if issued_on is not None:
        due = max(due, issued_on + timedelta(days=TERMS.invoice_min_days - 1))
    return due


def is_overdue(due_date: date, today: date) -> bool:
    """Unpaid on a day after the due date (the due date itself is still in time)."""
    return today > due_date


def status(events: list[SubscriptionEvent], day: date) -> BillingStatus:
    """The store's billing status on Bangkok day ``day``, from the events up to that day."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"day must be a date, not {day!r}")
    known = [e for e in events if e.day <= day]
    tl = _replay(known)
    span = tl.current
    if span is None:
        return BillingStatus(None, "none", None, None, None, None, None, None)

    if span.cancel is not None:
        plan = PLAN_PRO if span.cancel.kind == CANCEL_PRO else PLAN_CRM
        state = "cancelled"
    else:
        plan = PLAN_PRO if tl.pro_open is not None else PLAN_CRM
        state = "trial" if plan == PLAN_CRM and day < span.paid_from else "active"

    next_month = None
    probe = day.replace(day=1)
    for _ in range(14):
        if month_charges(known, probe.year, probe.month):
            next_month = _month_label(probe.year, probe.month)
            break
        if span.end is not None and probe > span.end:
            break
        probe = _first_of_next_month(probe)

    return BillingStatus(
        plan=plan,
        state=state,
        trial_end=tl.trial_end,
        paid_from=span.paid_from,
        cancelled_on=span.cancel.day if span.cancel else None,
        service_ends=span.end,
        purge_after=_purge_date(span),
        next_charge_month=next_month,
    )
