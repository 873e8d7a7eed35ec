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
    if d != d.quantize(Decimal("0.01")):
        raise InvalidInput(f"{what} '{raw}' has more than 2 decimal places (satang)")
    if d > MAX_SPEND:
        raise InvalidInput(f"{what} {raw} is implausibly large (over {MAX_SPEND})")
    return d.quantize(Decimal("0.01"))


def points_for_spend(spend: Decimal, per_points: int, per_amount: Decimal) -> int:
    """X points for every full Y THB spent (rounded down); a spend below Y earns 0."""
    if per_amount <= 0 or per_points < 0:
        raise InvalidInput("earning rule must have --points >= 0 and --per > 0")
    units = (Decimal(spend) / Decimal(per_amount)).to_integral_value(rounding=ROUND_FLOOR)
    return int(units) * per_points
