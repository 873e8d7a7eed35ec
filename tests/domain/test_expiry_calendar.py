"""When lots expire: calendar edges in Bangkok time (pure)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.expiry import expiry_day, lot_expires_at, validate_policy
from crm_cli.domain.timeutil import BKK, end_of_bkk_day

UTC = timezone.utc


def bkk(*a) -> datetime:
    return datetime(*a, tzinfo=BKK).astimezone(UTC)


def test_leap_day_rolling_12_ends_28_feb():
    assert expiry_day("rolling", 12, date(2024, 2, 29)) == date(2025, 2, 28)
    assert lot_expires_at("rolling", 12, bkk(2024, 2, 29, 10)) == datetime(2025, 2, 28, 17, 0, tzinfo=UTC)


def test_31_jan_plus_one_month_is_end_of_february():
    assert expiry_day("rolling", 1, date(2026, 1, 31)) == date(2026, 2, 28)
    assert expiry_day("rolling", 1, date(2028, 1, 31)) == date(2028, 2, 29)
    assert lot_expires_at("rolling", 1, bkk(2026, 1, 31, 12)) == end_of_bkk_day(date(2026, 2, 28))


def test_year_end_uses_the_bangkok_year():
    # 23:30 on 31 Dec in Bangkok is 16:30 UTC the same day: expires end of 2026-12-31 Bangkok
    earned = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert lot_expires_at("year_end", None, earned) == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    # 00:30 on 1 Jan 2027 Bangkok is still 31 Dec in UTC, but belongs to 2027
    earned = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    assert lot_expires_at("year_end", None, earned) == datetime(2027, 12, 31, 17, 0, tzinfo=UTC)


def test_rolling_uses_the_bangkok_day_earned():
    # 2026-03-31 20:00 UTC is 1 April 03:00 in Bangkok
    assert lot_expires_at("rolling", 1, datetime(2026, 3, 31, 20, tzinfo=UTC)) == end_of_bkk_day(date(2026, 5, 1))


def test_never():
    assert lot_expires_at("never", None, bkk(2026, 1, 1)) is None


@pytest.mark.parametrize("months", [0, 25, None, -1])
def test_rolling_bounds(months):
    with pytest.raises(InvalidInput):
        validate_policy("rolling", months)


def test_policy_names():
    assert validate_policy("rolling", 24) == ("rolling", 24)
    assert validate_policy("year_end", 5) == ("year_end", None)
    with pytest.raises(InvalidInput):
        validate_policy("monthly", None)
