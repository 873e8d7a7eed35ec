"""The service state comes from the calendar (events and invoices), not from the nightly job.

Every case runs on SQLite and PostgreSQL at pinned Bangkok times.
"""

from __future__ import annotations

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode

HEADER = "order_id,phone,paid_at,amount,status,refund_amount\n"
SUSPENDED_JAN31 = (
    "store 'cafe' is suspended (MyCustomer | CRM cancelled on 2027-01-31, service ended 2027-01-31): "
    "its CRM service is not active; resume it with `crm billing resume --date YYYY-MM-DD`"
)


def _feed(tmp_path, name, *rows):
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _orders(cli, **kw):
    return {o["order_id"]: o for o in cli.json("orders", "list", **kw)}


def _flag(cli):
    """The suspended_at column the nightly job records (None until it has run)."""
    from sqlmodel import select

    from crm_cli.cli.context import AppState
    from crm_cli.db.models import Store
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(AppState(db_url=cli.db_url).engine(), write=False) as s:
        return s.exec(select(Store.suspended_at).where(Store.slug == "cafe")).one()


def test_a_cancelled_store_is_refused_the_day_after_its_last_service_day_without_the_nightly_job(shop, tmp_path):
    members = tmp_path / "members.csv"
    members.write_text("เบอร์โทรศัพท์*,ชื่อ - นามสกุล*,จำนวนพอยท์*\n0898765432,Somsri Jaidee,10\n", encoding="utf-8")
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-31T10:00:00+07:00"):
        status = shop.json("billing", "cancel", "--date", "2027-01-31")
        assert status["service_ends"] == "2027-01-31" and status["service_active"] is True
    with freeze_time("2027-01-31T23:59:00+07:00"):  # the last service day, to its end
        shop.ok("points", "give", "0812345678", "--spend", "100", "--branch", "Siam")
    with freeze_time("2027-02-01T12:00:00+07:00"):
        status = shop.json("billing", "status")
        assert status["service_active"] is False and status["suspended"] is True
        assert status["suspended_reason"] == "MyCustomer | CRM cancelled on 2027-01-31, service ended 2027-01-31"
        for cmd in (("points", "give", "0812345678", "--spend", "100", "--branch", "Siam"),
                    ("branch", "add", "Chidlom"),
                    ("points", "rule", "--points", "2", "--per", "25"),
                    ("branch", "list"),
                    ("member", "import", str(members), "--branch", "Siam")):
            assert shop.fails(ExitCode.STORE_SUSPENDED, *cmd) == f"error: {SUSPENDED_JAN31}"
        assert _flag(shop) is None  # no job has run: the refusal comes from the calendar
        shop.ok("store", "show")
        shop.ok("audit", "list")
    with freeze_time("2027-02-01T19:00:00+07:00"):  # the job only records (and says so)
        out = shop.ok("maintenance", "run", "--only", "suspensions").stdout
        assert "cafe: suspended (MyCustomer | CRM cancelled on 2027-01-31" in out
        assert _flag(shop) is not None
    with freeze_time("2027-02-03T10:00:00+07:00"):
        shop.ok("billing", "resume", "--date", "2027-02-03")
        shop.ok("branch", "add", "Chidlom")


def test_an_unpaid_invoice_suspends_from_the_day_after_its_due_date_until_paid(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        assert "INV-2027-000001" in shop.ok("maintenance", "run", "--only", "invoices").stdout
    with freeze_time("2027-01-15T23:59:00+07:00"):  # the due date is in time
        shop.ok("branch", "list")
    with freeze_time("2027-01-16T00:00:00+07:00"):
        err = shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
        assert "(invoice INV-2027-000001 unpaid after its due date 2027-01-15)" in err
        assert _flag(shop) is None
        assert shop.json("billing", "status")["service_active"] is False
    with freeze_time("2027-02-03T10:00:00+07:00"):
        shop.ok("billing", "pay", "INV-2027-000001")
        shop.ok("branch", "list")
        assert shop.json("billing", "status")["service_active"] is True


def test_orders_paid_during_a_suspension_for_non_payment_earn_nothing(shop, tmp_path):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "invoices")
    with freeze_time("2027-01-16T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "suspensions")
    with freeze_time("2027-02-03T10:00:00+07:00"):
        shop.ok("billing", "pay", "INV-2027-000001")
        feed = _feed(tmp_path, "jan.csv",
                     "A1,0812345678,2027-01-10T12:00:00+07:00,75.00,paid,",   # before the suspension: 3 points
                     "A2,0812345678,2027-01-20T12:00:00+07:00,100.00,paid,",  # during it
                     "A3,0812345678,2027-02-02T12:00:00+07:00,125.00,paid,")  # during it, the day before paying
        shop.ok("orders", "import", str(feed), "--channel", "myshop")
        result = shop.json("orders", "sync")
    assert (result["awarded"], result["points_awarded"], result["not_eligible"]) == (1, 3, 2)
    orders = _orders(shop)
    assert orders["A1"]["state"] == "awarded" and orders["A1"]["points_awarded"] == 3
    for oid in ("A2", "A3"):
        assert orders[oid]["state"] == "not_eligible" and orders[oid]["points_awarded"] == 0
        assert "suspended for non-payment (invoice INV-2027-000001" in orders[oid]["state_reason"]


def test_orders_imported_before_paying_are_judged_against_the_suspension_too(shop, tmp_path):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "invoices")
    with freeze_time("2027-01-25T10:00:00+07:00"):  # suspended: the feed is still kept
        shop.ok("orders", "import", str(_feed(tmp_path, "a.csv", "B1,0812345678,2027-01-20T12:00:00+07:00,100.00,paid,")),
                "--channel", "myshop")
    with freeze_time("2027-01-25T19:00:00+07:00"):
        assert "1 waiting" in shop.ok("maintenance", "run", "--only", "orders").stdout
        assert _orders(shop)["B1"]["state"] == "new"
        assert "waiting: paid 2027-01-20 12:00" in _orders(shop)["B1"]["state_reason"]
    with freeze_time("2027-02-03T10:00:00+07:00"):
        shop.ok("billing", "pay", "INV-2027-000001")
    with freeze_time("2027-02-03T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "orders")
        assert _orders(shop)["B1"]["state"] == "not_eligible"


def test_an_order_paid_on_the_last_service_day_after_the_sync_is_awarded_by_the_next_sync(shop, tmp_path):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-15T10:00:00+07:00"):
        assert shop.json("billing", "cancel", "--date", "2027-01-15")["service_ends"] == "2027-01-31"
    with freeze_time("2027-01-31T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "orders")
    with freeze_time("2027-02-01T10:00:00+07:00"):
        feed = _feed(tmp_path, "late.csv",
                     "L1,0812345678,2027-01-31T23:59:59+07:00,250.00,paid,",  # while the service was on
                     "L2,0812345678,2027-02-01T09:00:00+07:00,250.00,paid,")  # after it ended
        shop.ok("orders", "import", str(feed), "--channel", "line-shopping")
        before = _orders(shop)
        assert before["L1"]["state_reason"] == "waiting for the next order sync (daily at 19:00 Bangkok)"
    with freeze_time("2027-02-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--only", "orders").stdout
        assert "cafe: 1 orders awarded 10 points" in out and "1 waiting" in out
        orders = _orders(shop)
    assert orders["L1"]["state"] == "awarded" and orders["L1"]["points_awarded"] == 10
    assert orders["L2"]["state"] == "new"
    assert orders["L2"]["state_reason"].startswith(
        "waiting: paid 2027-02-01 09:00 Bangkok, while the store's MyCustomer | CRM service was not active")
    with freeze_time("2027-02-02T19:00:00+07:00"):  # nothing changes on the next nights
        out = shop.ok("maintenance", "run", "--only", "orders").stdout
        assert "0 orders awarded" in out and _orders(shop)["L1"]["points_awarded"] == 10
