"""Property: random give / adjust / spend / expire / policy changes / time jumps keep the
ledger's invariants, checked against a plain Python model, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from crm_cli.db.models import LedgerEntry
from crm_cli.domain.errors import Conflict, InsufficientPoints, NotFound
from crm_cli.domain.expiry import lot_expires_at
from crm_cli.services import common, ledger, stores
from crm_cli.services import points as svc

UTC = timezone.utc
START = datetime(2025, 1, 1, 5, 0, tzinfo=UTC)
PHONES = ("0811111111", "0822222222")
_slugs = itertools.count()

ops = st.one_of(
    st.tuples(st.just("give"), st.sampled_from(PHONES), st.integers(1, 400), st.sampled_from([None, None, "k1", "k2"])),
    st.tuples(st.just("adjust"), st.sampled_from(PHONES), st.integers(-40, 40).filter(bool)),
    st.tuples(st.just("spend"), st.sampled_from(PHONES), st.integers(1, 40)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("jump"), st.integers(0, 200), st.integers(0, 23)),
    st.tuples(st.just("policy"), st.sampled_from([("never", None), ("rolling", 1), ("rolling", 3), ("year_end", None)])),
)


class Model:
    """Lots as [seq, expires_at, remaining] per phone; FIFO = soonest expiry first, never last."""

    def __init__(self):
        self.lots: dict[str, list[list]] = {p: [] for p in PHONES}
        self.seq = 0
        self.earned = self.spent = self.expired = 0
        self.policy = ("never", None)
        self.keys: dict[str, tuple[str, int]] = {}
        self.accounts: set[str] = set()

    def credit(self, phone, pts, now):
        if pts > 0:
            self.seq += 1
            self.lots[phone].append([self.seq, lot_expires_at(*self.policy, now), pts])
            self.earned += pts

    def live(self, phone, now):
        lots = [l for l in self.lots[phone] if l[2] > 0 and (l[1] is None or l[1] > now)]
        return sorted(lots, key=lambda l: (l[1] is None, l[1] or now, l[0]))

    def balance(self, phone, now):
        return sum(l[2] for l in self.live(phone, now))

    def debit(self, phone, pts, now):
        left = pts
        for lot in self.live(phone, now):
            use = min(lot[2], left)
            lot[2] -= use
            left -= use
        assert left == 0
        self.spent += pts

    def expire(self, now):
        for lots in self.lots.values():
            for lot in lots:
                if lot[1] is not None and lot[1] <= now and lot[2] > 0:
                    self.expired += lot[2]
                    lot[2] = 0

    def pending(self, now):
        return sum(l[2] for lots in self.lots.values() for l in lots if l[1] is not None and l[1] <= now)


def _entries(uow, sid) -> int:
    with uow(write=False) as s:
        return s.exec(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.store_id == sid)).one()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(ops, min_size=1, max_size=14))
def test_random_sequences_keep_invariants(uow, steps):
    with uow() as s:
        sid, _ = stores.create_store(s, slug=f"p{next(_slugs)}", name="P", phone_raw=None, email=None, now=START)
        svc.set_rule(s, store_id=sid, points=1, per="10")
    model = Model()
    now = START
    for step in steps:
        kind = step[0]
        if kind == "jump":
            now += timedelta(days=step[1], hours=step[2])
        elif kind == "policy":
            with uow() as s:
                svc.set_expiry(s, store_id=sid, policy=step[1][0], months=step[1][1])
            model.policy = step[1]
        elif kind == "give":
            _, phone, thb, key = step
            pts = thb // 10
            if key is not None and key in model.keys and model.keys[key] != (phone, thb):
                with pytest.raises(Conflict), uow() as s:
                    svc.give_for_spend(s, store_id=sid, phone=phone, spend=str(thb), key=key, now=now)
                continue
            replay = key is not None and key in model.keys
            with uow() as s:
                r = svc.give_for_spend(s, store_id=sid, phone=phone, spend=str(thb), key=key, now=now)
            assert r.duplicate == replay
            if not replay:
                model.credit(phone, pts, now)
                if pts > 0 or key is not None:
                    model.accounts.add(phone)
                if key is not None:
                    model.keys[key] = (phone, thb)
            if key is not None:  # the same request again changes nothing
                before = _entries(uow, sid)
                with uow() as s:
                    again = svc.give_for_spend(s, store_id=sid, phone=phone, spend=str(thb), key=key, now=now)
                assert again.duplicate and again.entry_id == r.entry_id and _entries(uow, sid) == before
        elif kind == "adjust":
            _, phone, pts = step
            if pts < 0 and -pts > model.balance(phone, now):
                error = InsufficientPoints if phone in model.accounts else NotFound
                with pytest.raises(error), uow() as s:
                    svc.adjust(s, store_id=sid, phone=phone, points=pts, reason="prop", now=now)
                continue
            with uow() as s:
                svc.adjust(s, store_id=sid, phone=phone, points=pts, reason="prop", now=now)
            if pts > 0:
                model.credit(phone, pts, now)
                model.accounts.add(phone)
            else:
                model.debit(phone, -pts, now)
        elif kind == "spend":
            _, phone, pts = step
            with uow() as s:
                m = common.find_member(s, sid, common.phone(phone))
                if m is None or pts > model.balance(phone, now):
                    if m is not None:
                        with pytest.raises(InsufficientPoints):
                            ledger.debit(s, store_id=sid, member_id=m.id, kind="redeem", points=pts, now=now, channel="reward")
                    continue
                common.lock_member(s, m.id)
                ledger.debit(s, store_id=sid, member_id=m.id, kind="redeem", points=pts, now=now, channel="reward")
            model.debit(phone, pts, now)
        elif kind == "expire":
            with uow() as s:
                svc.run_expiry(s, now=now, store_id=sid)
            model.expire(now)
        # after every step: the ledger's balance is the model's, and never negative
        with uow(write=False) as s:
            for phone in PHONES:
                m = common.find_member(s, sid, common.phone(phone))
                got = ledger.balance(s, m.id, now) if m else 0
                assert got == model.balance(phone, now) >= 0
    with uow(write=False) as s:
        report = svc.check_store(s, store_id=sid, now=now)
        assert report.ok, report.breaches
        def total(*cond) -> int:
            q = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.store_id == sid, *cond)
            return int(s.exec(q).one())

        earned = total(LedgerEntry.points > 0)
        spent = -total(LedgerEntry.points < 0, LedgerEntry.kind != "expire")
        expired = -total(LedgerEntry.kind == "expire")
    balance = sum(model.balance(p, now) for p in PHONES)
    assert (earned, spent, expired) == (model.earned, model.spent, model.expired)
    # earned = spent + expired + balance (+ what has expired but awaits the job)
    assert earned == spent + expired + balance + model.pending(now)
    assert report.points_balance == balance
