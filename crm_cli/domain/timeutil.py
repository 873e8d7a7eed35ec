"""Business time: Asia/Bangkok dates over UTC timestamps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

BKK = ZoneInfo("Asia/Bangkok")
UTC = timezone.utc


def bkk_date(at: datetime) -> date:
    return at.astimezone(BKK).date()


def start_of_bkk_day(day: date) -> datetime:
    """00:00 Bangkok of ``day``, as an aware UTC datetime."""
    return datetime.combine(day, time(0), BKK).astimezone(UTC)


def end_of_bkk_day(day: date) -> datetime:
    """The instant the Bangkok day ends (= next day 00:00 Bangkok), aware UTC; exclusive bound."""
    return start_of_bkk_day(day + timedelta(days=1))


def parse_day(raw: str) -> date:
    from crm_cli.domain.errors import InvalidInput

    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"invalid date '{raw}': use YYYY-MM-DD") from None


def parse_moment(raw: str) -> datetime:
    """ISO date or datetime; a date or a naive time is read as Bangkok time."""
    from crm_cli.domain.errors import InvalidInput

    s = raw.strip()
    try:
        if len(s) == 10:
            return start_of_bkk_day(date.fromisoformat(s))
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise InvalidInput(f"invalid date/time '{raw}': use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+07:00]") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=BKK)
    return dt.astimezone(UTC)


def parse_event_date(raw: str) -> tuple[date, datetime | None]:
    """``--date`` of a billing command: YYYY-MM-DD, or a date and time (Bangkok unless an
    offset is given). Returns the Bangkok day and the moment, if one was given."""
    s = raw.strip()
    if len(s) == 10:
        return parse_day(s), None
    at = parse_moment(s)
    return bkk_date(at), at
