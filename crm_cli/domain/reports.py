"""Pure rules of the reports: the breakage rate as the accountant writes it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from crm_cli.domain.errors import InvalidInput

RATE_PLACES = Decimal("0.0001")


def parse_rate(raw: str) -> Decimal:
    """'0.15', '15%' -> Decimal('0.1500'); must lie in [0, 1]."""
    s = raw.strip()
    try:
        d = Decimal(s[:-1]) / 100 if s.endswith("%") else Decimal(s)
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"invalid breakage rate '{raw}': give a fraction like 0.15 or a percentage like 15%") from None
    if not d.is_finite() or d < 0 or d > 1:
        raise InvalidInput(f"breakage rate '{raw}' must be between 0 and 1 (0% and 100%)")
    return d.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
