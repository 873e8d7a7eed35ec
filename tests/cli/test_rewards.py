"""crm reward / coupon / delivery through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from crm_cli.services.rewards import COUPON_ALPHABET
from tests.services.test_tiers_helpers import earn, member, store_row

NOW = "2026-11-24 03:00:00"  # 10:00 Bangkok
T0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def shop2(shop, uow):
    with uow() as s:
        member(s, "0811111111", now=T0, address="1 Sukhumvit Rd, Bangkok 10110")
        member(s, "0812222222", now=T0)
        member(s, "0819999999", now=T0, registered=False)
        earn(s, "0811111111", 300, at=T0)
        earn(s, "0812222222", 300, at=T0)
        earn(s, "0819999999", 300, at=T0)
    return shop


def _balance(uow, phone):
    from crm_cli.services import ledger
    from crm_cli.services.common import get_member

    with uow() as s:
        m = get_member(s, store_row(s).id, phone)
        return ledger.balance(s, m.id, datetime.now(timezone.utc))


def _reward(cli, name):
    return {r["name"]: r for r in cli.json("reward", "list")}[name]


@freeze_time(NOW)
def test_catalogue_create_list_edit_hide(shop2):
    c = shop2
    r = c.json("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80", "--stock", "10",
               "--per-member", "2", "--to", "2026-12-31", "--description", "Any size")
    assert (r["kind"], r["cost"], r["stock_left"], r["redeemed"], r["display"], r["status"]) == (
        "in-store", 80, 10, 0, "shown", "available")
    c.ok("reward", "create", "Tote bag", "--kind", "delivery", "--cost", "200", "--hidden")
    c.ok("reward", "create", "Xmas mug", "--kind", "delivery", "--cost", "50", "--from", "2026-12-20")
    rows = c.json("reward", "list")
    assert [(x["name"], x["status"], x["stock_left"]) for x in rows] == [
        ("Xmas mug", "scheduled", None), ("Free latte", "available", 10), ("Tote bag", "hidden", None)]
    assert "already exists" in c.fails(ExitCode.CONFLICT, "reward", "create", "free latte", "--kind", "code", "--cost", "5")
    assert "unknown reward kind" in c.fails(ExitCode.INVALID_INPUT, "reward", "create", "X", "--kind", "voucher", "--cost", "5")
    assert "pool" in c.fails(ExitCode.INVALID_INPUT, "reward", "create", "Y", "--kind", "code", "--cost", "5", "--stock", "3")
    assert "before" in c.fails(ExitCode.INVALID_INPUT, "reward", "create", "Z", "--kind", "code", "--cost", "5", "--from", "2026-12-02", "--to", "2026-12-01")
    c.fails(ExitCode.NOT_FOUND, "reward", "create", "Z", "--kind", "code", "--cost", "5", "--min-tier", "Gold")
    e = c.json("reward", "edit", "Free latte", "--stock", "5", "--per-member", "none", "--cost", "90")
    assert (e["stock_left"], e["per_member"], e["cost"]) == (5, None, 90)
    assert c.json("reward", "unhide", "Tote bag")["display"] == "shown"
    assert c.json("reward", "hide", "Free latte")["status"] == "hidden"
    assert c.json("reward", "show", "free latte")["description"] == "Any size"
    c.fails(ExitCode.NOT_FOUND, "reward", "show", "Nope")
    assert c.json("reward", "edit", "Free latte", "--stock", "unlimited")["stock_left"] is None


@freeze_time(NOW)
def test_redeem_in_store_coupon_use_and_cancel(shop2, uow):
    c = shop2
    c.ok("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80", "--stock", "3", "--to", "2026-12-10")
    c.ok("reward", "create", "Cookie", "--kind", "in-store", "--cost", "20")
    res = c.json("reward", "redeem", "Free latte", "--phone", "081-111-1111")
    code = res["coupon_code"]
    assert len(code) == 8 and set(code) <= set(COUPON_ALPHABET)
    assert (res["points"], res["balance"], res["status"], res["stock_left"]) == (80, 220, "issued", 2)
    # valid until the reward's last day (end of 2026-12-10 Bangkok) since that is within 30 days
    assert res["expires_at"] == "2026-12-10T17:00:00+00:00"
    cookie = c.json("reward", "redeem", "Cookie", "--phone", "0812222222")
    assert cookie["expires_at"] == "2026-12-24T17:00:00+00:00"  # 30 days, end of that Bangkok day
    # staff at Ari uses the coupon; branch and staff recorded
    tok = c.json("staff", "invite", "--branch", "Ari")["token"]
    c.ok("staff", "join", tok, "--name", "Nok", "--phone", "0891234567")
    used = c.json("coupon", "use", code[:4].lower() + "-" + code[4:], "--staff", "089-123-4567")
    assert (used["status"], used["branch"], used["staff"], used["reward"]) == ("used", "Ari", "Nok", "Free latte")
    assert "already used" in c.fails(ExitCode.CONFLICT, "coupon", "use", code)
    assert "only an unused coupon" in c.fails(ExitCode.CONFLICT, "coupon", "cancel", code)
    c.fails(ExitCode.NOT_FOUND, "coupon", "use", "ZZZZZZZZ")
    # cancel the unused one: points back as a refund, stock back (unlimited stays unlimited)
    cx = c.json("coupon", "cancel", cookie["coupon_code"])
    assert (cx["status"], cx["points_returned"], cx["balance"]) == ("cancelled", 20, 300)
    assert "cancelled" in c.fails(ExitCode.CONFLICT, "coupon", "use", cookie["coupon_code"])
    assert _reward(c, "Free latte")["redeemed"] == 1 and _reward(c, "Cookie")["redeemed"] == 0
    # history shows the redeem and the refund
    with uow() as s:
        from sqlmodel import select

        from crm_cli.db.models import LedgerEntry
        kinds = [(e.kind, e.points) for e in s.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all() if e.kind in ("redeem", "refund")]
    assert kinds == [("redeem", -80), ("redeem", -20), ("refund", 20)]


def test_coupon_expiry_and_other_store(shop2):
    c = shop2
    with freeze_time(NOW):
        c.ok("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80")
        code = c.json("reward", "redeem", "Free latte", "--phone", "0811111111")["coupon_code"]
        c.ok("store", "create", "bakery", "--name", "Bakery")
        assert "another store" in c.fails(ExitCode.CONFLICT, "coupon", "use", code, store="bakery")
    with freeze_time("2026-12-24 16:59:00"):  # 23:59 Bangkok on the last day: still fine
        c.json("coupon", "use", code, "--branch", "Siam")
    with freeze_time(NOW):
        code2 = c.json("reward", "redeem", "Free latte", "--phone", "0811111111")["coupon_code"]
    with freeze_time("2026-12-24 17:00:00"):
        assert "expired on 2026-12-24" in c.fails(ExitCode.CONFLICT, "coupon", "use", code2)


@freeze_time(NOW)
def test_redeem_rules(shop2, uow):
    c = shop2
    c.ok("reward", "create", "Latte", "--kind", "in-store", "--cost", "100", "--per-member", "1", "--stock", "5")
    assert "phone-only" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Latte", "--phone", "0819999999")
    c.fails(ExitCode.NOT_FOUND, "reward", "redeem", "Latte", "--phone", "0815555555")
    c.fails(ExitCode.INVALID_INPUT, "reward", "redeem", "Latte", "--phone", "12")
    c.fails(ExitCode.NOT_FOUND, "reward", "redeem", "Nope", "--phone", "0811111111")
    c.ok("reward", "redeem", "Latte", "--phone", "0811111111")
    assert "limit is 1 per member" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Latte", "--phone", "0811111111")
    c.ok("reward", "hide", "Latte")
    assert "hidden" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Latte", "--phone", "0812222222")
    c.ok("reward", "create", "Later", "--kind", "in-store", "--cost", "10", "--from", "2026-11-25")
    assert "opens on 2026-11-25" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Later", "--phone", "0812222222")
    c.ok("reward", "create", "Gone", "--kind", "in-store", "--cost", "10", "--to", "2026-11-23")
    assert "ended on 2026-11-23" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Gone", "--phone", "0812222222")
    c.ok("reward", "create", "Big", "--kind", "in-store", "--cost", "301")
    assert "not enough points" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Big", "--phone", "0812222222")
    c.ok("reward", "create", "One", "--kind", "in-store", "--cost", "10", "--stock", "1")
    c.ok("reward", "redeem", "One", "--phone", "0812222222")
    assert "out of stock" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "One", "--phone", "0811111111")
    assert _reward(c, "One")["status"] == "out of stock"
    assert _balance(uow, "0812222222") == 290  # failed attempts took nothing


@freeze_time(NOW)
def test_min_tier(shop2, uow):
    c = shop2
    c.ok("tier", "on")
    c.ok("tier", "set", "Silver", "--threshold", "100")
    c.ok("tier", "set", "Gold", "--threshold", "500")
    c.ok("reward", "create", "VIP", "--kind", "in-store", "--cost", "50", "--min-tier", "gold")
    assert "tier Gold and up" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "VIP", "--phone", "0811111111")
    with uow() as s:
        earn(s, "0811111111", 250)  # 550 earned: lifted to Gold at once
    assert c.json("reward", "redeem", "VIP", "--phone", "0811111111")["balance"] == 500
    assert "minimum tier" in c.fails(ExitCode.CONFLICT, "tier", "remove", "Gold")
    c.ok("tier", "off")
    assert "switched off" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "VIP", "--phone", "0811111111")
    assert c.json("reward", "edit", "VIP", "--min-tier", "none")["min_tier"] is None


@freeze_time(NOW)
def test_delivery_flow_cancel_and_export(shop2, uow, tmp_path):
    c = shop2
    c.ok("reward", "create", "Tote bag", "--kind", "delivery", "--cost", "100", "--stock", "2")
    assert "--address" in c.fails(ExitCode.INVALID_INPUT, "reward", "redeem", "Tote bag", "--phone", "0812222222")
    d1 = c.json("reward", "redeem", "Tote bag", "--phone", "0811111111")  # address on file
    assert (d1["status"], d1["address"], d1["stock_left"]) == ("pending", "1 Sukhumvit Rd, Bangkok 10110", 1)
    d2 = c.json("reward", "redeem", "Tote bag", "--phone", "0812222222", "--address", "9 Ari Soi 1")
    i1, i2 = str(d1["delivery_id"]), str(d2["delivery_id"])
    assert [d["id"] for d in c.json("delivery", "list", "--status", "pending")] == [int(i1), int(i2)]
    assert "can move to preparing, cancelled, not shipped" in c.fails(ExitCode.CONFLICT, "delivery", "update", i1, "--status", "shipped", "--carrier", "X", "--tracking", "Y")
    c.ok("delivery", "update", i1, "--status", "preparing")
    assert "--carrier and --tracking" in c.fails(ExitCode.INVALID_INPUT, "delivery", "update", i1, "--status", "shipped", "--carrier", "Kerry")
    s = c.json("delivery", "update", i1, "--status", "shipped", "--carrier", "Kerry", "--tracking", "KEX1")
    assert (s["status"], s["carrier"], s["tracking"]) == ("shipped", "Kerry", "KEX1")
    assert "shipped" in c.fails(ExitCode.CONFLICT, "delivery", "update", i1, "--status", "cancelled")
    c.ok("delivery", "update", i1, "--status", "delivered")
    assert "final" in c.fails(ExitCode.CONFLICT, "delivery", "update", i1, "--status", "preparing")
    c.fails(ExitCode.INVALID_INPUT, "delivery", "update", i1, "--status", "lost")
    c.fails(ExitCode.NOT_FOUND, "delivery", "update", "999", "--status", "preparing")
    # cancel from pending: points and stock come back
    x = c.json("delivery", "update", i2, "--status", "cancelled")
    assert (x["status"], x["points_returned"]) == ("cancelled", 100)
    assert _balance(uow, "0812222222") == 300
    assert _reward(c, "Tote bag")["stock_left"] == 1
    out = tmp_path / "ship.xlsx"
    c.ok("delivery", "export", "--out", str(out))
    from openpyxl import load_workbook

    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "redeemed_at_bangkok", "reward") and len(rows) == 3
    assert rows[1][6:9] == ("delivered", "Kerry", "KEX1")
    c.fails(ExitCode.INVALID_INPUT, "delivery", "export", "--out", str(tmp_path / "x.csv"))


@freeze_time(NOW)
def test_code_pool(shop2, tmp_path):
    c = shop2
    c.ok("reward", "create", "Online 100 off", "--kind", "code", "--cost", "50")
    assert _reward(c, "Online 100 off")["stock_left"] == 0
    assert "out of stock" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Online 100 off", "--phone", "0811111111")
    txt = tmp_path / "codes.txt"
    txt.write_text("# batch 1\nAAA-1\n\nAAA-2\n", encoding="utf-8")
    assert c.json("reward", "codes", "Online 100 off", str(txt))["codes_left"] == 2
    dup = tmp_path / "dup.csv"
    dup.write_text("code\nBBB-1\nBBB-1\n", encoding="utf-8")
    assert "duplicate" in c.fails(ExitCode.INVALID_INPUT, "reward", "codes", "Online 100 off", str(dup))
    again = tmp_path / "again.csv"
    again.write_text("code\nBBB-1\nAAA-2\n", encoding="utf-8")
    assert "already in the pool" in c.fails(ExitCode.CONFLICT, "reward", "codes", "Online 100 off", str(again))
    good = tmp_path / "good.csv"
    good.write_text("code,note\nBBB-1,x\n", encoding="utf-8")
    assert c.json("reward", "codes", "Online 100 off", str(good))["stock_left"] == 3
    got = [c.json("reward", "redeem", "Online 100 off", "--phone", p)["pool_code"] for p in ("0811111111", "0811111111", "0812222222")]
    assert got == ["AAA-1", "AAA-2", "BBB-1"]
    assert "out of stock" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Online 100 off", "--phone", "0812222222")
    r = _reward(c, "Online 100 off")
    assert (r["stock_left"], r["redeemed"]) == (0, 3)
    c.ok("reward", "create", "Mug", "--kind", "in-store", "--cost", "5")
    assert "code pools" in c.fails(ExitCode.INVALID_INPUT, "reward", "codes", "Mug", str(good))
