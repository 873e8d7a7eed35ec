"""Billing through the CLI on both databases: the worked examples, invoices, suspension, purge."""

from __future__ import annotations

import json
from decimal import Decimal

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode


def _inv(cli, month, *extra):
    return cli.json("billing", "invoice", "--month", month, *extra)


def test_worked_example_subscribe_2026_11_10(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        status = shop.json("billing", "subscribe", "--date", "2026-11-10")
    assert status["state"] == "trial" and status["trial_end"] == "2026-12-09" and status["paid_from"] == "2026-12-10"
    with freeze_time("2027-02-02T10:00:00+07:00"):
        nov = _inv(shop, "2026-11")
        assert nov["number"] is None and nov["status"] == "no charges" and nov["total"] == "0.00"
        dec = _inv(shop, "2026-12")
        assert (dec["subtotal"], dec["vat"], dec["total"]) == ("261.87", "18.33", "280.20")
        assert dec["number"] == "INV-2027-000001"
        [line] = dec["lines"]
        assert (line["days"], line["days_in_month"], line["rate"], line["period_start"]) == (22, 31, "369.00", "2026-12-10")
        # issued late (2027-02-02): 15 days to pay from the day of issue, not the 15th of January
        assert dec["due_date"] == "2027-02-16"
        jan = _inv(shop, "2027-01")
        assert (jan["subtotal"], jan["vat"], jan["total"]) == ("369.00", "25.83", "394.83")
        assert jan["number"] == "INV-2027-000002"
        again = _inv(shop, "2026-12")
        assert again["number"] == "INV-2027-000001" and again["total"] == "280.20"
        nov2 = _inv(shop, "2026-11")
        assert nov2["number"] is None


def test_leap_february(shop):
    with freeze_time("2028-01-11T09:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2028-01-11")
    with freeze_time("2028-03-01T09:00:00+07:00"):
        feb = _inv(shop, "2028-02")
    assert (feb["subtotal"], feb["vat"], feb["total"]) == ("254.48", "17.81", "272.29")
    assert (feb["lines"][0]["days"], feb["lines"][0]["days_in_month"]) == (20, 29)
    assert feb["number"] == "INV-2028-000001"


def test_trial_ending_on_last_day_of_month(shop):
    with freeze_time("2026-11-01T09:00:00+07:00"):
        status = shop.json("billing", "subscribe", "--date", "2026-11-01")
    assert status["trial_end"] == "2026-11-30"
    with freeze_time("2027-01-05T09:00:00+07:00"):
        assert _inv(shop, "2026-11")["number"] is None
        dec = _inv(shop, "2026-12")
    assert dec["total"] == "394.83" and dec["lines"][0]["days"] == 31 and dec["lines"][0]["amount"] == "369.00"


def test_pro_move_and_cancel(shop):
    with freeze_time("2026-11-24T09:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("billing", "pro", "--date", "2027-02-10")
        shop.ok("billing", "cancel", "--pro", "--date", "2027-03-15")
        err = shop.fails(ExitCode.CONFLICT, "billing", "resume", "--date", "2027-03-20")
        assert "2027-04-01" in err
        err = shop.fails(ExitCode.CONFLICT, "billing", "subscribe", "--date", "2027-04-01")
        assert "resume" in err
    with freeze_time("2027-04-02T09:00:00+07:00"):
        feb = _inv(shop, "2027-02")
        mar = _inv(shop, "2027-03")
        apr = shop.fails(ExitCode.CONFLICT, "billing", "invoice", "--month", "2027-04")
    assert [l["plan"] for l in feb["lines"]] == ["crm", "pro"]
    assert (feb["subtotal"], feb["vat"], feb["total"]) == ("2149.00", "150.43", "2299.43")
    assert (mar["subtotal"], mar["total"]) == ("1780.00", "1904.60")
    assert "has not ended" in apr


def test_invoice_files_and_all_stores(shop, tmp_path):
    with freeze_time("2026-11-24T09:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("store", "create", "bakery", "--name", "ร้านขนม", "--no-use")
        shop.ok("billing", "subscribe", "--date", "2026-11-01", store="bakery")
    with freeze_time("2027-01-03T09:00:00+07:00"):
        rows = shop.json("billing", "invoice", "--month", "2026-12", "--all", "--out", str(tmp_path / "all.xlsx"))
        assert [(r["store"], r["total"]) for r in rows] == [("bakery", "394.83"), ("cafe", "280.20")]
        assert sorted(r["number"] for r in rows) == ["INV-2027-000001", "INV-2027-000002"]
        again = shop.json("billing", "invoice", "--month", "2026-12", "--all")
        assert sorted(r["number"] for r in again) == ["INV-2027-000001", "INV-2027-000002"]
        shop.ok("billing", "invoice", "--month", "2026-12", "--out", str(tmp_path / "cafe.pdf"))
        shop.ok("billing", "invoice", "--month", "2026-12", "--out", str(tmp_path / "cafe.json"))
        shop.fails(ExitCode.INVALID_INPUT, "billing", "invoice", "--month", "2026-12", "--out", str(tmp_path / "cafe.txt"))
        shop.fails(ExitCode.INVALID_INPUT, "billing", "invoice", "--month", "2026-13")
        table = shop.ok("billing", "invoice", "--month", "2026-12").stdout
        assert "261.87" in table and "22" in table
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "all.xlsx")
    totals = {r[1]: Decimal(str(r[9])) for r in wb["Invoices"].iter_rows(min_row=2, values_only=True)}
    assert totals == {"bakery": Decimal("394.83"), "cafe": Decimal("280.20")}
    assert (tmp_path / "cafe.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((tmp_path / "cafe.json").read_text())["total"] == "280.20"


def test_cancellation_suspends_and_resume_lifts(shop):
    with freeze_time("2026-11-24T09:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        status = shop.json("billing", "cancel", "--date", "2026-12-15")
        assert status["service_ends"] == "2026-12-31" and status["purge_after"] == "2027-03-31"
    with freeze_time("2027-01-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--only", "suspensions").stdout
        assert "cafe: suspended" in out
        err = shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
        assert "suspended" in err and "billing resume" in err
        shop.ok("orders", "list")  # orders stay readable: the list says why they wait
        assert shop.json("billing", "status")["suspended"] is True
        shop.ok("store", "show")
        # a second run changes nothing
        assert "no changes" in shop.ok("maintenance", "run", "--only", "suspensions").stdout
    with freeze_time("2027-01-03T10:00:00+07:00"):
        status = shop.json("billing", "resume", "--date", "2027-01-03")
        assert status["suspended"] is False and status["state"] == "active"
        shop.ok("branch", "list")
    with freeze_time("2027-02-01T10:00:00+07:00"):
        jan = _inv(shop, "2027-01")
    # resumed on 2027-01-03: 29 of 31 days
    assert jan["lines"][0]["days"] == 29 and jan["subtotal"] == "345.19"


def test_overdue_invoice_suspends_until_paid(shop):
    with freeze_time("2026-11-24T09:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--only", "invoices,suspensions").stdout
        assert "INV-2027-000001" in out and "suspended" not in out
    with freeze_time("2027-01-15T19:00:00+07:00"):  # the due date itself is in time
        assert "no changes" in shop.ok("maintenance", "run", "--only", "suspensions").stdout
    with freeze_time("2027-01-16T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "suspensions")
        err = shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
        assert "INV-2027-000001" in err
        err = shop.fails(ExitCode.CONFLICT, "billing", "resume", "--date", "2027-01-16")
        assert "crm billing pay INV-2027-000001" in err
        paid = shop.json("billing", "pay", "INV-2027-000001")
        assert paid["status"] == "paid"
        shop.ok("branch", "list")
        shop.fails(ExitCode.CONFLICT, "billing", "pay", "INV-2027-000001")
        shop.fails(ExitCode.NOT_FOUND, "billing", "pay", "INV-2027-999999")
