"""Column types shared by every table: exact money and UTC timestamps."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.types import BigInteger, DateTime, TypeDecorator

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """THB amounts as Decimal in Python, stored as integer satang (exact on both databases)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        d = Decimal(value)
        if d != d.quantize(CENT):
            raise ValueError(f"money value {value} has more than 2 decimal places")
        return int(d.quantize(CENT) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class PointValue(TypeDecorator):
    """THB value of one point (e.g. 0.05 or 0.0125) as Decimal in Python, stored as an
    integer count of 1/10,000 THB (exact on both databases)."""

    impl = BigInteger
    cache_ok = True
    PLACES = Decimal("0.0001")

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        d = Decimal(value)
        if d != d.quantize(self.PLACES):
            raise ValueError(f"point value {value} has more than 4 decimal places")
        return int(d.quantize(self.PLACES) * 10000)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 10000).quantize(self.PLACES)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in Python, stored as naive UTC on both databases."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime (UTC)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text from a core query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)
