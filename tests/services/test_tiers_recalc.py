"""tiers.recalc (set-based SQL) agrees with the per-member rule, on both databases."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from crm_cli.db.models import Member, Store, Tier, TierHistory
from crm_cli.domain.tiers import tier_for
from crm_cli.services import ledger, stores, tiers
from tests.services.test_tiers_helpers import member

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def test_recalc_matches_rule_per_member(uow):
    rnd = random.Random(5)
    with uow() as s:
        for slug in ("cafe", "bakery"):
            stores.create_store(s, slug=slug, name=slug.title(), phone_raw=None, email=None, now=NOW)
        for st in s.exec(select(Store)).all():
            st.tiers_enabled = True
            st.tier_cycle_months = 6
            for i, th in enumerate((0, 150, 400)):
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
            assert tiers.current_tier_id(s, m.id) == want.id, (m.phone, earned)
        # the other store is untouched, and history holds one row per move
        bakery = s.exec(select(Store).where(Store.slug == "bakery")).one()
        assert all(tiers.current_tier_id(s, m.id) is None
                   for m in s.exec(select(Member).where(Member.store_id == bakery.id)).all())
        assert len(s.exec(select(TierHistory)).all()) == res.moved
    with uow() as s:
        assert tiers.recalc(s, store_id=cafe.id, as_of=NOW, now=NOW).moved == 0
