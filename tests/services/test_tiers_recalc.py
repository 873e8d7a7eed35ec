"""tiers.recalc (set-based SQL) agrees with the per-member rule, on both databases."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from crm_cli.db.models import Member, Store, Tier, TierHistory
from crm_cli.domain.tiers import tier_for
from crm_cli.services import ledger, stores, tiers
from tests.conftest import on_postgresql
from tests.services.test_tiers_helpers import member

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("thresholds", [(0, 150, 400), (50, 150, 400)], ids=["base-tier-at-0", "all-need-points"])
def test_recalc_matches_rule_per_member(uow, thresholds):
    """With a tier at 0 every registered member reaches one (PostgreSQL reads every member);
    when every tier needs points, PostgreSQL reads the tier holders and the earners only."""
    rnd = random.Random(5)
    with uow() as s:
        for slug in ("cafe", "bakery"):
            stores.create_store(s, slug=slug, name=slug.title(), phone_raw=None, email=None, now=NOW)
        for st in s.exec(select(Store)).all():
            st.tiers_enabled = True
            st.tier_cycle_months = 6
            for i, th in enumerate(thresholds):
                s.add(Tier(store_id=st.id, name=f"T{i}", threshold=th, created_at=NOW))
        s.flush()
        for slug in ("cafe", "bakery"):
            st = s.exec(select(Store).where(Store.slug == slug)).one()
            for n in range(25):
                mid = member(s, f"08{1 if slug == 'cafe' else 2}0000{n:03d}", slug=slug, now=NOW,
                             registered=n % 7 != 3)
                for k in range(rnd.randint(0, 6)):
                    at = NOW - timedelta(days=rnd.randint(0, 300), hours=rnd.randint(0, 23))
                    kind = rnd.choice(["earn", "earn", "welcome", "import", "adjust", "refund"])
                    idem = ("refund", f"t:{mid}:{k}") if kind == "refund" else None
                    ledger.credit(s, store=st, member_id=mid, kind=kind, points=rnd.randint(1, 120), now=at,
                                  channel="counter", idem=idem)
                if rnd.random() < 0.3:
                    ledger.debit(s, store_id=st.id, member_id=mid, kind="adjust", points=1, now=NOW,
                                 channel="admin", partial=True)
    with uow() as s:
        cafe = s.exec(select(Store).where(Store.slug == "cafe")).one()
        dry = tiers.recalc(s, store_id=cafe.id, as_of=NOW, now=NOW, dry_run=True)
    with uow() as s:
        res = tiers.recalc(s, store_id=cafe.id, as_of=NOW, now=NOW)
        assert (res.moved, res.upgrades, res.downgrades) == (dry.moved, dry.upgrades, dry.downgrades)
        assert {m.phone for m in res.moves} == {m.phone for m in dry.moves}
        ts = tiers._tiers(s, cafe.id)
        for m in s.exec(select(Member).where(Member.store_id == cafe.id)).all():
            if m.registered_at is None:
                assert tiers.current_tier_id(s, m.id) is None
                continue
            earned = tiers.earned_in_window(s, cafe, m.id, NOW)
            want = tier_for(ts, earned)
            assert tiers.current_tier_id(s, m.id) == (want.id if want else None), (m.phone, earned)
        # the other store is untouched, and history holds one row per move
        bakery = s.exec(select(Store).where(Store.slug == "bakery")).one()
        assert all(tiers.current_tier_id(s, m.id) is None
                   for m in s.exec(select(Member).where(Member.store_id == bakery.id)).all())
        assert len(s.exec(select(TierHistory)).all()) == res.moved
    with uow() as s:
        assert tiers.recalc(s, store_id=cafe.id, as_of=NOW, now=NOW).moved == 0



@on_postgresql  # SQLite serializes writers: nothing can change between a recalc's read and its write
def test_members_lifted_while_recalc_runs_keep_their_lift(uow):
    """PostgreSQL stages the moves, then writes them: placements as plain inserts, which a
    concurrent lift of a staged member breaks, so they are written again skipping members
    who hold a tier by now; moves and drops re-check the old tier. Only the moves applied
    get a history row."""
    from crm_cli.services.common import get_member
    from tests.services.test_tiers_helpers import earn, silver_gold_store

    with uow() as s:
        st = silver_gold_store(s, NOW)
        for phone in ("0810000001", "0810000002", "0810000003", "0810000004"):
            member(s, phone, now=NOW - timedelta(days=500))
        earn(s, "0810000001", 150, at=NOW, lift=False)  # no tier, Gold reached: placed
        earn(s, "0810000002", 20, at=NOW, lift=False)  # no tier, Silver reached: placed, but see below
        earn(s, "0810000003", 50, at=NOW)  # Silver ...
        earn(s, "0810000003", 100, at=NOW, lift=False)  # ... and Gold reached: moved up
        earn(s, "0810000004", 50, at=NOW - timedelta(days=400))  # Silver, its points out of the window: dropped
        ids = {p[-1]: get_member(s, st.id, p).id for p in ("0810000001", "0810000002", "0810000003", "0810000004")}
        sid = st.id
    with uow() as s:
        params: dict = {}
        tiers._stage_moves(s, s.get(Store, sid), tiers._tiers(s, sid), NOW, params)
        with uow() as other:  # meanwhile 2 and 4 earn 100 each and are lifted to Gold
            earn(other, "0810000002", 100, at=NOW)
            earn(other, "0810000004", 100, at=NOW)
        tiers._write_staged(s, {"sid": sid, "reason": "recalc", "now": NOW})
    with uow(write=False) as s:
        held = {k: (t.name if (t := tiers.current_tier(s, mid)) else None) for k, mid in ids.items()}
        assert held == {"1": "Gold", "2": "Gold", "3": "Gold", "4": "Gold"}
        rows = s.exec(select(TierHistory.member_id, TierHistory.old_tier, TierHistory.new_tier, TierHistory.reason)
                      .order_by(TierHistory.id)).all()
        by = {v: k for k, v in ids.items()}
        assert sorted((by[r[0]], r[1] or "-", r[2] or "-", r[3]) for r in rows) == [
            ("1", "-", "Gold", "recalc"),
            ("2", "-", "Gold", "earn"),  # the lift; the recalc's placement at Silver skipped
            ("3", "-", "Silver", "earn"),
            ("3", "Silver", "Gold", "recalc"),
            ("4", "-", "Silver", "earn"),
            ("4", "Silver", "Gold", "earn"),  # the lift; the recalc's drop skipped
        ]


@on_postgresql  # SQLite serializes writers
def test_an_earn_never_lowers_a_tier_placed_while_it_ran(uow, engine):
    """The service's lift (marketplace orders, the points service's other credits) raises the
    tier with the same upsert as the counter: it waits for a recalculation's uncommitted Gold
    placement, then leaves Gold and records no move."""
    from crm_cli.services.common import get_member
    from tests.services.test_tiers_helpers import earn, silver_gold_store, while_placed

    with uow() as s:
        st = silver_gold_store(s, NOW)
        member(s, "0810000001", now=NOW)
        mid = get_member(s, st.id, "0810000001").id
        gold = s.exec(select(Tier).where(Tier.name == "Gold")).one().id

    def earn_silver():
        with uow() as s:
            earn(s, "0810000001", 20, at=NOW)  # reaches Silver only

    while_placed(engine, mid, gold, earn_silver)
    with uow(write=False) as s:
        assert tiers.current_tier_id(s, mid) == gold
        assert s.exec(select(TierHistory)).first() is None
