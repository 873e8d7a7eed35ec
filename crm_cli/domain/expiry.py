"""When a lot of points expires, from the store's policy at the moment it was earned."""

from __future__ import annotations

from datetime import date, datetime

from dateutil.relativedelta import relativedelta

from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.timeutil import bkk_date, end_of_bkk_day

POLICIES = ("never", "rolling", "year_end")
MAX_ROLLING_MONTHS = 24


def validate_policy(policy: str, months: int | None) -> tuple[str, int | None]:
    if policy not in POLICIES:
        raise InvalidInput(f"unknown expiry policy '{policy}': use rolling N, year-end or never")
    if policy == "rolling":
        if months is None or not 1 <= months <= MAX_ROLLING_MONTHS:
            raise InvalidInput(f"rolling expiry needs 1 to {MAX_ROLLING_MONTHS} months, got {months}")
        return policy, months
    return policy, None


def expiry_day(policy: str, months: int | None, earned_day: date) -> date | None:
    """The last Bangkok day on which the lot is still valid (None = never expires).

    Rolling N: N calendar months after the day earned, clamped to the month's end
    (31 Jan + 1 month = 28/29 Feb). Year-end: 31 December of the year earned.
    """
    if policy == "never":
        return None
    if policy == "rolling":
        day: date = earned_day + relativedelta(months=months)
        return day
    if policy == "year_end":
        return date(earned_day.year, 12, 31)
    raise InvalidInput(f"unknown expiry policy '{policy}'")


def lot_expires_at(policy: str, months: int | None, earned_at: datetime) -> datetime | None:
    """The instant the lot stops counting: the end of its expiry day in Bangkok (exclusive, UTC)."""
    day = expiry_day(policy, months, bkk_date(earned_at))
    return None if day is None else end_of_bkk_day(day)
