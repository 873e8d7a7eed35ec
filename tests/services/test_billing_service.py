"""Billing services on both databases: numbering, catch-up months, suspension for non-payment."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlmodel import select

from crm_cli.db.models import MarketplaceOrder, Store
from crm_cli.services import billing, orders

BKK_19 = "T12:00:00+00:00"


def _at(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(timezone.utc)


def _store(session, slug="cafe", now=None) -> int:
    s = Store(slug=slug, name=slug.title(), created_at=now or _at("2026-01-01T00:00:00+07:00"))
    session.add(s)
    session.flush()
    return s.id


def test_numbers_follow_the_year_of_issue_and_never_repeat(uow):
    with uow() as s:
        a = _store(s, "a")
        b = _store(s, "b")
        billing.record_event(s, store_id=a, kind="subscribe", day=date(2026, 10, 1), now=_at("2026-10-01T09:00:00+07:00"))
        billing.record_event(s, store_id=b, kind="subscribe", day=date(2026, 10, 1), now=_at("2026-10-01T09:00:00+07:00"))
    with uow() as s:
        dec = _at("2026-12-01T19:00:00+07:00")
        assert billing.missing_invoice_months(s, store_id=a, until="2026-11") == ["2026-10", "2026-11"]
        n1 = billing.issue_invoice(s, store_id=a, month="2026-10", now=dec).number
        n2 = billing.issue_invoice(s, store_id=b, month="2026-10", now=dec).number
        n3 = billing.issue_invoice(s, store_id=a, month="2026-11", now=_at("2027-01-02T10:00:00+07:00")).number
        assert (n1, n2, n3) == ("INV-2026-000001", "INV-2026-000002", "INV-2027-000001")
        assert billing.issue_invoice(s, store_id=a, month="2026-10", now=dec).number == n1
        assert billing.missing_invoice_months(s, store_id=a, until="2026-11") == []


def test_unpaid_suspension_window_and_the_18_00_rule_on_lifting(uow):
    with uow() as s:
        sid = _store(s)
        billing.record_event(s, store_id=sid, kind="subscribe", day=date(2026, 10, 1), now=_at("2026-10-01T09:00:00+07:00"))
        billing.issue_invoice(s, store_id=sid, month="2026-10", now=_at("2026-11-01T19:00:00+07:00"))
    with uow() as s:
        change = billing.apply_suspension(s, store_id=sid, now=_at("2026-11-16T19:00:00+07:00"))
        assert change.action == "suspended" and "unpaid" in change.reason
        store = s.get(Store, sid)
        suspended_now = _at("2026-11-16T19:00:00+07:00")
        assert billing.purge_day(s, store, billing.load_events(s, sid), suspended_now) == date(2027, 2, 28)
        t = MarketplaceOrder.__table__
        now = _at("2026-11-16T19:00:00+07:00")
        for oid, paid in (("X1", "2026-11-20T10:00:00+07:00"), ("X2", "2026-12-01T09:00:00+07:00")):
            s.execute(t.insert().values(store_id=sid, channel="myshop", order_id=oid, phone="+66812345678",
                                        paid_at=_at(paid), amount=100, status="paid", state="new",
                                        imported_at=now, updated_at=now))
        off = orders.sync_store(s, store_id=sid, as_of=_at("2026-11-30T19:00:00+07:00"))
        # X1 was paid during the suspension and waits: a payment on the 1st before 18:00 could still cover it
        assert (off.awarded, off.waiting) == (0, 1) and "unpaid" in off.service
    with uow() as s:
        number = s.exec(select(billing.Invoice.number)).one()
        view, change = billing.pay_invoice(s, number=number, paid_at=_at("2026-12-01T17:00:00+07:00"),
                                           now=_at("2026-12-01T17:00:00+07:00"))
        assert change.action == "resumed" and view.status == "paid"
        result = orders.sync_store(s, store_id=sid, as_of=_at("2026-12-01T19:00:00+07:00"))
        assert (result.awarded, result.not_eligible) == (1, 1)
        states = dict(s.execute(select(MarketplaceOrder.order_id, MarketplaceOrder.state)).all())
    # X1 was paid during the suspension; X2 on the 1st before the 17:00 payment -> covered from 00:00
    assert states == {"X1": "not_eligible", "X2": "awarded"}
