"""The expiry job reads only the lots due (``lot_expiry``), and still misses none:
lots written with an expiry already before the last run (a back-dated import, an explicit
expiry, any INSERT), runs skipped for days, runs for one store, lots spent before they
expire. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.db.models import Store
from crm_cli.domain.timeutil import BKK
from crm_cli.services import common, ledger, stores
from crm_cli.services import points as svc

UTC = timezone.utc
T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def bkk(*a) -> datetime:
    return datetime(*a, tzinfo=BKK).astimezone(UTC)


@pytest.fixture
def sids(uow) -> tuple[int, int]:
    out = []
    with uow() as s:
        for slug in ("cafe", "deli"):
            store_id, _ = stores.create_store(s, slug=slug, name=slug.title(), phone_raw=None, email=None, now=T0)
            svc.set_expiry(s, store_id=store_id, policy="rolling", months=1)
            out.append(store_id)
    return out[0], out[1]


def give(uow, sid, spend, at, phone):
    with uow() as s:
        return svc.give_for_spend(s, store_id=sid, phone=phone, spend=str(spend), now=at)


def run(uow, at, store_id=None):
    with uow() as s:
        r = ledger.expire(s, now=at, store_id=store_id, actor="test")
    return r.lots_expired, r.points_expired


def sql(uow, q, **p):
    with uow(write=False) as s:
        return s.execute(text(q), p).all()


def queued(uow) -> list[int]:
    return [r[0] for r in sql(uow, "SELECT lot_entry_id FROM lot_expiry ORDER BY lot_entry_id")]


def expired_refs(uow) -> list[int]:
    return [r[0] for r in sql(uow, "SELECT ref_entry_id FROM ledger_entry WHERE kind = 'expire' ORDER BY ref_entry_id")]


def test_every_lot_with_an_expiry_is_queued_and_handled_rows_leave(uow, sids):
    cafe, _ = sids
    a = give(uow, cafe, 250, T0, "0810000001")  # 10 points, expires end of 2026-02-05 Bangkok
    b = give(uow, cafe, 500, T0 + timedelta(days=10), "0810000002")  # 20 points, end of 2026-02-15
    with uow() as s:
        svc.set_expiry(s, store_id=cafe, policy="never")
    never = give(uow, cafe, 250, T0, "0810000003")
    assert never.expires_at is None
    assert queued(uow) == [a.entry_id, b.entry_id]  # a lot that never expires is not queued
    # a run before anything is due leaves the queue alone
    assert run(uow, bkk(2026, 2, 1)) == (0, 0)
    assert queued(uow) == [a.entry_id, b.entry_id]
    assert run(uow, bkk(2026, 2, 10)) == (1, 10)
    assert queued(uow) == [b.entry_id] and expired_refs(uow) == [a.entry_id]
    # the expire entry itself (a debit) is never queued; a second run finds nothing
    assert run(uow, bkk(2026, 2, 10, 12)) == (0, 0)
    assert queued(uow) == [b.entry_id]


def test_skipped_days_and_a_lot_spent_before_its_expiry(uow, sids):
    cafe, _ = sids
    lots = [give(uow, cafe, 250 * (i + 1), T0 + timedelta(days=i), f"08100000{i:02d}") for i in range(5)]
    with uow() as s:  # the second member spends all of their lot before it expires
        m = common.get_member(s, cafe, "0810000001")
        common.lock_member(s, m.id)
        ledger.debit(s, store_id=cafe, member_id=m.id, kind="redeem", points=20, now=T0 + timedelta(days=3),
                     channel="reward")
    assert run(uow, bkk(2026, 2, 6)) == (1, 10)  # the first lot; nothing run for the next four days
    # the run after the gap: the lots of all skipped days, the spent one without an entry
    assert run(uow, bkk(2026, 2, 11)) == (3, 30 + 40 + 50)
    assert expired_refs(uow) == [lots[0].entry_id, lots[2].entry_id, lots[3].entry_id, lots[4].entry_id]
    assert queued(uow) == []
    with uow(write=False) as s:
        assert svc.check_store(s, store_id=cafe, now=bkk(2026, 2, 11)).ok


def test_lots_written_after_a_run_with_an_expiry_before_it(uow, sids):
    cafe, _ = sids
    give(uow, cafe, 250, T0, "0810000001")
    night = bkk(2026, 3, 1, 2)
    assert run(uow, night) == (1, 10)
    # after that run: a lot with an explicit expiry long past, and one written by plain SQL
    with uow() as s:
        store = s.get(Store, cafe)
        m = common.get_member(s, cafe, "0810000001")
        common.lock_member(s, m.id)
        explicit = ledger.credit(s, store=store, member_id=m.id, kind="adjust", points=7, now=night,
                                 channel="admin", expires_at=bkk(2026, 1, 20)).entry_id
    with uow() as s:
        s.execute(text(
            "INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel) "
            "SELECT store_id, member_id, 'adjust', 5, 0, expires_at, created_at, 'admin' FROM ledger_entry "
            "WHERE id = :id"), {"id": explicit})
        raw = s.execute(text("SELECT MAX(id) FROM ledger_entry")).scalar_one()
    assert sorted(queued(uow)) == [explicit, raw]
    # the next run, a day later, still expires both, dated at their own (earlier) expiry
    assert run(uow, night + timedelta(days=1)) == (2, 12)
    got = sql(uow, "SELECT ref_entry_id, points, created_at FROM ledger_entry WHERE kind = 'expire' "
                   "AND ref_entry_id IN (:a, :b) ORDER BY ref_entry_id", a=explicit, b=raw)
    assert [(r[0], r[1]) for r in got] == [(explicit, -7), (raw, -5)]
    assert queued(uow) == []


def test_a_run_for_one_store_leaves_the_other_stores_lots(uow, sids):
    cafe, deli = sids
    a = give(uow, cafe, 250, T0, "0810000001")
    b = give(uow, deli, 500, T0, "0810000001")
    assert run(uow, bkk(2026, 3, 1), store_id=deli) == (1, 20)
    assert queued(uow) == [a.entry_id]
    assert run(uow, bkk(2026, 3, 1)) == (1, 10)
    assert expired_refs(uow) == [a.entry_id, b.entry_id] and queued(uow) == []


def test_back_dated_import_after_a_run_is_expired_by_the_next(shop, engine, tmp_path):
    """The import writes its lots with one INSERT ... SELECT; the trigger queues them."""
    shop.ok("points", "expiry", "rolling", "1")
    with freeze_time("2026-03-01 10:00:00+07:00"):
        shop.ok("points", "give", "0812000009", "--spend", "250")
    with freeze_time("2026-05-01 10:00:00+07:00"):
        done = shop.json("points", "expire")
    assert [(r["lots_expired"], r["points_expired"]) for r in done] == [(1, 10)]
    f = tmp_path / "members.csv"
    f.write_text("\ufeffเบอร์โทรศัพท์*,ชื่อ - นามสกุล*,จำนวนพอยท์*\n0812000001,A,100\n0812000002,B,25\n",
                 encoding="utf-8")
    with freeze_time("2026-02-01 10:00:00+07:00"):  # dated before the last run: its lots expired 2026-03-01
        out = shop.json("member", "import", str(f), "--branch", "Ari")
    assert out["points_total"] == 125 and out["expires_at"] == "2026-03-01T17:00:00+00:00"
    with freeze_time("2026-05-02 10:00:00+07:00"):
        done = shop.json("points", "expire")
    assert [(r["lots_expired"], r["points_expired"]) for r in done] == [(2, 125)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM lot_expiry")).scalar_one() == 0
        assert conn.execute(text("SELECT COALESCE(SUM(points), 0) FROM ledger_entry")).scalar_one() == 0


def test_the_run_keeps_the_summary_and_later_writes_in_its_transaction_too(uow, sids):
    """The job takes the expired points off ``ledger_summary`` itself (PostgreSQL: the
    allocation trigger steps aside for its one statement only): members with several lots
    due, part spent, in two stores; a spend in the same transaction, after the run, is
    still taken off the summary by the trigger."""
    from crm_cli.services import ledger_summary

    cafe, deli = sids
    for i in range(3):
        give(uow, cafe, 250 * (i + 1), T0 + timedelta(days=i), "0810000001")  # 10 + 20 + 30
        give(uow, deli, 500, T0 + timedelta(days=i), f"08100000{i + 2:02d}")
    late = give(uow, cafe, 250, T0 + timedelta(days=40), "0810000001")  # not due at the run
    with uow() as s:
        m = common.get_member(s, cafe, "0810000001")
        common.lock_member(s, m.id)
        ledger.debit(s, store_id=cafe, member_id=m.id, kind="redeem", points=15, now=T0 + timedelta(days=5),
                     channel="reward")  # the first lot and half the second
    with uow() as s:
        run_ = ledger.expire(s, now=bkk(2026, 2, 20), actor="test")
        assert (run_.lots_expired, run_.points_expired) == (2 + 3, 15 + 30 + 60)
        assert ledger_summary.check(s, store_id=cafe) == [] and ledger_summary.check(s, store_id=deli) == []
        common.lock_member(s, m.id)
        ledger.debit(s, store_id=cafe, member_id=m.id, kind="redeem", points=4, now=bkk(2026, 2, 20),
                     channel="reward")  # from the lot not yet due
        assert ledger_summary.check(s, store_id=cafe) == []
    rows = dict(sql(uow, "SELECT member_id, points FROM ledger_summary WHERE member_id = :m", m=m.id))
    assert rows == {m.id: 10 - 4} and queued(uow) == [late.entry_id]
