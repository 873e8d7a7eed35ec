"""Pure tier rules: the window of earned points that decides a tier, and the tier reached."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, Sequence, TypeVar

from dateutil.relativedelta import relativedelta

from crm_cli.domain.timeutil import bkk_date, start_of_bkk_day


class HasThreshold(Protocol):
    threshold: int


T = TypeVar("T", bound=HasThreshold)


def window_start(cycle_months: int, now: datetime) -> datetime:
    """Start of the tier window: the same Bangkok day ``cycle_months`` ago, 00:00."""
    return start_of_bkk_day(bkk_date(now) - relativedelta(months=cycle_months))


def tier_for(tiers: Sequence[T], earned: int) -> T | None:
    """The highest tier (of ``tiers`` sorted by threshold) reached with ``earned`` points."""
    target = None
    for t in tiers:
        if t.threshold <= earned:
            target = t
    return target
