"""crm report summary / liability / expiring: exact figures on a small ledger, both databases."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from decimal import Decimal

import openpyxl.cell.cell  # noqa: F401 - imported before freezegun runs, so its date types are the real ones
import pytest
from freezegun import freeze_time
from sqlmodel import select

from crm_cli.db.models import Branch, Member, Redemption, Reward, Staff, Store
from crm_cli.domain.errors import InvalidInput
from crm_cli.services import ledger

UTC = timezone.utc
NOW = "2026-06-01T12:00:00Z"  # 19:00 Bangkok, 1 June 2026
A, B, C = "+66811111111", "+66822222222", "+66833333333"


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def book(shop, uow):
    """A small ledger with every kind a report groups (rolling 3-month expiry).

    A: registered 1 Feb; earns 100 at Siam by staff Nok on 1 Feb 01:00 Bangkok (still
       31 Jan in UTC), welcome 20 (never expires), redeems 30 on 15 Mar, 10 refunded.
    B: phone-only since 10 Mar; earns 40 at Ari.
    C: registered Dec 2025; 50 imported in Dec; adjusted -5 in Feb; the rest expires in March.
    E: registered 5 Jan, erased 1 Apr.
    The expiry job runs on 1 Jun: C's 45 (March) and A's 70 (May) expire.
    """
    with uow() as s:
        store = s.exec(select(Store).where(Store.slug == "cafe")).one()
        store.expiry_policy, store.expiry_months = "rolling", 3
        s.add(store)
        siam = s.exec(select(Branch).where(Branch.name == "Siam")).one()
        ari = s.exec(select(Branch).where(Branch.name == "Ari")).one()
        nok = Staff(store_id=store.id, branch_id=siam.id, name="Nok", phone="+66899999999", role="staff",
                    created_at=_at(2025, 12, 1))
        s.add(nok)
        a = Member(store_id=store.id, phone=A, name="Anong", registered_at=_at(2026, 1, 31, 18),
                   created_at=_at(2026, 1, 31, 18))
        b = Member(store_id=store.id, phone=B, created_at=_at(2026, 3, 10, 5))
        c = Member(store_id=store.id, phone=C, name="Chai", registered_at=_at(2025, 12, 20),
                   created_at=_at(2025, 12, 20))
        e = Member(store_id=store.id, phone=None, anon_id="erased-1", registered_at=_at(2026, 1, 5),
                   created_at=_at(2026, 1, 5), erased_at=_at(2026, 4, 1))
        s.add_all([a, b, c, e])
        s.flush()
        ledger.credit(s, store=store, member_id=c.id, kind="import", points=50, now=_at(2025, 12, 20, 3), channel="import")
        ledger.credit(s, store=store, member_id=a.id, kind="earn", points=100, now=_at(2026, 1, 31, 18), channel="counter",
                      branch_id=siam.id, staff_id=nok.id, spend=Decimal("2500.00"))
        ledger.credit(s, store=store, member_id=a.id, kind="welcome", points=20, now=_at(2026, 2, 1, 3), channel="system",
                      expires_at=None)
        ledger.debit(s, store_id=store.id, member_id=c.id, kind="adjust", points=5, now=_at(2026, 2, 10, 3), channel="admin",
                     reason="correction")
        ledger.credit(s, store=store, member_id=b.id, kind="earn", points=40, now=_at(2026, 3, 10, 5), channel="counter",
                      branch_id=ari.id, spend=Decimal("1000.00"))
        red = ledger.debit(s, store_id=store.id, member_id=a.id, kind="redeem", points=30, now=_at(2026, 3, 15, 5),
                           channel="counter", branch_id=siam.id, staff_id=nok.id)
        ledger.credit(s, store=store, member_id=a.id, kind="refund", points=10, now=_at(2026, 3, 20, 5), channel="reward",
                      branch_id=siam.id, staff_id=nok.id)
        latte = Reward(store_id=store.id, name="Latte", kind="in-store", cost=30, created_at=_at(2026, 1, 1))
        s.add(latte)
        s.flush()
        for i, status in enumerate(("issued", "cancelled")):
            s.add(Redemption(store_id=store.id, reward_id=latte.id, member_id=a.id, entry_id=red.entry_id,
                             kind="in-store", points=30, status=status, coupon_code=f"CP{i}",
                             created_at=_at(2026, 3, 15, 5), updated_at=_at(2026, 3, 15, 5)))
        run = ledger.expire(s, now=_at(2026, 6, 1, 0), store_id=store.id)
        assert (run.lots_expired, run.points_expired) == (2, 115)
    return shop


def test_summary_exact_figures(book):
    with freeze_time(NOW):
        rep = book.json("report", "summary", "--from", "2026-01-01", "--to", "2026-05-31")
    assert rep["store"] == "cafe" and rep["date_from"] == "2026-01-01" and rep["date_to"] == "2026-05-31"
    assert rep["members"] == {"total": 4, "registered": 2, "phone_only": 1, "erased": 1,
                              "new_accounts": 3, "new_registrations": 2}
    months = {m["month"]: m for m in rep["monthly"]}
    assert list(months) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    # A's earn at 18:00 UTC on 31 Jan is 1 Feb in Bangkok
    assert months["2026-01"] == {"month": "2026-01", "issued": 0, "imported": 0, "redeemed": 0, "expired": 0,
                                 "reversed": 0, "net": 0, "active_members": 0}
    assert months["2026-02"] == {"month": "2026-02", "issued": 120, "imported": 0, "redeemed": 0, "expired": 0,
                                 "reversed": 5, "net": 115, "active_members": 2}
    assert months["2026-03"] == {"month": "2026-03", "issued": 40, "imported": 0, "redeemed": 20, "expired": 45,
                                 "reversed": 0, "net": -25, "active_members": 2}
    assert months["2026-05"]["expired"] == 70 and months["2026-05"]["active_members"] == 0
    assert rep["totals"] == {"month": "total", "issued": 160, "imported": 0, "redeemed": 20, "expired": 115,
                             "reversed": 5, "net": 20, "active_members": 3}
    assert rep["rewards"] == [{"reward": "Latte", "kind": "in-store", "redeemed": 1, "cancelled": 1, "points": 30,
                               "members": 1}]
    assert rep["branches"] == [
        {"branch": "Ari", "issued": 40, "imported": 0, "redeemed": 0, "spend": "1000.00", "transactions": 1,
         "members": 1},
        {"branch": "Siam", "issued": 100, "imported": 0, "redeemed": 20, "spend": "2500.00", "transactions": 3,
         "members": 1},
        {"branch": "(no branch)", "issued": 20, "imported": 0, "redeemed": 0, "spend": "0.00", "transactions": 1,
         "members": 1},
    ]
    assert rep["staff"] == [
        {"staff": "Nok", "phone": "+66899999999", "branch": "Siam", "issued": 100, "redeemed": 20,
         "spend": "2500.00", "transactions": 3},
        {"staff": "(no staff)", "phone": None, "branch": None, "issued": 60, "redeemed": 0,
         "spend": "1000.00", "transactions": 2},
    ]


def test_summary_default_range_table_chart_and_png(book, tmp_path):
    png = tmp_path / "chart.png"
    with freeze_time(NOW):
        r = book.ok("report", "summary", "--out", png)
        monthly = book.json("report", "summary", "--section", "monthly")
        rows = book("report", "summary", "--section", "branches", fmt="csv")
    # default range: 12 Bangkok months up to today
    assert [m["month"] for m in monthly][0] == "2025-07" and monthly[-1]["month"] == "2026-06"
    # C's 50 imported points are an opening balance, not December's sales (nor activity)
    dec = next(m for m in monthly if m["month"] == "2025-12")
    assert (dec["issued"], dec["imported"], dec["net"], dec["active_members"]) == (0, 50, 50, 0)
    out = r.stdout
    assert "cafe: 2025-07-01 to 2026-06-01" in out
    assert "Issued per month (points)" in out and "Active members per month" in out
    assert "Imported per month (points)" in out and "  2025-12 │" + "█" * 40 + " 50" in out
    # the largest month gets the full 40-cell bar
    assert "2026-02 │" + "█" * 40 + " 120" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] >= 800 and im.size[1] >= 500
    assert rows.stdout.splitlines() == [
        "branch,issued,imported,redeemed,spend,transactions,members",
        "Ari,40,0,0,1000.00,1,1",
        "Siam,100,0,20,2500.00,3,1",
        "(no branch),20,50,0,0.00,1,1",
    ]


def test_liability_exact_figures(book):
    with freeze_time(NOW):
        rep = book.json("report", "liability", "--point-value", "0.25")
    assert rep["outstanding_points"] == 70 and rep["members_with_points"] == 2
    assert rep["point_value"] == "0.25" and rep["outstanding_value"] == "17.50"
    # 12 months back from 1 Jun 2026: issued 50 + 100 + 20 + 40 (a refund is not issued), expired 45 + 70
    assert (rep["breakage_from"], rep["breakage_to"]) == ("2025-06-01", "2026-06-01")
    assert (rep["issued_12m"], rep["expired_12m"]) == (210, 115)
    assert rep["breakage_rate"] == "0.5476" == rep["expected_breakage"]
    assert rep["deferred_revenue"] == "7.92"  # 70 x 0.25 x (1 - 0.5476) = 7.917
    assert rep["by_expiry"] == [
        {"expires": "2026-06", "points": 50, "members": 2, "lots": 2, "value": "12.50", "deferred": "5.66"},
        {"expires": "never", "points": 20, "members": 1, "lots": 1, "value": "5.00", "deferred": "2.26"},
    ]
    with freeze_time(NOW):
        rep = book.json("report", "liability", "--point-value", "0.01", "--breakage", "55%")
    assert rep["expected_breakage"] == "0.5500" and rep["breakage_source"] == "--breakage"
    assert rep["deferred_revenue"] == "0.32"  # 0.315 rounds half-up
    assert rep["by_expiry"][0]["deferred"] == "0.23"  # 0.225 rounds half-up, not to even
    with freeze_time(NOW):
        err = book.fails(InvalidInput.exit_code, "report", "liability", "--point-value", "1", "--breakage", "1.5")
        table = book.ok("report", "liability", "--point-value", "1").stdout
    assert "between 0 and 1" in err
    assert "deferred revenue" in table and "By expiry month" in table


def test_liability_point_value_is_never_guessed(book):
    """No store value and no --point-value: one line saying how, exit 5; the store's value is used
    once set, and --point-value overrides it for one report."""
    with freeze_time(NOW):
        err = book.fails(InvalidInput.exit_code, "report", "liability")
        assert err == ("error: no point value set: the liability needs the THB value of one point; set it once with "
                       "`crm store edit --point-value 0.05` or pass `--point-value 0.05`")
        assert book("report", "liability").stdout == ""
        assert book.json("store", "show")["point_value"] is None
        assert book.json("store", "edit", "--point-value", "0.05")["point_value"] == "0.05"
        rep = book.json("report", "liability")
        assert (rep["point_value"], rep["point_value_source"]) == ("0.05", "store setting (crm store edit --point-value)")
        assert rep["outstanding_value"] == "3.50"  # 70 x 0.05
        over = book.json("report", "liability", "--point-value", "0.0125")
        assert (over["point_value"], over["point_value_source"]) == ("0.0125", "--point-value")
        assert over["outstanding_value"] == "0.88"  # 70 x 0.0125 = 0.875, half-up
        assert book.json("store", "show")["point_value"] == "0.05"
        for bad in ("0", "-1", "abc", "0.00001", "nan"):
            for cmd in (("store", "edit"), ("report", "liability")):
                err = book.fails(InvalidInput.exit_code, *cmd, "--point-value", bad)
                assert "point-value" in err or "point value" in err, err
        assert book.json("store", "show")["point_value"] == "0.05"
        audit = book.json("audit", "list", "--command", "store edit")
    assert any("point_value" in a["summary"] for a in audit)


def test_expiring_window_and_export(book, tmp_path):
    with freeze_time(NOW):
        assert book.json("report", "expiring", "--days", "8") == []
        rows = book.json("report", "expiring", "--days", "9")
        both = book.json("report", "expiring", "--days", "30", "--out", tmp_path / "rem.csv")
    assert rows == [{"phone": B, "name": None, "registered": False, "points": 40, "expires_on": "2026-06-10",
                     "balance": 40}]
    assert [(r["phone"], r["points"], r["expires_on"], r["balance"]) for r in both] == [
        (B, 40, "2026-06-10", 40), (A, 10, "2026-06-20", 30),
    ]
    with open(tmp_path / "rem.csv", newline="", encoding="utf-8-sig") as fh:
        got = list(csv.DictReader(fh))
    # the export writes phones as people dial them (and as text, so the leading 0 stays)
    assert [(r["phone"], r["registered"], r["points"], r["expires_on"], r["balance"]) for r in got] == [
        ("082-222-2222", "no", "40", "2026-06-10", "40"), ("081-111-1111", "yes", "10", "2026-06-20", "30"),
    ]
    with freeze_time(NOW):
        book.ok("report", "expiring", "--days", "30", "--out", tmp_path / "rem.xlsx")
        err = book.fails(InvalidInput.exit_code, "report", "expiring", "--out", tmp_path / "rem.txt")
    assert err == f"error: --out {tmp_path / 'rem.txt'}: cannot write '.txt'; name the file .csv or .xlsx"
    ws = openpyxl.load_workbook(tmp_path / "rem.xlsx", read_only=True).active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert list(values[0]) == ["phone", "name", "registered", "points", "expires_on", "balance"]
    assert list(values[1][:4]) == ["082-222-2222", None, "no", 40] and values[1][4].date() == date(2026, 6, 10)
    assert list(values[2][:4]) == ["081-111-1111", "Anong", "yes", 10]


def test_report_errors(book):
    with freeze_time(NOW):
        err = book.fails(InvalidInput.exit_code, "report", "summary", "--from", "2026-05-01", "--to", "2026-04-01")
        assert err == "error: --from 2026-05-01 is after --to 2026-04-01"
        err = book.fails(InvalidInput.exit_code, "report", "summary", "--from", "May 1")
        assert "use YYYY-MM-DD" in err
        err = book.fails(InvalidInput.exit_code, "report", "summary", "--out", "chart.jpg")
        assert ".png" in err
        err = book.fails(InvalidInput.exit_code, "report", "liability", "--point-value", "abc")
        assert "point-value" in err or "point value" in err
        book.fails(InvalidInput.exit_code, "report", "expiring", "--days", "-1")


def test_imported_opening_balances_through_member_import(shop, tmp_path):
    """`member import` credits opening balances: the summary shows them as imported (at the
    import's branch), not as points the shop issued that month, in JSON, CSV and the charts."""
    f = tmp_path / "members.csv"
    f.write_text("phone,name,points\n0812000001,Somchai,100\n0812000002,Jane,25\n", encoding="utf-8")
    png = tmp_path / "summary.png"
    with freeze_time("2026-11-30T03:00:00Z"):
        shop.ok("member", "import", str(f), "--branch", "Siam")
        shop.ok("points", "give", "0812000002", "--spend", "250", "--branch", "Ari")  # 10 points, a sale
        rep = shop.json("report", "summary", "--from", "2026-11-01")
        monthly = shop("report", "summary", "--from", "2026-11-01", "--section", "monthly", fmt="csv").stdout
        table = shop.ok("report", "summary", "--from", "2026-11-01", "--out", png).stdout
    nov = rep["monthly"][0]
    assert (nov["month"], nov["issued"], nov["imported"], nov["net"]) == ("2026-11", 10, 125, 135)
    assert nov["active_members"] == 1  # only the sale is activity
    assert {b["branch"]: (b["issued"], b["imported"], b["transactions"], b["members"]) for b in rep["branches"]} == {
        "Siam": (0, 125, 0, 0), "Ari": (10, 0, 1, 1)}
    assert [s["issued"] for s in rep["staff"]] == [10]
    assert monthly.splitlines() == ["month,issued,imported,redeemed,expired,reversed,net,active_members",
                                    "2026-11,10,125,0,0,0,135,1", "total,10,125,0,0,0,135,1"]
    assert "Imported per month (points)" in table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
