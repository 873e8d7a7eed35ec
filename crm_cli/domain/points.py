"""Earning rule and amounts: pure functions over ints and Decimals."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from crm_cli.domain.errors import InvalidInput

MAX_SPEND = Decimal("100000000.00")


def parse_amount(raw: str | Decimal | int, *, what: str = "spend") -> Decimal:
    """A positive THB amount with at most 2 decimal places."""
    try:
        d = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"invalid {what} '{raw}': give an amount in THB like 350 or 349.75") from None
    if not d.is_finite():
        raise InvalidInput(f"invalid {what} '{raw}': give an amount in THB like 350 or 349.75")
    if d <= 0:
        raise InvalidInput(f"{what} must be greater than 0, got {raw}")
    if d > MAX_SPEND:  # before quantize, which cannot hold 1e309 at 2 places
        raise InvalidInput(f"{what} {raw} is implausibly large (over {MAX_SPEND})")
    if d != d.quantize(Decimal("0.01")):
        raise InvalidInput(f"{what} '{raw}' has more than 2 decimal places (satang)")
    return d.quantize(Decimal("0.01"))


POINT_VALUE_PLACES = Decimal("0.0001")
MAX_POINT_VALUE = Decimal("100000.00")


def parse_point_value(raw: str | Decimal) -> Decimal:
    """The THB value of one point: a positive Decimal with at most 4 decimal places
    ('0.05', '0.0125', '1'); trailing zeros beyond the satang are dropped ('0.0500' -> 0.05)."""
    try:
        d = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        d = Decimal("NaN")
    if not d.is_finite():
        raise InvalidInput(f"invalid point value '{raw}': give the THB value of one point, like 0.05 or 0.25")
    if d <= 0:
        raise InvalidInput(f"point value must be greater than 0 THB, got {raw}")
    if d != d.quantize(POINT_VALUE_PLACES):
        raise InvalidInput(f"point value '{raw}' has more than 4 decimal places")
    if d > MAX_POINT_VALUE:
        raise InvalidInput(f"point value {raw} is implausibly large (over {MAX_POINT_VALUE} THB)")
    return tidy_point_value(d)


def tidy_point_value(d: Decimal) -> Decimal:
    """Two decimals when that is exact (0.05), else up to four (0.0125)."""
    cents = d.quantize(Decimal("0.01"))
    return cents if cents == d else d.quantize(POINT_VALUE_PLACES).normalize()


def points_for_spend(spend: Decimal, per_points: int, per_amount: Decimal) -> int:
    """X points for every full Y THB spent (rounded down); a spend below Y earns 0."""
    if per_amount <= 0 or per_points < 0:
        raise InvalidInput("earning rule must have --points >= 0 and --per > 0")
    units = (Decimal(spend) / Decimal(per_amount)).to_integral_value(rounding=ROUND_FLOOR)
    return int(units) * per_points
