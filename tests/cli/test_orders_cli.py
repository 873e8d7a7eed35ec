"""Marketplace orders through the CLI on both databases: import, sync, clawback, debt, eligibility."""

from __future__ import annotations

from pathlib import Path

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
HEADER = "order_id,phone,paid_at,amount,status,refund_amount\n"


def _feed(tmp_path, name, *rows):
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _balance(cli, phone):
    from crm_cli.cli.context import AppState
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import common, ledger

    engine = AppState(db_url=cli.db_url).engine()
    with unit_of_work(engine, write=False) as s:
        from sqlmodel import select

        from crm_cli.db.models import Store

        store = s.exec(select(Store).where(Store.slug == "cafe")).one()
        m = common.find_member(s, store.id, common.phone(phone))
        if m is None:
            return None, 0
        from datetime import datetime, timezone

        return ledger.balance(s, m.id, datetime.now(timezone.utc)), ledger.outstanding_debt(s, m.id)


def _orders(cli, **kw):
    return {o["order_id"]: o for o in cli.json("orders", "list", **kw)}


def test_import_sync_samples_idempotent(shop):
    with freeze_time("2026-11-05T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-01")
    with freeze_time("2026-11-20T19:00:00+07:00"):
        r = shop.json("orders", "import", str(SAMPLES / "orders-line-shopping.csv"), "--channel", "line-shopping")
        assert (r["rows"], r["new"]) == (8, 8)
        r = shop.json("orders", "import", str(SAMPLES / "orders-myshop.json"), "--channel", "myshop")
        assert (r["rows"], r["new"]) == (6, 6)
        again = shop.json("orders", "import", str(SAMPLES / "orders-line-shopping.csv"), "--channel", "line-shopping")
        assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 8)
        s1 = shop.json("orders", "sync")
        assert s1["skipped"] is None and s1["awarded"] == 9
        orders = _orders(shop)
        # 1 point per 25 THB: 1250.50 -> 50; 2399.00 -> 95, 600 refunded -> floor(95*600/2399) = 23 back
        assert orders["LS-20261110-000101"]["points_awarded"] == 50
        assert (orders["LS-20261112-000123"]["points_awarded"], orders["LS-20261112-000123"]["points_clawed"]) == (95, 23)
        assert orders["LS-20261113-000131"]["state"] == "reversed" and orders["LS-20261113-000131"]["points_awarded"] == 0
        assert orders["LS-20261114-000140"]["points_awarded"] == 0  # 24.99 THB earns nothing
        s2 = shop.json("orders", "sync")
        assert (s2["awarded"], s2["points_awarded"], s2["points_clawed"]) == (0, 0, 0)
        assert _orders(shop) == orders
        # 0812345678: 50 + 3 + 125 (LINE) + 79 - 19 (MyShop, 499.50 of 1999.50 refunded)
        assert _balance(shop, "0812345678") == (238, 0)
        # phone-only account for a buyer who never registered
        assert _balance(shop, "+66 98 111 2222") == (180, 0)
        assert [o["order_id"] for o in shop.json("orders", "list", "--state", "reversed")] == [
            "MS-2611-00490", "LS-20261113-000131", "MS-2611-00517", "LS-20261115-000152"]


def test_bad_rows_are_all_reported_and_nothing_written(shop, tmp_path):
    with freeze_time("2026-11-20T19:00:00+07:00"):
        feed = _feed(
            tmp_path, "bad.csv",
            "A1,0812345678,2026-11-10T09:00:00+07:00,100.00,paid,",
            "A2,12345,2026-11-10T09:00:00+07:00,100.00,paid,",
            "A3,0812345678,2026-11-10 09:00:00,100.00,paid,",
            "A4,0812345678,2026-11-10T09:00:00+07:00,-5,paid,",
            "A5,0812345678,2026-11-10T09:00:00+07:00,100.00,shipped,",
        )
        r = shop("orders", "import", str(feed), "--channel", "line-shopping")
        assert r.exit_code == 5
        err = r.stderr
        assert "row 3, phone '12345'" in err
        assert "row 4, paid_at" in err and "UTC offset" in err
        assert "row 5, amount '-5'" in err
        assert "row 6, status 'shipped'" in err
        assert "nothing was imported" in err
        assert shop.json("orders", "list") == []
        shop.fails(ExitCode.INVALID_INPUT, "orders", "import", str(feed), "--channel", "lazada")
        shop.fails(ExitCode.INVALID_INPUT, "orders", "import", str(tmp_path / "missing.csv"), "--channel", "myshop")


def test_status_changes_claw_back_and_record_debt(shop, tmp_path):
    with freeze_time("2026-11-05T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-01")
    with freeze_time("2026-11-10T19:00:00+07:00"):
        shop.ok("orders", "import", str(_feed(tmp_path, "d1.csv",
                "B1,0812345678,2026-11-10T09:00:00+07:00,1000.00,paid,",
                "B2,0899999999,2026-11-10T09:30:00+07:00,999.00,paid,")), "--channel", "myshop")
        shop.ok("orders", "sync")
        assert _balance(shop, "0812345678") == (40, 0)
        # the member spends 30 of the 40 points
        from datetime import datetime, timezone

        from crm_cli.cli.context import AppState
        from crm_cli.db.uow import unit_of_work
        from crm_cli.services import common, ledger

        engine = AppState(db_url=shop.db_url).engine()
        with unit_of_work(engine) as s:
            m = common.find_member(s, _store_id(s), "+66812345678")
            ledger.debit(s, store_id=m.store_id, member_id=m.id, kind="redeem", points=30,
                         now=datetime.now(timezone.utc), channel="reward")
    with freeze_time("2026-11-11T19:00:00+07:00"):
        # B1 partly refunded (250 of 1000 -> 10 points back), B2 partly refunded (333 of 999 -> floor(39/3)=13)
        shop.ok("orders", "import", str(_feed(tmp_path, "d2.csv",
                "B1,0812345678,2026-11-10T09:00:00+07:00,1000.00,refunded,250.00",
                "B2,0899999999,2026-11-10T09:30:00+07:00,999.00,refunded,333.00")), "--channel", "myshop")
        shop.ok("orders", "sync")
        o = _orders(shop)
        assert (o["B1"]["points_clawed"], o["B1"]["state"]) == (10, "awarded")
        assert (o["B2"]["points_awarded"], o["B2"]["points_clawed"]) == (39, 13)
        assert _balance(shop, "0812345678") == (0, 0)
    with freeze_time("2026-11-12T19:00:00+07:00"):
        # now cancelled in full: 30 more to take back, none left -> 30 recorded as debt
        shop.ok("orders", "import", str(_feed(tmp_path, "d3.csv",
                "B1,0812345678,2026-11-10T09:00:00+07:00,1000.00,cancelled,")), "--channel", "myshop")
        res = shop.json("orders", "sync")
        assert (res["points_clawed"], res["debt"]) == (30, 30)
        o = _orders(shop)
        assert (o["B1"]["points_clawed"], o["B1"]["state"]) == (40, "reversed")
        assert _balance(shop, "0812345678") == (0, 30)
        assert shop.json("orders", "sync")["points_clawed"] == 0
        # a cancelled order cannot come back as paid; nothing of the feed is written
        err = shop.fails(ExitCode.INVALID_INPUT, "orders", "import", str(_feed(tmp_path, "d4.csv",
                         "B1,0812345678,2026-11-10T09:00:00+07:00,1000.00,paid,",
                         "B3,0812345678,2026-11-12T10:00:00+07:00,100.00,paid,")), "--channel", "myshop")
        assert "cannot become paid" in err
        assert "B3" not in _orders(shop)
    with freeze_time("2026-11-13T19:00:00+07:00"):
        # future earnings settle the debt first
        shop.ok("orders", "import", str(_feed(tmp_path, "d5.csv",
                "B4,0812345678,2026-11-13T10:00:00+07:00,2500.00,paid,")), "--channel", "myshop")
        shop.ok("orders", "sync")
        assert _balance(shop, "0812345678") == (70, 0)


def _store_id(session):
    from sqlmodel import select

    from crm_cli.db.models import Store

    return session.exec(select(Store.id).where(Store.slug == "cafe")).one()


def test_orders_while_service_inactive_and_the_18_00_rule(shop, tmp_path):
    with freeze_time("2026-10-20T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-10-20")
        shop.ok("billing", "cancel", "--date", "2026-11-25")  # service ends 2026-11-30
        shop.ok("store", "create", "late", "--name", "Late", "--no-use")
        shop.ok("billing", "subscribe", "--date", "2026-10-20", store="late")
        shop.ok("billing", "cancel", "--date", "2026-11-25", store="late")
    rows = ("C0,0812345678,2026-10-19T12:00:00+07:00,250.00,paid,",  # before the subscription
            "C1,0812345678,2026-11-30T20:00:00+07:00,250.00,paid,",  # last service day
            "C2,0812345678,2026-12-01T09:00:00+07:00,250.00,paid,",  # the 1st, before the resubscription
            "C3,0812345678,2026-12-01T18:40:00+07:00,250.00,paid,")  # after it
    with freeze_time("2026-12-01T12:00:00+07:00"):
        for store in ("cafe", "late"):
            shop.ok("orders", "import", str(_feed(tmp_path, "e.csv", *rows)), "--channel", "line-shopping", store=store)
        # service is off: an order paid while it was on (C1, on the last service day) is awarded,
        # the ones paid while it was off wait (a resumption before 18:00 on the 1st may cover C2)
        r = shop.json("orders", "sync")
        assert r["skipped"] is None and (r["awarded"], r["waiting"]) == (1, 2) and "cancelled" in r["service"]
        listed = _orders(shop)
        assert listed["C1"]["state"] == "awarded"
        assert listed["C2"]["state"] == "new" and listed["C2"]["state_reason"].startswith("waiting: paid 2026-12-01 09:00")
        assert listed["C3"]["state_reason"] == "waiting for the next order sync (daily at 19:00 Bangkok)"
    with freeze_time("2026-12-01T17:00:00+07:00"):
        shop.ok("billing", "resume", "--date", "2026-12-01")
    with freeze_time("2026-12-01T18:30:00+07:00"):
        shop.ok("billing", "resume", "--date", "2026-12-01", store="late")
    with freeze_time("2026-12-01T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "orders", store=None)  # every store, as cron does
        cafe = _orders(shop)
        late = _orders(shop, store="late")
    assert cafe["C0"]["state"] == "not_eligible" and "before the store subscribed" in cafe["C0"]["state_reason"]
    assert [cafe[k]["state"] for k in ("C1", "C2", "C3")] == ["awarded"] * 3
    assert late["C2"]["state"] == "not_eligible" and "18:00" in late["C2"]["state_reason"]
    assert [late[k]["state"] for k in ("C1", "C3")] == ["awarded", "awarded"]
    assert shop.json("orders", "list", "--state", "not_eligible", store="late")[0]["order_id"] == "C0"
