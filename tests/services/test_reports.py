"""Report service: pure helpers, and the ledger identity the reports rest on (both databases)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_cli.db.models import Member, Store
from crm_cli.domain.errors import InsufficientPoints, InvalidInput
from crm_cli.domain.reports import parse_rate
from crm_cli.fileio.charts import bar, terminal_bars
from crm_cli.services import ledger, reports

UTC = timezone.utc
_SEQ = itertools.count()


def test_bar_eighths():
    assert bar(0, 10, 8) == ""
    assert bar(10, 10, 8) == "█" * 8
    assert bar(5, 10, 8) == "████"
    assert bar(1, 16, 8) == "▌"  # half a cell
    assert bar(1, 10_000, 8) == "▏"  # tiny but non-zero still shows


def test_terminal_bars_layout():
    lines = terminal_bars("T", [("2026-01", 2), ("2026-02", 1_000)], width=4)
    assert lines == ["T", "  2026-01 │▏        2", "  2026-02 │████ 1,000"]
    assert terminal_bars("T", []) == ["T", "  (no data)"]


@pytest.mark.parametrize("raw,want", [("0.15", "0.1500"), ("15%", "0.1500"), ("0", "0.0000"), ("100%", "1.0000"),
                                      ("0.123456", "0.1235")])
def test_parse_rate(raw, want):
    assert str(parse_rate(raw)) == want


@pytest.mark.parametrize("raw", ["-0.1", "1.01", "abc", "150%", "nan"])
def test_parse_rate_rejects(raw):
    with pytest.raises(InvalidInput):
        parse_rate(raw)


def test_months_and_last_valid_day():
    assert reports._months(date(2025, 11, 15), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    # a lot valid through 31 Dec (Bangkok) expires at 1 Jan 00:00 Bangkok = 31 Dec 17:00 UTC
    assert reports.last_valid_day(datetime(2026, 12, 31, 17, tzinfo=UTC)) == date(2026, 12, 31)
    assert reports.last_valid_day(None) is None


def test_summary_range_defaults():
    now = datetime(2026, 11, 24, 3, tzinfo=UTC)
    assert reports.summary_range(now, None, None) == (date(2025, 12, 1), date(2026, 11, 24))
    assert reports.summary_range(now, date(2026, 1, 1), None) == (date(2026, 1, 1), date(2026, 11, 24))
    with pytest.raises(InvalidInput):
        reports.summary_range(now, date(2026, 12, 1), date(2026, 11, 1))


# ---------------------------------------------------------------- the identity, on both databases

ops = st.lists(
    st.tuples(
        st.sampled_from(["earn", "welcome", "import", "adjust+", "adjust-", "redeem", "refund", "clawback"]),
        st.integers(min_value=0, max_value=2),  # member
        st.integers(min_value=1, max_value=60),  # points
        st.integers(min_value=0, max_value=400),  # day offset
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops, policy=st.sampled_from([("rolling", 2), ("year_end", None), ("never", None)]))
def test_ledger_identity(uow, ops, policy):
    """Over all time: issued + imported - redeemed - expired - reversed = outstanding points (after the expiry job),
    outstanding = the sum of member balances, and the expiring list agrees with the lots."""
    start = datetime(2025, 1, 1, 5, tzinfo=UTC)
    end = start + timedelta(days=420)
    with uow() as s:
        store = Store(slug=f"p{next(_SEQ)}", name="P", expiry_policy=policy[0], expiry_months=policy[1],
                      created_at=start)
        s.add(store)
        s.flush()
        members = [Member(store_id=store.id, phone=f"+6681{store.id:04d}{i:03d}", created_at=start) for i in range(3)]
        s.add_all(members)
        s.flush()
        for kind, mi, pts, day in sorted(ops, key=lambda o: o[3]):
            now = start + timedelta(days=day)
            mid = members[mi].id
            if kind in ("earn", "welcome", "import", "refund", "adjust+"):
                ledger.credit(s, store=store, member_id=mid, kind=kind.rstrip("+"), points=pts, now=now, channel="admin")
            else:
                try:
                    ledger.debit(s, store_id=store.id, member_id=mid, kind=kind.rstrip("-"), points=pts, now=now,
                                 channel="admin", partial=kind == "clawback")
                except InsufficientPoints:
                    pass
        ledger.expire(s, now=end, store_id=store.id)
        rep = reports.summary(s, store_id=store.id, store_slug=store.slug, now=end,
                              date_from=date(2024, 12, 1), date_to=date(2026, 3, 1))
        liab = reports.liability(s, store_id=store.id, store_slug=store.slug, now=end, point_value=Decimal("0.10"))
        balances = sum(ledger.balance(s, m.id, end) for m in members)
        t = rep.totals
        assert t.issued + t.imported - t.redeemed - t.expired - t.reversed == liab.outstanding_points == balances
        assert sum(m.issued for m in rep.monthly) == t.issued
        assert sum(m.imported for m in rep.monthly) == t.imported
        assert t.imported == sum(pts for kind, _m, pts, _d in ops if kind == "import")
        assert sum(b.points for b in liab.by_expiry) == liab.outstanding_points
        assert liab.outstanding_value == (Decimal(balances) * Decimal("0.10")).quantize(Decimal("0.01"))
        soon = reports.expiring(s, store_id=store.id, now=end, days=10_000)
        never = sum(b.points for b in liab.by_expiry if b.expires == "never")
        assert sum(r.points for r in soon) == liab.outstanding_points - never
