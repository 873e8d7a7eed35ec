"""The points ledger through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from crm_cli.db.models import LedgerEntry, LotAllocation, Member, QrClaim, WelcomeGrant
from crm_cli.domain.errors import CheckFailed, Conflict, InsufficientPoints, InvalidInput, NotFound, PermissionDenied
from crm_cli.domain.timeutil import BKK, end_of_bkk_day
from crm_cli.services import common, ledger, stores
from crm_cli.services import points as svc

UTC = timezone.utc
T0 = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
PHONE = "0812345678"
E164 = "+66812345678"


def bkk(*a) -> datetime:
    return datetime(*a, tzinfo=BKK).astimezone(UTC)


@pytest.fixture
def sid(uow) -> int:
    with uow() as s:
        store_id, _ = stores.create_store(s, slug="cafe", name="Cafe", phone_raw=None, email=None, now=T0)
        stores.add_branch(s, store_id=store_id, name="Siam", now=T0)
        stores.add_branch(s, store_id=store_id, name="Ari", now=T0)
    return store_id


def give(uow, sid, spend, at, phone=PHONE, **kw):
    with uow() as s:
        return svc.give_for_spend(s, store_id=sid, phone=phone, spend=str(spend), now=at, **kw)


def policy(uow, sid, name, months=None):
    with uow() as s:
        svc.set_expiry(s, store_id=sid, policy=name, months=months)


def spend(uow, sid, points, at, phone=PHONE):
    with uow() as s:
        m = common.get_member(s, sid, phone)
        common.lock_member(s, m.id)
        return ledger.debit(s, store_id=sid, member_id=m.id, kind="redeem", points=points, now=at, channel="reward")


def bal(uow, sid, at, phone=PHONE) -> int:
    with uow(write=False) as s:
        return svc.balance(s, store_id=sid, phone=phone, now=at).balance


def count(uow, model=LedgerEntry) -> int:
    with uow(write=False) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def check_ok(uow, sid, at):
    with uow(write=False) as s:
        report = svc.check_store(s, store_id=sid, now=at)
    assert report.ok, report.breaches
    return report


def test_worked_examples(uow, sid):
    got = [give(uow, sid, amount, T0).points for amount in ("24.99", "25", "349.99", "350")]
    assert got == [0, 1, 13, 14]
    assert bal(uow, sid, T0) == 28
    # a spend that earns nothing writes nothing (3 entries for 4 receipts)
    assert count(uow) == 3
    check_ok(uow, sid, T0)


def test_rule_settings(uow, sid):
    with uow() as s:
        info = svc.set_rule(s, store_id=sid, points=2, per="100", welcome=30)
    assert (info.earn_points, info.earn_per, info.welcome_points) == (2, Decimal("100.00"), 30)
    assert info.rule == "2 points per 100.00 THB (rounded down)"
    assert give(uow, sid, "199.99", T0).points == 2
    with uow() as s, pytest.raises(InvalidInput, match="--per amount must be greater than 0"):
        svc.set_rule(s, store_id=sid, per="0")
    with uow() as s, pytest.raises(InvalidInput, match="--points must be between 1"):
        svc.set_rule(s, store_id=sid, points=0)


def test_calendar_edges(uow, sid):
    policy(uow, sid, "rolling", 12)
    r = give(uow, sid, 100, bkk(2024, 2, 29, 12))
    assert r.expires_at == end_of_bkk_day(date(2025, 2, 28)) == datetime(2025, 2, 28, 17, tzinfo=UTC)
    policy(uow, sid, "rolling", 1)
    r = give(uow, sid, 50, bkk(2026, 1, 31, 9), phone="0822222222")
    assert r.expires_at == end_of_bkk_day(date(2026, 2, 28))
    policy(uow, sid, "year_end")
    r = give(uow, sid, 25, datetime(2026, 12, 31, 16, 30, tzinfo=UTC), phone="0833333333")
    assert r.expires_at == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    # one second before the end of the expiry day the lot counts; one second after it does not
    exp = datetime(2025, 2, 28, 17, tzinfo=UTC)
    assert bal(uow, sid, exp - timedelta(seconds=1)) == 4
    assert bal(uow, sid, exp) == 0
    assert bal(uow, sid, exp + timedelta(seconds=1)) == 0


def test_policy_change_applies_to_later_lots(uow, sid):
    policy(uow, sid, "rolling", 6)
    first = give(uow, sid, 25, T0)
    policy(uow, sid, "never")
    second = give(uow, sid, 25, T0 + timedelta(days=1))
    assert first.expires_at == end_of_bkk_day(date(2025, 7, 1)) and second.expires_at is None
    with uow(write=False) as s:
        assert [lot.expires_at for lot in ledger.lots(s, common.get_member(s, sid, PHONE).id, T0)] == [
            first.expires_at, None]


def test_fifo_soonest_expiring_first(uow, sid):
    with uow() as s:
        svc.set_rule(s, store_id=sid, points=1, per="1")
    policy(uow, sid, "rolling", 12)
    march = give(uow, sid, 100, bkk(2025, 3, 10, 12))  # expires end of 2026-03-10
    policy(uow, sid, "rolling", 1)
    jan = give(uow, sid, 50, bkk(2025, 12, 10, 12))  # expires end of 2026-01-10
    assert jan.expires_at < march.expires_at
    posted = spend(uow, sid, 60, bkk(2025, 12, 20, 12))
    with uow(write=False) as s:
        allocs = s.exec(select(LotAllocation.lot_entry_id, LotAllocation.points)
                        .where(LotAllocation.debit_entry_id == posted.entry_id)).all()
    assert sorted(allocs) == sorted([(jan.entry_id, 50), (march.entry_id, 10)])
    after_jan = bkk(2026, 1, 11, 0, 0, 1)
    assert bal(uow, sid, after_jan) == 90
    with uow() as s:
        rows = svc.run_expiry(s, now=after_jan)
    assert [(r.lots_expired, r.points_expired) for r in rows] == [(0, 0)]
    assert bal(uow, sid, after_jan) == 90
    with uow() as s:
        rows = svc.run_expiry(s, now=bkk(2026, 3, 11, 0, 0))
    assert [(r.lots_expired, r.points_expired) for r in rows] == [(1, 90)]
    check_ok(uow, sid, bkk(2026, 3, 12))


def test_insufficient_and_never_expiring_last(uow, sid):
    policy(uow, sid, "never")
    forever = give(uow, sid, 250, T0)
    policy(uow, sid, "rolling", 3)
    soon = give(uow, sid, 250, T0 + timedelta(days=1))
    posted = spend(uow, sid, 12, T0 + timedelta(days=2))
    with uow(write=False) as s:
        allocs = s.exec(select(LotAllocation.lot_entry_id, LotAllocation.points)
                        .where(LotAllocation.debit_entry_id == posted.entry_id)).all()
    assert allocs == [(soon.entry_id, 10), (forever.entry_id, 2)]
    with pytest.raises(InsufficientPoints, match="balance is 8, 9 needed"):
        spend(uow, sid, 9, T0 + timedelta(days=3))


def test_expiry_job_late_and_twice(uow, sid):
    policy(uow, sid, "rolling", 1)
    lot = give(uow, sid, 250, bkk(2026, 1, 31, 10))  # 10 points, expires end of 2026-02-28
    spend(uow, sid, 4, bkk(2026, 2, 10, 10))
    late = bkk(2026, 6, 1)
    # a spend after the expiry instant but before the job ran cannot use the expired lot
    with pytest.raises(InsufficientPoints):
        spend(uow, sid, 1, bkk(2026, 3, 1, 0, 0, 1))
    with uow() as s:
        first = svc.run_expiry(s, now=late, store_id=sid)
    with uow() as s:
        second = svc.run_expiry(s, now=late + timedelta(days=30), store_id=sid)
    assert (first[0].lots_expired, first[0].points_expired) == (1, 6)
    assert (second[0].lots_expired, second[0].points_expired) == (0, 0)
    with uow(write=False) as s:
        x = s.exec(select(LedgerEntry).where(LedgerEntry.kind == "expire")).one()
        assert x.points == -6 and x.created_at == lot.expires_at and x.ref_entry_id == lot.entry_id
    check_ok(uow, sid, late)


def test_expire_as_of_in_future_refused(uow, sid):
    with uow() as s, pytest.raises(InvalidInput, match="in the future"):
        svc.run_expiry(s, now=T0, as_of=T0 + timedelta(days=1))


def test_idempotent_give(uow, sid):
    a = give(uow, sid, 350, T0, key="R-1")
    b = give(uow, sid, "350.00", T0 + timedelta(minutes=5), key="R-1")
    assert (b.duplicate, b.entry_id, b.points, b.spend) == (True, a.entry_id, 14, Decimal("350.00"))
    assert count(uow) == 1
    with pytest.raises(Conflict, match="key 'R-1' was already used for a different counter entry"):
        give(uow, sid, 351, T0, key="R-1")
    with pytest.raises(Conflict):
        give(uow, sid, 350, T0, key="R-1", phone="0899999999")
    assert count(uow) == 1 and count(uow, Member) == 1


def test_staff_role_only_at_own_branch(uow, sid):
    with uow() as s:
        from crm_cli.db.models import Branch, Staff

        siam = s.exec(select(Branch).where(Branch.name == "Siam")).one()
        s.add(Staff(store_id=sid, branch_id=siam.id, name="Nok", phone="+66811111111", role="staff", created_at=T0))
        s.add(Staff(store_id=sid, branch_id=siam.id, name="Boss", phone="+66822222222", role="admin", created_at=T0))
    r = give(uow, sid, 100, T0, staff="0811111111")
    assert (r.branch, r.staff, r.channel) == ("Siam", "Nok", "counter")
    with pytest.raises(PermissionDenied, match="works at another branch"):
        give(uow, sid, 100, T0, staff="0811111111", branch="Ari")
    assert give(uow, sid, 100, T0, staff="0822222222", branch="Ari").branch == "Ari"
    with uow() as s, pytest.raises(PermissionDenied, match="needs an admin"):
        svc.adjust(s, store_id=sid, phone=PHONE, points=5, reason="x", staff="0811111111", now=T0)
    with uow() as s:
        r = svc.adjust(s, store_id=sid, phone=PHONE, points=-3, reason="typo", staff="0822222222", now=T0)
    assert (r.points, r.balance, r.staff) == (-3, 5, "Boss")


def test_adjust_rules(uow, sid):
    give(uow, sid, 250, T0)
    with uow() as s, pytest.raises(InsufficientPoints, match="the balance is only 10"):
        svc.adjust(s, store_id=sid, phone=PHONE, points=-11, reason="x", now=T0)
    with uow() as s, pytest.raises(InvalidInput, match="--reason must not be empty"):
        svc.adjust(s, store_id=sid, phone=PHONE, points=5, reason="  ", now=T0)
    with uow() as s, pytest.raises(NotFound):
        svc.adjust(s, store_id=sid, phone="0899999999", points=-1, reason="x", now=T0)
    with uow() as s:
        assert svc.adjust(s, store_id=sid, phone=PHONE, points=-10, reason="x", now=T0).balance == 0
    assert count(uow) == 2


def test_welcome_once_per_phone_ever(uow, sid):
    with uow() as s:
        svc.set_rule(s, store_id=sid, welcome=50)
    with uow() as s:
        m = common.get_or_create_account(s, sid, E164, now=T0)
        first = svc.give_welcome(s, store=sid, member_id=m.id, phone=PHONE, now=T0)
        again = svc.give_welcome(s, store=sid, member_id=m.id, phone="+66 81 234 5678", now=T0)
    assert (first.given, first.points) == (True, 50) and not again.given
    # erasure: the member row loses its phone; the grant (a hash) stays
    with uow() as s:
        s.execute(text("UPDATE member SET phone = NULL, anon_id = 'x1', erased_at = :t WHERE id = :id"),
                  {"t": T0.replace(tzinfo=None), "id": m.id})
    with uow() as s:
        m2 = common.get_or_create_account(s, sid, E164, now=T0 + timedelta(days=1))
        assert m2.id != m.id
        assert not svc.give_welcome(s, store=sid, member_id=m2.id, phone=PHONE, now=T0 + timedelta(days=1)).given
        assert ledger.balance(s, m2.id, T0 + timedelta(days=1)) == 0
        grant = s.exec(select(WelcomeGrant)).one()
        assert grant.phone_hash == svc.welcome_hash(sid, E164) and E164 not in grant.phone_hash
    # another store: its own welcome
    with uow() as s:
        other, _ = stores.create_store(s, slug="other", name="Other", phone_raw=None, email=None, now=T0)
        svc.set_rule(s, store_id=other, welcome=20)
        mo = common.get_or_create_account(s, other, E164, now=T0)
        assert svc.give_welcome(s, store=other, member_id=mo.id, phone=PHONE, now=T0).points == 20
    check_ok(uow, sid, T0)


def test_welcome_zero_records_nothing(uow, sid):
    with uow() as s:
        m = common.get_or_create_account(s, sid, E164, now=T0)
        assert not svc.give_welcome(s, store=sid, member_id=m.id, phone=PHONE, now=T0).given
    assert count(uow, WelcomeGrant) == 0


def _qr(uow, sid, spend="350", at=T0, minutes=15):
    with uow() as s:
        return svc.make_qr(s, store_id=sid, spend=spend, branch="Siam", now=at, valid_minutes=minutes)


def test_qr_claim_once(uow, sid):
    t = _qr(uow, sid)
    assert len(t.token) == 40 and t.points == 14 and t.link.endswith(t.token)
    with uow(write=False) as s:
        row = s.exec(select(QrClaim)).one()
        assert row.token_hash == common.token_hash(t.token) and t.token not in row.token_hash
    with uow() as s:
        _, r = svc.claim_qr(s, token=t.link, phone=PHONE, now=T0 + timedelta(minutes=1))
    assert (r.points, r.balance, r.branch) == (14, 14, "Siam")
    with uow() as s, pytest.raises(Conflict, match="already claimed"):
        svc.claim_qr(s, token=t.token, phone="0899999999", now=T0 + timedelta(minutes=2))
    assert count(uow) == 1 and count(uow, Member) == 1
    check_ok(uow, sid, T0)


def test_qr_expired_and_forged(uow, sid):
    t = _qr(uow, sid, minutes=5)
    with uow() as s, pytest.raises(Conflict, match="expired"):
        svc.claim_qr(s, token=t.token, phone=PHONE, now=T0 + timedelta(minutes=5))
    with uow() as s, pytest.raises(NotFound, match="QR code not recognised"):
        svc.claim_qr(s, token="0" * 40, phone=PHONE, now=T0)
    with uow() as s, pytest.raises(InvalidInput, match="earns no points"):
        svc.make_qr(s, store_id=sid, spend="24.99", branch="Siam", now=T0)
    assert count(uow) == 0 and count(uow, Member) == 0


def test_check_finds_breaches(uow, sid):
    give(uow, sid, 250, T0)
    give(uow, sid, 500, T0)
    spend(uow, sid, 15, T0 + timedelta(hours=1))
    check_ok(uow, sid, T0)
    with uow() as s:  # corrupt: over-consume the first lot and leave a debit half allocated
        s.execute(text("UPDATE lot_allocation SET points = points + 7 WHERE id = (SELECT MIN(id) FROM lot_allocation)"))
    with uow(write=False) as s:
        report = svc.check_store(s, store_id=sid, now=T0)
    broken = {c.check for c in report.checks if c.breaches}
    # the summary kept the allocation as written: it no longer matches the ledger either
    assert broken == {"debit_allocations", "lot_overspent", "balance", "summary"}
    with pytest.raises(CheckFailed, match="in store 'cafe'"):
        svc.raise_if_breached(report)
