"""Earning rule and amount parsing (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.points import parse_amount, points_for_spend


@pytest.mark.parametrize(
    "spend, points",
    [("24.99", 0), ("25", 1), ("25.00", 1), ("349.99", 13), ("350", 14), ("0.01", 0), ("1000000", 40000)],
)
def test_one_point_per_25_thb(spend, points):
    assert points_for_spend(parse_amount(spend), 1, Decimal("25")) == points


def test_x_points_per_y_thb_rounds_down():
    assert points_for_spend(Decimal("99.99"), 3, Decimal("50")) == 3
    assert points_for_spend(Decimal("100.00"), 3, Decimal("50")) == 6
    assert points_for_spend(Decimal("10.00"), 1, Decimal("0.50")) == 20


@pytest.mark.parametrize(
    "raw, message",
    [
        ("abc", "invalid spend 'abc': give an amount in THB like 350 or 349.75"),
        ("-5", "spend must be greater than 0, got -5"),
        ("0", "spend must be greater than 0, got 0"),
        ("1.005", "spend '1.005' has more than 2 decimal places (satang)"),
        ("NaN", "invalid spend 'NaN': give an amount in THB like 350 or 349.75"),
    ],
)
def test_bad_amounts(raw, message):
    with pytest.raises(InvalidInput) as exc:
        parse_amount(raw)
    assert str(exc.value) == message


def test_amount_forms():
    assert parse_amount("1,250.5") == Decimal("1250.50")
    assert parse_amount(" 350 ") == Decimal("350.00")
