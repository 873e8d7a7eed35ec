"""Helpers for the tier and reward tests: registered members and earned points, written directly."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from crm_cli.db.models import Member, Store


def store_row(session, slug: str = "cafe") -> Store:
    return session.exec(select(Store).where(Store.slug == slug)).one()


def member(session, phone: str, *, slug: str = "cafe", registered: bool = True, name: str | None = None,
           address: str | None = None, now: datetime | None = None) -> int:
    from crm_cli.services.common import phone as norm

    now = now or datetime.now(timezone.utc)
    s = store_row(session, slug)
    m = Member(store_id=s.id, phone=norm(phone), created_at=now, registered_at=now if registered else None,
               name=name or f"Member {phone[-4:]}", address=address, source="form" if registered else "points")
    session.add(m)
    session.flush()
    return m.id


def earn(session, phone: str, points: int, *, slug: str = "cafe", at: datetime | None = None,
         kind: str = "earn", lift: bool = True) -> None:
    from crm_cli.services import ledger, tiers
    from crm_cli.services.common import get_member

    at = at or datetime.now(timezone.utc)
    s = store_row(session, slug)
    m = get_member(session, s.id, phone)
    # refunds are always keyed (source 'refund'), as the rewards service writes them
    idem = ("refund", f"test:{m.id}:{at.isoformat()}:{points}") if kind == "refund" else None
    ledger.credit(session, store=s, member_id=m.id, kind=kind, points=points, now=at, channel="counter", idem=idem)
    if lift:
        tiers.lift_on_earn(session, store=s, member_id=m.id, now=at)
