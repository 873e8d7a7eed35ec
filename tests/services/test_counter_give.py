"""The counter's give path (Core statements, a few per give) keeps the ledger's rules: tier
lift with its history, debt settlement, last activity, the API key's use and the key check
that also reads the store's subscription events. Both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from crm_cli.db.models import ApiKey, LedgerEntry, LotAllocation, Member, Tier, TierHistory
from crm_cli.services import apikeys, billing, common, ledger, store_state, stores, tiers
from crm_cli.services import points as svc
from tests.conftest import on_postgresql

UTC = timezone.utc
T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
PHONE = "0812345678"
E164 = "+66812345678"


@pytest.fixture
def sid(uow) -> int:
    with uow() as s:
        store_id, _ = stores.create_store(s, slug="cafe", name="Cafe", phone_raw=None, email=None, now=T0)
        stores.add_branch(s, store_id=store_id, name="Siam", now=T0)
    return store_id


def give(uow, sid, spend, at, **kw):
    with uow() as s:
        return svc.give_for_spend(s, store_id=sid, phone=PHONE, spend=str(spend), now=at, branch="Siam", **kw)


def test_give_lifts_the_tier_once_and_records_the_move(uow, sid):
    with uow() as s:
        tiers.set_enabled(s, store_id=sid, enabled=True)
        tiers.set_tier(s, store_id=sid, name="Silver", threshold=10, benefits=None, now=T0)
        tiers.set_tier(s, store_id=sid, name="Gold", threshold=30, benefits=None, now=T0)
        s.add(Member(store_id=sid, phone=E164, registered_at=T0, source="form", created_at=T0))
    first = give(uow, sid, 350, T0 + timedelta(hours=1), key="R-1")  # 14 points (1 per 25 THB)
    second = give(uow, sid, 100, T0 + timedelta(hours=2))  # 18: still Silver
    third = give(uow, sid, 350, T0 + timedelta(hours=3))  # 32: Gold
    assert (first.new_tier, second.new_tier, third.new_tier) == ("Silver", None, "Gold")
    assert (first.balance, second.balance, third.balance) == (14, 18, 32)
    assert give(uow, sid, 350, T0 + timedelta(hours=4), key="R-1").duplicate  # a replay lifts nothing
    with uow(write=False) as s:
        moves = s.exec(select(TierHistory.old_tier, TierHistory.new_tier, TierHistory.earned_points, TierHistory.reason)
                       .order_by(TierHistory.id)).all()
        m = common.find_member(s, sid, E164)
        gold = s.exec(select(Tier).where(Tier.name == "Gold")).one()
        assert [tuple(r) for r in moves] == [(None, "Silver", 14, "earn"), ("Silver", "Gold", 32, "earn")]
        assert tiers.current_tier_id(s, m.id) == gold.id and m.last_activity_at == T0 + timedelta(hours=3)
        assert svc.balance(s, store_id=sid, phone=PHONE, now=T0 + timedelta(hours=5)).balance == 32


def test_unregistered_account_earns_without_a_tier(uow, sid):
    with uow() as s:
        tiers.set_enabled(s, store_id=sid, enabled=True)
        tiers.set_tier(s, store_id=sid, name="Silver", threshold=1, benefits=None, now=T0)
    r = give(uow, sid, 350, T0)
    assert r.points == 14 and r.new_tier is None and r.balance == 14
    with uow(write=False) as s:
        m = common.find_member(s, sid, E164)
        assert m.registered_at is None and tiers.current_tier_id(s, m.id) is None and m.source == "points"
        assert s.exec(select(TierHistory)).first() is None


def test_give_settles_debt_first(uow, sid):
    give(uow, sid, 100, T0)  # 4 points
    with uow() as s:
        m = common.find_member(s, sid, E164)
        common.lock_member(s, m.id)
        taken = ledger.debit(s, store_id=sid, member_id=m.id, kind="clawback", points=10, now=T0 + timedelta(hours=1),
                             channel="system", partial=True)
        assert taken.shortfall == 6
    r = give(uow, sid, 350, T0 + timedelta(hours=2))  # 14 points, 6 of them settle the debt
    assert r.points == 14 and r.balance == 8
    with uow(write=False) as s:
        settle = s.exec(select(LedgerEntry).where(LedgerEntry.kind == "settle")).one()
        assert (settle.points, settle.debt, settle.ref_entry_id) == (-6, -6, r.entry_id)
        alloc = s.exec(select(LotAllocation).where(LotAllocation.debit_entry_id == settle.id)).one()
        assert (alloc.lot_entry_id, alloc.points) == (r.entry_id, 6)
        card = svc.balance(s, store_id=sid, phone=PHONE, now=T0 + timedelta(hours=3))
        assert card.balance == 8 and card.debt == 0
        assert svc.check_store(s, store_id=sid, now=T0 + timedelta(hours=3)).checks[0].breaches == 0


def test_member_loaded_in_the_same_session_is_refreshed(uow, sid):
    give(uow, sid, 100, T0)
    with uow() as s:
        m = common.find_member(s, sid, E164)
        assert m.last_activity_at == T0
        svc.give_for_spend(s, store_id=sid, phone=PHONE, spend="100", now=T0 + timedelta(days=1))
        assert m.last_activity_at == T0 + timedelta(days=1)


def test_api_key_use_is_written_at_most_once_a_minute(uow, sid):
    with uow() as s:
        made = apikeys.create(s, store_id=sid, branch="Siam", label="POS", now=T0)

    def use(at: datetime) -> datetime | None:
        with uow() as s:
            ident = apikeys.authenticate(s, key=made.key)
            assert ident is not None and ident.branch == "Siam" and ident.store_slug == "cafe"
            apikeys.touch(s, key_id=ident.id, now=at, last_used_at=ident.last_used_at)
        with uow(write=False) as s:
            return s.get(ApiKey, made.id).last_used_at

    assert use(T0) == T0
    assert use(T0 + timedelta(seconds=30)) == T0
    assert use(T0 + timedelta(seconds=61)) == T0 + timedelta(seconds=61)


def test_key_check_reads_the_store_subscription_events(uow, sid):
    with uow() as s:
        made = apikeys.create(s, store_id=sid, branch="Siam", label=None, now=T0)
        billing.record_event(s, store_id=sid, kind="subscribe", day=date(2025, 1, 1), now=T0)
        billing.record_event(s, store_id=sid, kind="cancel", day=date(2025, 1, 20), now=T0)
    with uow(write=False) as s:
        ident = apikeys.authenticate(s, key=made.key)
        assert ident is not None and list(ident.events) == store_state.subscription_events(s, sid)
        assert len(ident.events) == 2
        stores.close_branch(s, store_id=sid, name="Siam", now=T0)
        assert apikeys.authenticate(s, key=made.key) is None  # a closed branch's key is refused


@on_postgresql
def test_a_lift_never_lowers_a_tier_placed_while_it_ran(uow, sid, engine):
    """PostgreSQL: a recalculation places the member at Gold while a give (which reached
    only Silver from the ledger it saw) is writing its lift: the lift waits for the
    placement, then leaves Gold in place and records no move. (SQLite serializes writers.)"""
    from tests.services.test_tiers_helpers import while_placed

    with uow() as s:
        tiers.set_enabled(s, store_id=sid, enabled=True)
        tiers.set_tier(s, store_id=sid, name="Silver", threshold=10, benefits=None, now=T0)
        tiers.set_tier(s, store_id=sid, name="Gold", threshold=30, benefits=None, now=T0)
        s.add(Member(store_id=sid, phone=E164, registered_at=T0, source="form", created_at=T0))
    with uow(write=False) as s:
        mid = common.find_member(s, sid, E164).id
        gold = s.exec(select(Tier).where(Tier.name == "Gold")).one().id
    res = while_placed(engine, mid, gold, lambda: give(uow, sid, 350, T0 + timedelta(hours=1)))
    assert res.points == 14 and res.new_tier is None
    with uow(write=False) as s:
        assert tiers.current_tier_id(s, mid) == gold
        assert s.exec(select(TierHistory)).first() is None
