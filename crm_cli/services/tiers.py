"""Tiers: a member's tier follows the points earned in the store's rolling cycle."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import func
from sqlmodel import select

from crm_cli.db.models import LedgerEntry, Member, Store, Tier, TierHistory
from crm_cli.domain.timeutil import bkk_date, start_of_bkk_day


def window_start(store: Store, now: datetime) -> datetime:
    """Start of the tier window: the same Bangkok day ``cycle`` months ago, 00:00."""
    return start_of_bkk_day(bkk_date(now) - relativedelta(months=store.tier_cycle_months))


def earned_in_window(session, store: Store, member_id: int, now: datetime) -> int:
    """Points earned (earn, welcome, import, positive adjustments) inside the window."""
    q = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id == member_id,
        LedgerEntry.points > 0,
        LedgerEntry.kind.in_(("earn", "welcome", "import", "adjust")),
        LedgerEntry.created_at >= window_start(store, now),
        LedgerEntry.created_at <= now,
    )
    return int(session.exec(q).one())


def lift_on_earn(session, *, store: Store, member_id: int, now: datetime) -> str | None:
    """Earning lifts a member at once (never lowers: downgrades wait for `tier recalc`).

    Returns the new tier name when the member moved up.
    """
    if not store.tiers_enabled:
        return None
    member = session.get(Member, member_id)
    if member is None or member.registered_at is None:
        return None
    earned = earned_in_window(session, store, member_id, now)
    tiers = session.exec(select(Tier).where(Tier.store_id == store.id).order_by(Tier.threshold)).all()
    target = None
    for t in tiers:
        if t.threshold <= earned:
            target = t
    current = session.get(Tier, member.tier_id) if member.tier_id else None
    if target is None or (current is not None and current.threshold >= target.threshold):
        return None
    member.tier_id = target.id
    session.add(member)
    session.add(TierHistory(store_id=store.id, member_id=member_id, old_tier=current.name if current else None,
                            new_tier=target.name, earned_points=earned, reason="earn", created_at=now))
    session.flush()
    return target.name
