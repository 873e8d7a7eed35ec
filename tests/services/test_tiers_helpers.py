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


def silver_gold_store(session, now: datetime, slug: str = "cafe") -> Store:
    """A store with tiers on: Silver from 10 points, Gold from 100."""
    from crm_cli.db.models import Tier
    from crm_cli.services import stores

    stores.create_store(session, slug=slug, name=slug.title(), phone_raw=None, email=None, now=now)
    st = store_row(session, slug)
    st.tiers_enabled = True
    for name, th in (("Silver", 10), ("Gold", 100)):
        session.add(Tier(store_id=st.id, name=name, threshold=th, created_at=now))
    session.flush()
    return st


def while_placed(engine, member_id: int, tier_id: int, work):
    """Run ``work()`` in a thread while a recalculation's placement of the member at
    ``tier_id`` is written but not committed; the work must wait for it (a lift touches the
    same member_tier row), then the placement commits. Returns what ``work`` returned."""
    import threading

    from sqlalchemy import text

    got: dict = {}
    with engine.connect() as placing:
        placing.execute(text("INSERT INTO member_tier (member_id, tier_id) VALUES (:m, :t)"),
                        {"m": member_id, "t": tier_id})
        worker = threading.Thread(target=lambda: got.update(res=work()))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waiting for the placement's row
        placing.commit()
    worker.join(30)
    return got["res"]
