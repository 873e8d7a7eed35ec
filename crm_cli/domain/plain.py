"""Plain, JSON-safe values from service results: the one representation every output uses
(the commands' JSON and text formats, invoice files, the web API).

Points stay integers; money (Decimal) becomes a string with two decimals; dates and
times become ISO 8601 with their offset, or, for the text formats, Bangkok wall time
to the minute.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from crm_cli.domain.timeutil import BKK

TIME_FORMAT = "%Y-%m-%d %H:%M"


def to_plain(value: Any, *, text: bool = False) -> Any:
    """JSON-safe values; with ``text``, times as Bangkok minutes for the text formats."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name), text=text) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v, text=text) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v, text=text) for v in value]
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, datetime):
        return bangkok_minute(value) if text else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return to_plain(value.model_dump(), text=text)
    return value


def bangkok_minute(value: datetime) -> str:
    """An instant as Bangkok wall time to the minute; a naive time is taken as UTC (as stored)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(BKK).strftime(TIME_FORMAT)
