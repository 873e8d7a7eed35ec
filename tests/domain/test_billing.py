"""Billing rules: the help-centre worked examples and the rules chosen where it is silent."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_cli.domain import billing
from crm_cli.domain.billing import (
    TERMS,
    BillingRuleError,
    ChargeLine,
    SubscriptionEvent,
    invoice_due_date,
    invoice_totals,
    is_overdue,
    month_charges,
    order_eligibility,
    plan_price,
    purge_after,
    purge_due,
    service_active,
    status,
    validate_events,
)
from crm_cli.domain.errors import Conflict, ExitCode

BKK = ZoneInfo("Asia/Bangkok")
D = Decimal


def ev(kind: str, y: int, m: int, d: int, at: tuple[int, int] | None = None) -> SubscriptionEvent:
    moment = datetime(y, m, d, at[0], at[1], tzinfo=BKK) if at else None
    return SubscriptionEvent(kind, date(y, m, d), moment)


def bkk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BKK)


def amounts(lines: list[ChargeLine]) -> list[tuple[str, Decimal]]:
    return [(line.plan, line.amount) for line in lines]


# --------------------------------------------------------------------------
# The one table
# --------------------------------------------------------------------------


def test_price_table_holds_the_help_centre_numbers():
    assert plan_price("crm", date(2026, 1, 1)).monthly_price == D("369.00")
    pro = plan_price("pro", date(2024, 8, 1))
    assert pro.monthly_price == D("1780.00") and pro.includes_crm
    assert TERMS.vat_rate == D("0.07")
    assert TERMS.trial_days == 30
    assert TERMS.retention_days == 90
    assert str(TERMS.timezone) == "Asia/Bangkok"


def test_pro_is_not_available_before_august_2024():
    with pytest.raises(BillingRuleError, match="2024-08-01"):
        plan_price("pro", date(2024, 7, 31))
    with pytest.raises(BillingRuleError, match="2024-08-01"):
        validate_events([ev("subscribe", 2024, 5, 1), ev("pro", 2024, 7, 31)])
    validate_events([ev("subscribe", 2024, 5, 1), ev("pro", 2024, 8, 1)])


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        billing.money(1.5)
    assert billing.money(D("0.005")) == D("0.01")  # half-up, not banker's


# --------------------------------------------------------------------------
# Worked example: subscribe 2026-11-10
# --------------------------------------------------------------------------

NOV10 = [ev("subscribe", 2026, 11, 10)]


def test_worked_example_november_is_trial_and_free():
    assert month_charges(NOV10, 2026, 11) == []
    assert invoice_totals([]) == (D("0.00"), D("0.00"), D("0.00"))
    st_ = status(NOV10, date(2026, 11, 10))
    assert st_.trial_end == date(2026, 12, 9)
    assert st_.paid_from == date(2026, 12, 10)
    assert st_.state == "trial"


def test_worked_example_december_is_pro_rata():
    lines = month_charges(NOV10, 2026, 12)
    assert len(lines) == 1
    line = lines[0]
    assert line.plan == "crm"
    assert (line.period_start, line.period_end) == (date(2026, 12, 10), date(2026, 12, 31))
    assert (line.days, line.days_in_month, line.rate) == (22, 31, D("369.00"))
    assert line.amount == D("261.87")
    assert "22/31" in line.description
    assert invoice_totals(lines) == (D("261.87"), D("18.33"), D("280.20"))


def test_worked_example_january_is_full_price():
    lines = month_charges(NOV10, 2027, 1)
    assert amounts(lines) == [("crm", D("369.00"))]
    assert (lines[0].days, lines[0].days_in_month) == (31, 31)
    assert invoice_totals(lines) == (D("369.00"), D("25.83"), D("394.83"))


def test_months_before_subscription_are_empty():
    assert month_charges(NOV10, 2026, 10) == []
    assert month_charges([], 2026, 12) == []


def test_trial_is_thirty_days_inclusive():
    events = [ev("subscribe", 2026, 11, 10)]
    assert service_active(events, bkk(2026, 11, 10, 0, 0))
    assert not service_active(events, bkk(2026, 11, 9, 23, 59))
    assert status(events, date(2026, 12, 9)).state == "trial"
    assert status(events, date(2026, 12, 10)).state == "active"


# --------------------------------------------------------------------------
# Leap February and a trial ending on a month's last day
# --------------------------------------------------------------------------


def test_leap_february_first_paid_day_2028_02_10():
    events = [ev("subscribe", 2028, 1, 11)]  # trial 2028-01-11 .. 2028-02-09
    assert status(events, date(2028, 1, 11)).trial_end == date(2028, 2, 9)
    assert month_charges(events, 2028, 1) == []
    (line,) = month_charges(events, 2028, 2)
    assert (line.period_start, line.period_end) == (date(2028, 2, 10), date(2028, 2, 29))
    assert (line.days, line.days_in_month) == (20, 29)
    assert line.amount == D("254.48")  # 369 x 20 / 29 = 254.4827...
    assert invoice_totals([line]) == (D("254.48"), D("17.81"), D("272.29"))
    assert amounts(month_charges(events, 2028, 3)) == [("crm", D("369.00"))]


def test_non_leap_february_for_contrast():
    events = [ev("subscribe", 2027, 1, 11)]  # first paid day 2027-02-10
    (line,) = month_charges(events, 2027, 2)
    assert (line.days, line.days_in_month, line.amount) == (19, 28, D("250.39"))  # 369 x 19 / 28


def test_trial_ending_on_the_last_day_of_a_month_gives_a_full_first_month():
    events = [ev("subscribe", 2026, 11, 1)]  # trial 11-01 .. 11-30
    assert month_charges(events, 2026, 11) == []
    (line,) = month_charges(events, 2026, 12)
    assert (line.period_start, line.period_end, line.days, line.days_in_month) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        31,
        31,
    )
    assert line.amount == D("369.00")
    assert "pro rata" not in line.description


def test_trial_ending_on_february_28_gives_a_full_march():
    events = [ev("subscribe", 2027, 1, 30)]  # trial 2027-01-30 .. 2027-02-28
    assert status(events, date(2027, 1, 30)).trial_end == date(2027, 2, 28)
    assert month_charges(events, 2027, 2) == []
    assert amounts(month_charges(events, 2027, 3)) == [("crm", D("369.00"))]


def test_first_paid_day_on_the_last_day_of_a_month():
    events = [ev("subscribe", 2026, 12, 2)]  # first paid day 2027-01-01
    assert amounts(month_charges(events, 2027, 1)) == [("crm", D("369.00"))]
    events = [ev("subscribe", 2026, 12, 1)]  # first paid day 2026-12-31
    (line,) = month_charges(events, 2026, 12)
    assert (line.days, line.amount) == (1, D("11.90"))  # 369 / 31 = 11.903...


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2035, 12, 31)))
def test_proration_matches_the_formula_for_any_binding_day(binding):
    events = [SubscriptionEvent("subscribe", binding)]
    first_paid = binding + timedelta(days=30)
    lines = month_charges(events, first_paid.year, first_paid.month)
    assert len(lines) == 1
    line = lines[0]
    assert line.period_start == first_paid
    assert line.days == line.days_in_month - first_paid.day + 1
    expected = (D(369) * line.days / line.days_in_month).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert line.amount == expected
    assert D("0") < line.amount <= D("369.00")


# --------------------------------------------------------------------------
# Pro
# --------------------------------------------------------------------------

PRO_FEB = NOV10 + [ev("pro", 2027, 2, 10)]


def test_pro_move_month_pays_both():
    lines = month_charges(PRO_FEB, 2027, 2)
    assert amounts(lines) == [("crm", D("369.00")), ("pro", D("1780.00"))]
    assert invoice_totals(lines) == (D("2149.00"), D("150.43"), D("2299.43"))


def test_month_after_pro_move_is_pro_only():
    lines = month_charges(PRO_FEB, 2027, 3)
    assert amounts(lines) == [("pro", D("1780.00"))]
    assert invoice_totals(lines) == (D("1780.00"), D("124.60"), D("1904.60"))
    assert status(PRO_FEB, date(2027, 3, 1)).plan == "pro"


def test_pro_move_in_the_first_paid_month_keeps_the_pro_rata_crm_line():
    events = NOV10 + [ev("pro", 2026, 12, 20)]
    assert amounts(month_charges(events, 2026, 12)) == [("crm", D("261.87")), ("pro", D("1780.00"))]
    assert amounts(month_charges(events, 2027, 1)) == [("pro", D("1780.00"))]


def test_pro_move_during_the_trial_pays_no_crm():
    events = NOV10 + [ev("pro", 2026, 11, 20)]
    assert amounts(month_charges(events, 2026, 11)) == [("pro", D("1780.00"))]
    assert amounts(month_charges(events, 2026, 12)) == [("pro", D("1780.00"))]


PRO_CANCEL = PRO_FEB + [ev("cancel_pro", 2027, 3, 15)]


def test_pro_cancel_month_is_still_pro_and_crm_stops_next_month():
    assert amounts(month_charges(PRO_CANCEL, 2027, 3)) == [("pro", D("1780.00"))]
    assert month_charges(PRO_CANCEL, 2027, 4) == []
    assert service_active(PRO_CANCEL, bkk(2027, 3, 31, 23, 59))
    assert not service_active(PRO_CANCEL, bkk(2027, 4, 1, 0, 0))
    st_ = status(PRO_CANCEL, date(2027, 3, 20))
    assert (st_.plan, st_.state, st_.cancelled_on, st_.service_ends) == (
        "pro",
        "cancelled",
        date(2027, 3, 15),
        date(2027, 3, 31),
    )


def test_resume_after_pro_cancel_is_refused_before_the_first_of_next_month():
    with pytest.raises(BillingRuleError) as err:
        validate_events(PRO_CANCEL + [ev("resume", 2027, 3, 31)])
    message = str(err.value)
    assert "2027-04-01" in message and "\n" not in message


def test_resume_after_pro_cancel_from_the_first_of_next_month():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 1)]
    assert amounts(month_charges(events, 2027, 4)) == [("crm", D("369.00"))]
    assert service_active(events, bkk(2027, 4, 1, 0, 0))
    st_ = status(events, date(2027, 4, 2))
    assert (st_.plan, st_.state, st_.cancelled_on, st_.purge_after) == ("crm", "active", None, None)


def test_late_resume_after_pro_cancel_is_pro_rata():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 21)]
    (line,) = month_charges(events, 2027, 4)
    assert (line.period_start, line.days, line.days_in_month) == (date(2027, 4, 21), 10, 30)
    assert line.amount == D("123.00")
    assert not service_active(events, bkk(2027, 4, 20, 12))


def test_pro_move_and_cancel_in_the_same_month():
    events = NOV10 + [ev("pro", 2027, 2, 3), ev("cancel_pro", 2027, 2, 20)]
    assert amounts(month_charges(events, 2027, 2)) == [("crm", D("369.00")), ("pro", D("1780.00"))]
    assert month_charges(events, 2027, 3) == []


# --------------------------------------------------------------------------
# CRM cancellation (the rule chosen: service to the end of the month, no refund)
# --------------------------------------------------------------------------

CANCEL_JAN = NOV10 + [ev("cancel", 2027, 1, 12)]


def test_crm_cancel_runs_to_month_end_without_refund_then_nothing():
    assert amounts(month_charges(CANCEL_JAN, 2027, 1)) == [("crm", D("369.00"))]
    assert month_charges(CANCEL_JAN, 2027, 2) == []
    assert service_active(CANCEL_JAN, bkk(2027, 1, 31, 23, 59))
    assert not service_active(CANCEL_JAN, bkk(2027, 2, 1, 0, 0))
    st_ = status(CANCEL_JAN, date(2027, 1, 20))
    assert (st_.state, st_.service_ends, st_.next_charge_month) == ("cancelled", date(2027, 1, 31), "2027-01")
    assert status(CANCEL_JAN, date(2027, 2, 5)).next_charge_month is None


def test_cancel_during_trial_is_never_charged():
    events = NOV10 + [ev("cancel", 2026, 12, 5)]  # trial ends 12-09 in the same month
    assert month_charges(events, 2026, 12) == []
    assert service_active(events, bkk(2026, 12, 9, 23, 0))
    assert not service_active(events, bkk(2026, 12, 10, 0, 0))
    assert status(events, date(2026, 12, 5)).service_ends == date(2026, 12, 9)


def test_cancel_during_trial_spanning_months_ends_with_the_month():
    events = NOV10 + [ev("cancel", 2026, 11, 20)]
    assert status(events, date(2026, 11, 20)).service_ends == date(2026, 11, 30)
    assert month_charges(events, 2026, 12) == []


def test_resume_before_service_end_withdraws_the_cancellation():
    events = CANCEL_JAN + [ev("resume", 2027, 1, 25)]
    assert amounts(month_charges(events, 2027, 1)) == [("crm", D("369.00"))]
    assert amounts(month_charges(events, 2027, 2)) == [("crm", D("369.00"))]
    assert purge_after(events) is None


def test_resume_after_crm_cancel_charges_pro_rata_from_the_resume_day():
    events = CANCEL_JAN + [ev("resume", 2027, 3, 17)]
    assert month_charges(events, 2027, 2) == []
    (line,) = month_charges(events, 2027, 3)
    assert (line.period_start, line.days, line.days_in_month) == (date(2027, 3, 17), 15, 31)
    assert line.amount == D("178.55")  # 369 x 15 / 31 = 178.548...


def test_resume_within_the_original_trial_window_does_not_restart_the_trial():
    events = NOV10 + [ev("cancel", 2026, 11, 15), ev("resume", 2026, 12, 3)]
    (line,) = month_charges(events, 2026, 12)
    assert line.period_start == date(2026, 12, 10)
    assert status(events, date(2026, 12, 3)).state == "trial"


# --------------------------------------------------------------------------
# Sequence rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "needle"),
    [
        ([ev("cancel", 2026, 11, 1)], "subscribe"),
        ([ev("resume", 2026, 11, 1)], "subscribe"),
        ([ev("pro", 2026, 11, 1)], "subscribe"),
        ([ev("cancel_pro", 2026, 11, 1)], "subscribe"),
        (NOV10 + [ev("resume", 2026, 12, 1)], "nothing to resume"),
        (NOV10 + [ev("subscribe", 2027, 1, 1)], "resume"),
        (NOV10 + [ev("cancel_pro", 2027, 1, 1)], "not on Pro"),
        (PRO_FEB + [ev("cancel", 2027, 3, 1)], "--pro"),
        (PRO_FEB + [ev("pro", 2027, 3, 1)], "already on Pro"),
        (CANCEL_JAN + [ev("cancel", 2027, 1, 20)], "already cancelled"),
        (CANCEL_JAN + [ev("pro", 2027, 1, 20)], "resume"),
        (PRO_CANCEL + [ev("pro", 2027, 3, 20)], "2027-04-01"),
        (PRO_CANCEL + [ev("cancel_pro", 2027, 3, 20)], "not on Pro"),
    ],
)
def test_invalid_sequences_are_refused_with_a_one_line_hint(events, needle):
    with pytest.raises(BillingRuleError) as err:
        validate_events(events)
    assert isinstance(err.value, Conflict) and err.value.exit_code == ExitCode.CONFLICT
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_events_are_applied_in_day_order_whatever_the_list_order():
    events = [ev("cancel", 2027, 1, 12), ev("subscribe", 2026, 11, 10)]
    assert month_charges(events, 2027, 2) == []
    assert amounts(month_charges(events, 2027, 1)) == [("crm", D("369.00"))]


def test_event_construction_is_checked():
    with pytest.raises(BillingRuleError, match="unknown subscription event"):
        SubscriptionEvent("upgrade", date(2026, 1, 1))
    with pytest.raises(BillingRuleError, match="UTC offset"):
        SubscriptionEvent("resume", date(2026, 1, 1), datetime(2026, 1, 1, 9, 0))
    with pytest.raises(BillingRuleError, match="not on 2026-01-01"):
        # 2026-01-01 20:00 UTC is already 2 January in Bangkok
        SubscriptionEvent("resume", date(2026, 1, 1), datetime(2026, 1, 1, 20, 0, tzinfo=timezone.utc))
    with pytest.raises(BillingRuleError):
        SubscriptionEvent("resume", datetime(2026, 1, 1, 9, 0))  # a datetime is not a day
    default = SubscriptionEvent("resume", date(2026, 1, 1))
    assert default.moment == bkk(2026, 1, 1, 0, 0)


def test_month_is_checked():
    with pytest.raises(ValueError):
        month_charges(NOV10, 2026, 13)
    with pytest.raises(ValueError):
        invoice_due_date(2026, 0)


# --------------------------------------------------------------------------
# Service state and order eligibility
# --------------------------------------------------------------------------


def test_service_active_needs_an_aware_instant_and_judges_in_bangkok():
    with pytest.raises(ValueError):
        service_active(NOV10, datetime(2026, 11, 10, 12, 0))
    # 2026-11-09 17:30 UTC is 2026-11-10 00:30 in Bangkok
    assert service_active(NOV10, datetime(2026, 11, 9, 17, 30, tzinfo=timezone.utc))
    assert not service_active(NOV10, datetime(2026, 11, 9, 16, 30, tzinfo=timezone.utc))
    # the last service day ends at 24:00 Bangkok, i.e. 17:00 UTC
    assert service_active(CANCEL_JAN, datetime(2027, 1, 31, 16, 59, tzinfo=timezone.utc))
    assert not service_active(CANCEL_JAN, datetime(2027, 1, 31, 17, 0, tzinfo=timezone.utc))


def test_subscribe_time_is_when_the_service_starts():
    events = [ev("subscribe", 2026, 11, 10, at=(10, 30))]
    assert not service_active(events, bkk(2026, 11, 10, 10, 29))
    assert service_active(events, bkk(2026, 11, 10, 10, 30))


def sync(y, m, d):
    return bkk(y, m, d, 19, 0)


def test_orders_while_active_are_eligible():
    assert order_eligibility(NOV10, bkk(2026, 11, 10, 9), sync(2026, 11, 10)) == (True, None)
    assert order_eligibility(CANCEL_JAN, bkk(2027, 1, 31, 23, 59), sync(2027, 2, 1)) == (True, None)


def test_orders_while_inactive_earn_nothing_with_a_reason():
    ok, reason = order_eligibility(CANCEL_JAN, bkk(2027, 2, 10, 9), sync(2027, 2, 10))
    assert not ok
    assert "not active" in reason and "2027-01-31" in reason
    ok, reason = order_eligibility(NOV10, bkk(2026, 11, 9, 12), sync(2026, 11, 10))
    assert not ok and "before the store subscribed" in reason
    ok, reason = order_eligibility([], bkk(2026, 11, 9, 12), sync(2026, 11, 10))
    assert not ok and "no MyCustomer | CRM subscription" in reason


def test_resume_on_the_first_before_18_gets_the_day_from_midnight():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 1, at=(17, 59))]
    assert not service_active(events, bkk(2027, 4, 1, 0, 5))
    assert order_eligibility(events, bkk(2027, 4, 1, 0, 0), sync(2027, 4, 1)) == (True, None)
    assert order_eligibility(events, bkk(2027, 4, 1, 12, 0), sync(2027, 4, 1)) == (True, None)
    # but not the day before
    assert order_eligibility(events, bkk(2027, 3, 31, 23, 59), sync(2027, 4, 1)) == (True, None)
    resumed = CANCEL_JAN + [ev("resume", 2027, 3, 1, at=(9, 0))]
    ok, reason = order_eligibility(resumed, bkk(2027, 2, 28, 23, 0), sync(2027, 3, 1))
    assert not ok and "not active" in reason  # the day before the 1st is not covered


def test_resume_on_the_first_at_18_or_later_does_not_cover_earlier_orders():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 1, at=(18, 0))]
    ok, reason = order_eligibility(events, bkk(2027, 4, 1, 10, 0), sync(2027, 4, 1))
    assert not ok
    assert "18:00" in reason and "resubscribed at 18:00" in reason
    assert order_eligibility(events, bkk(2027, 4, 1, 18, 30), sync(2027, 4, 1)) == (True, None)


def test_resume_before_18_on_another_day_does_not_cover_earlier_orders():
    events = CANCEL_JAN + [ev("resume", 2027, 3, 2, at=(9, 0))]
    ok, reason = order_eligibility(events, bkk(2027, 3, 2, 8, 0), sync(2027, 3, 2))
    assert not ok and "not active" in reason
    assert order_eligibility(events, bkk(2027, 3, 2, 9, 0), sync(2027, 3, 2)) == (True, None)


def test_resume_without_a_time_counts_from_midnight():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 1)]
    assert order_eligibility(events, bkk(2027, 4, 1, 0, 0), sync(2027, 4, 1)) == (True, None)


def test_only_events_known_at_sync_time_count():
    events = PRO_CANCEL + [ev("resume", 2027, 4, 1, at=(12, 0))]
    ok, _ = order_eligibility(events, bkk(2027, 4, 1, 9, 0), bkk(2027, 4, 1, 11, 0))
    assert not ok  # at 11:00 the store had not resubscribed yet
    assert order_eligibility(events, bkk(2027, 4, 1, 9, 0), bkk(2027, 4, 2, 19, 0)) == (True, None)


def test_order_eligibility_rejects_naive_times_and_future_orders():
    with pytest.raises(ValueError):
        order_eligibility(NOV10, datetime(2026, 11, 12, 9), sync(2026, 11, 12))
    with pytest.raises(ValueError):
        order_eligibility(NOV10, bkk(2026, 11, 12, 9), datetime(2026, 11, 12, 19))
    with pytest.raises(ValueError, match="later run"):
        order_eligibility(NOV10, bkk(2026, 11, 12, 20), sync(2026, 11, 12))


# --------------------------------------------------------------------------
# Purge, status, invoices
# --------------------------------------------------------------------------


def test_purge_is_90_days_after_the_last_day_of_the_cancellation_month():
    events = NOV10 + [ev("cancel", 2026, 11, 20)]
    assert purge_after(events) == date(2026, 11, 30) + timedelta(days=90) == date(2027, 2, 28)
    assert not purge_due(events, date(2027, 2, 27))
    assert purge_due(events, date(2027, 2, 28))
    assert status(events, date(2026, 12, 1)).purge_after == date(2027, 2, 28)


def test_purge_after_a_pro_cancel_counts_from_the_month_the_crm_is_cancelled():
    # Pro cancelled in March 2027: the CRM is cancelled in April -> 2027-04-30 + 90 days
    assert purge_after(PRO_CANCEL) == date(2027, 7, 29)


def test_no_purge_when_not_cancelled_or_resumed():
    assert purge_after([]) is None
    assert purge_after(NOV10) is None
    assert purge_after(PRO_CANCEL + [ev("resume", 2027, 4, 1)]) is None
    assert not purge_due(NOV10, date(2099, 1, 1))


def test_purge_in_a_leap_year():
    events = [ev("subscribe", 2027, 10, 1), ev("cancel", 2027, 11, 3)]
    assert purge_after(events) == date(2028, 2, 28)  # 2027-11-30 + 90 days, February 2028 has 29
    events = [ev("subscribe", 2027, 10, 1), ev("cancel", 2027, 12, 3)]
    assert purge_after(events) == date(2028, 3, 30)


def test_status_before_and_through_the_life_of_a_store():
    assert status(NOV10, date(2026, 11, 9)) == billing.BillingStatus(
        None, "none", None, None, None, None, None, None
    )
    s = status(NOV10, date(2026, 11, 15))
    assert (s.plan, s.state, s.next_charge_month) == ("crm", "trial", "2026-12")
    s = status(NOV10, date(2027, 1, 15))
    assert (s.plan, s.state, s.next_charge_month) == ("crm", "active", "2027-01")
    s = status(PRO_FEB, date(2027, 2, 10))
    assert (s.plan, s.state) == ("pro", "active")
    s = status(PRO_CANCEL, date(2027, 5, 1))
    assert (s.state, s.service_ends, s.next_charge_month, s.purge_after) == (
        "cancelled",
        date(2027, 3, 31),
        None,
        date(2027, 7, 29),
    )


def test_status_ignores_events_after_the_day():
    s = status(CANCEL_JAN, date(2027, 1, 11))
    assert (s.state, s.cancelled_on) == ("active", None)


def test_invoice_due_on_the_15th_of_the_next_month():
    assert invoice_due_date(2026, 12) == date(2027, 1, 15)
    assert invoice_due_date(2027, 1) == date(2027, 2, 15)
    due = invoice_due_date(2027, 1)
    assert not is_overdue(due, date(2027, 2, 15))
    assert is_overdue(due, date(2027, 2, 16))


def test_vat_is_on_the_subtotal_not_per_line():
    a = ChargeLine("crm", "x", date(2026, 1, 1), date(2026, 1, 1), 1, 31, D("369.00"), D("0.07"))
    b = ChargeLine("crm", "y", date(2026, 1, 2), date(2026, 1, 2), 1, 31, D("369.00"), D("0.07"))
    # per line VAT would be 0.00 + 0.00; on the subtotal 0.14 x 7% = 0.0098 -> 0.01
    assert invoice_totals([a, b]) == (D("0.14"), D("0.01"), D("0.15"))
