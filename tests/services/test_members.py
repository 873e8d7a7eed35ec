"""Member services: field parsing, answers against the form, set-based balances (both DBs for DB tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_cli.domain.errors import InvalidInput
from crm_cli.services import members

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def test_mask():
    assert members.mask_phone("+66812345678") == "+6681***5678"


def _store(uow):
    from crm_cli.db.models import Branch, Store

    with uow() as s:
        store = Store(slug="cafe", name="Cafe", created_at=NOW, expiry_policy="rolling", expiry_months=1)
        s.add(store)
        s.flush()
        s.add(Branch(store_id=store.id, name="Siam", created_at=NOW))
        return store.id


def test_check_answers(uow):
    from crm_cli.services import forms

    sid = _store(uow)
    with uow() as s:
        forms.add_question(s, store_id=sid, text="Occupation", kind="choice", choices=["office worker:working-age", "student"],
                           required=True, now=NOW)
        forms.add_question(s, store_id=sid, text="Drinks", kind="multi", choices=["coffee:coffee", "tea:tea"], now=NOW)
        forms.add_question(s, store_id=sid, text="Anniversary", kind="date", now=NOW)
    with uow() as s:
        got = forms.check_answers(s, store_id=sid, answers=["occupation=OFFICE WORKER", "2=tea, coffee", "Anniversary=01/02/2563"])
        assert [(a.values, a.tags) for a in got] == [
            (["office worker"], ["working-age"]), (["tea", "coffee"], ["tea", "coffee"]), (["2020-02-01"], [])]
        for bad in (["Drinks=tea"], ["Occupation=x"], ["Occupation=student", "Drinks=tea,tea"],
                    ["Occupation=student", "occupation=student"], ["Occupation"], ["Occupation=student", "Drinks= , tea"]):
            with pytest.raises(InvalidInput):
                forms.check_answers(s, store_id=sid, answers=bad)


def test_list_balances_match_the_ledger(uow):
    """The set-based balance of `member list` equals ledger.balance for every account:
    expired lots, partly spent lots and debts included."""
    import random

    from crm_cli.db.models import Store
    from crm_cli.services import common, ledger

    sid = _store(uow)
    rnd = random.Random(4)
    ids = []
    with uow() as s:
        store = s.get(Store, sid)
        for i in range(25):
            m = common.get_or_create_account(s, sid, f"+668120000{i:02d}", now=NOW)
            ids.append(m.id)
            for k in range(rnd.randint(0, 4)):
                when = NOW - timedelta(days=rnd.randint(0, 60))
                ledger.credit(s, store=store, member_id=m.id, kind="earn", points=rnd.randint(1, 50), now=when, channel="counter")
            have = ledger.balance(s, m.id, NOW)
            if have and rnd.random() < 0.6:
                ledger.debit(s, store_id=sid, member_id=m.id, kind="redeem", points=rnd.randint(1, have), now=NOW, channel="reward")
    with uow() as s:
        rows = members.list_members(s, store_id=sid, now=NOW, flt=members.MemberFilter())
        assert len(rows) == 25
        by_phone = {r.phone: r.points for r in rows}
        for i, mid in enumerate(ids):
            assert by_phone[f"+668120000{i:02d}"] == ledger.balance(s, mid, NOW)
        expected = sorted(p for p in by_phone.values() if p >= 30)
        assert sorted(r.points for r in members.list_members(
            s, store_id=sid, now=NOW, flt=members.MemberFilter(min_points=30))) == expected
