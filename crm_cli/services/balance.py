"""A points account's balance and its lots in spending order (SPEC: points balance).

Read with plain SQL on ``bind`` -- the unit of work's ORM Session or its Core
connection -- so `crm points balance` starts without building the model classes.
The balance is derived from the ledger: every positive entry is a lot, less what the
lot allocations of later debits took from it; expired lots do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from crm_cli.db.uow import execute
from crm_cli.domain.errors import NotFound


@dataclass(frozen=True)
class LotView:
    entry_id: int
    kind: str
    earned_at: datetime
    points: int
    remaining: int
    expires_at: datetime | None
    expires_on: str  # Bangkok date of the last valid day, or "never"


@dataclass(frozen=True)
class BalanceInfo:
    phone: str
    registered: bool
    balance: int
    debt: int
    next_expiry_on: str | None
    next_expiry_points: int
    lots: list[LotView]


def expires_on(expires_at: datetime | None) -> str:
    """The last valid Bangkok day of a lot (``expires_at`` is the end of that day), or "never"."""
    if expires_at is None:
        return "never"
    from crm_cli.domain.timeutil import bkk_date

    return (bkk_date(expires_at) - timedelta(days=1)).isoformat()


def lot_view(*, entry_id: int, kind: str, points: int, remaining: int, created_at: datetime,
             expires_at: datetime | None) -> LotView:
    return LotView(entry_id=entry_id, kind=kind, earned_at=created_at, points=points, remaining=remaining,
                   expires_at=expires_at, expires_on=expires_on(expires_at))


@lru_cache(maxsize=None)
def _statements() -> dict[str, Any]:
    from sqlalchemy import bindparam, text

    from crm_cli.db.types import UTCDateTime

    return {
        "member": text("SELECT id, phone, registered_at FROM member WHERE store_id = :store_id AND phone = :phone")
        .columns(registered_at=UTCDateTime()),
        # lots with points left, soonest-expiring first, never-expiring last
        "lots": text(
            "SELECT e.id, e.kind, e.points, e.created_at, e.expires_at, e.points - COALESCE(a.used, 0) AS rem "
            "FROM ledger_entry e LEFT OUTER JOIN ("
            " SELECT la.lot_entry_id, SUM(la.points) AS used FROM lot_allocation la"
            " JOIN ledger_entry l ON l.id = la.lot_entry_id"
            " WHERE l.member_id = :member_id AND l.points > 0 GROUP BY la.lot_entry_id"
            ") a ON a.lot_entry_id = e.id "
            "WHERE e.member_id = :member_id AND e.points > 0 AND e.points - COALESCE(a.used, 0) > 0 "
            "AND (e.expires_at IS NULL OR e.expires_at > :now) "
            "ORDER BY e.expires_at IS NULL, e.expires_at, e.id"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        .columns(created_at=UTCDateTime(), expires_at=UTCDateTime()),
        "debt": text("SELECT COALESCE(SUM(debt), 0) FROM ledger_entry WHERE member_id = :member_id"),
    }


def lot_rows(bind, member_id: int, now: datetime) -> list[Any]:
    """The member's lots with points left at ``now``, in spending order: soonest-expiring
    first, never-expiring last (rows: id, kind, points, created_at, expires_at, rem)."""
    return list(execute(bind, _statements()["lots"], {"member_id": member_id, "now": now}).all())


def balance(bind, *, store_id: int, phone: str, now: datetime, limit: int = 10) -> BalanceInfo:
    """Balance now and the lots in spending order (soonest-expiring first); at most ``limit`` lots listed."""
    from crm_cli.domain.member_fields import phone as normalize

    sql = _statements()
    m = execute(bind, sql["member"], {"store_id": store_id, "phone": normalize(phone)}).first()
    if m is None:
        raise NotFound(f"no member or points account for {phone} in this store")
    views = [
        lot_view(entry_id=r.id, kind=r.kind, points=r.points, remaining=int(r.rem), created_at=r.created_at,
                 expires_at=r.expires_at)
        for r in lot_rows(bind, m.id, now)
    ]
    dated = [v for v in views if v.expires_at is not None]
    nxt = dated[0].expires_on if dated else None
    nxt_points = sum(v.remaining for v in dated if v.expires_on == nxt) if nxt else 0
    debt = execute(bind, sql["debt"], {"member_id": m.id}).scalar_one()
    return BalanceInfo(
        phone=m.phone or "", registered=m.registered_at is not None, balance=sum(v.remaining for v in views),
        debt=int(debt), next_expiry_on=nxt, next_expiry_points=nxt_points, lots=views[:limit],
    )
