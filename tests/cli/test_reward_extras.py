"""Reward short ids, display order, discount values on coupons, and redeem --key (both databases)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.support import members_with_points

NOW = "2026-11-24 03:00:00"
T0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def rich(shop, uow):
    with uow() as s:
        members_with_points(s, {"0811111111": 500, "0812222222": 500}, at=T0)
    return shop


@freeze_time(NOW)
def test_short_ids_order_and_discount(rich):
    c = rich
    latte = c.json("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80", "--discount", "50")
    tote = c.json("reward", "create", "Tote bag", "--kind", "delivery", "--cost", "200")
    cake = c.json("reward", "create", "Cake", "--kind", "in-store", "--cost", "120", "--discount", "12.5%")
    assert latte["id"].startswith("R") and latte["discount"] == "50.00 THB" and cake["discount"] == "12.5%"
    assert tote["discount"] is None and tote["position"] is None
    # the id works wherever a name is taken, with or without the R
    rid = cake["id"]
    assert c.json("reward", "show", rid)["name"] == "Cake"
    assert c.json("reward", "show", rid[1:])["name"] == "Cake"
    assert c.json("reward", "edit", rid.lower(), "--cost", "110")["cost"] == 110
    assert c.fails(ExitCode.NOT_FOUND, "reward", "show", "R999999").startswith("error: reward 'R999999' not found")
    # ids count within the store: R1, R2, R3 here; another store starts again at R1
    assert [latte["id"], tote["id"], cake["id"]] == ["R1", "R2", "R3"]
    c.ok("store", "create", "bakery", "--name", "Bakery", "--no-use", store=None)
    bread = c.json("reward", "create", "Bread", "--kind", "in-store", "--cost", "30", store="bakery")
    assert bread["id"] == "R1"
    assert c.json("reward", "show", "R1", store="bakery")["name"] == "Bread"
    assert c.json("reward", "show", "R1")["name"] == "Free latte"
    # without positions: by cost; positioned ones come first, in their order
    assert [r["name"] for r in c.json("reward", "list")] == ["Free latte", "Cake", "Tote bag"]
    c.ok("reward", "edit", tote["id"], "--position", "1")
    c.ok("reward", "edit", "Cake", "--position", "2")
    rows = c.json("reward", "list")
    assert [(r["name"], r["position"]) for r in rows] == [("Tote bag", 1), ("Cake", 2), ("Free latte", None)]
    assert c.json("reward", "edit", "Cake", "--position", "0")["position"] is None
    # discounts are validated and shown on the coupon
    for bad in ("0", "-5", "abc", "101%", "0%", "1.234", "2000000"):
        assert c.fails(ExitCode.INVALID_INPUT, "reward", "edit", "Cake", "--discount", bad).startswith("error: invalid discount"), bad
    assert c.json("reward", "edit", "Cake", "--discount", "none")["discount"] is None
    red = c.json("reward", "redeem", latte["id"], "--phone", "0811111111")
    assert red["discount"] == "50.00 THB" and red["coupon_code"]
    coupon = c.json("coupon", "use", red["coupon_code"])
    assert coupon["discount"] == "50.00 THB"
    table = c.ok("reward", "list", "--format", "csv").stdout.splitlines()
    assert table[0].startswith("id,name,kind,cost") and "discount" in table[0]


@freeze_time(NOW)
def test_redeem_key_redeems_once(rich, engine):
    from sqlalchemy import text

    c = rich
    c.ok("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80", "--stock", "5")
    c.ok("reward", "create", "Mug", "--kind", "in-store", "--cost", "10")
    first = c.json("reward", "redeem", "Free latte", "--phone", "081-111-1111", "--key", "K-1")
    r = c("reward", "redeem", "Free latte", "--phone", "0811111111", "--key", "K-1", "--format", "json")
    assert r.exit_code == 0 and "was used before" in r.stderr
    import json

    again = json.loads(r.stdout)
    assert again["duplicate"] is True and first["duplicate"] is False
    assert {k: v for k, v in again.items() if k != "duplicate"} == {k: v for k, v in first.items() if k != "duplicate"}
    assert again["balance"] == 420 and again["stock_left"] == 4
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM redemption")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'redeem'")).scalar_one() == 1
    # the same key for another reward or another phone is refused
    assert "already used for another redemption" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Mug", "--phone", "0811111111", "--key", "K-1")
    assert "already used for another redemption" in c.fails(ExitCode.CONFLICT, "reward", "redeem", "Free latte", "--phone", "0812222222", "--key", "K-1")
    # another key is another redemption
    assert c.json("reward", "redeem", "Free latte", "--phone", "0811111111", "--key", "K-2")["balance"] == 340
    assert c.fails(ExitCode.INVALID_INPUT, "reward", "redeem", "Mug", "--phone", "0811111111", "--key", " ").startswith("error: --key")
