"""The billing interpretations of docs/billing.md, one test per row, on both databases at pinned times."""

from __future__ import annotations

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode

HEADER = "order_id,phone,paid_at,amount,status,refund_amount\n"


def _inv(cli, month):
    return cli.json("billing", "invoice", "--month", month)


def test_cancel_during_the_trial_ends_at_the_trial_end_with_no_charge(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2026-12-05T10:00:00+07:00"):
        status = shop.json("billing", "cancel", "--date", "2026-12-05")
        assert (status["trial_end"], status["service_ends"]) == ("2026-12-09", "2026-12-09")
    with freeze_time("2026-12-09T23:59:00+07:00"):
        shop.ok("branch", "list")
    with freeze_time("2026-12-10T00:00:00+07:00"):
        shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
    with freeze_time("2027-01-02T10:00:00+07:00"):
        assert _inv(shop, "2026-11")["status"] == "no charges"
        assert _inv(shop, "2026-12")["status"] == "no charges"


def test_cancel_during_the_trial_in_an_earlier_month_ends_with_that_month(shop):
    with freeze_time("2026-11-20T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        assert shop.json("billing", "cancel", "--date", "2026-11-20")["service_ends"] == "2026-11-30"
    with freeze_time("2026-12-01T00:00:00+07:00"):
        shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
    with freeze_time("2027-01-02T10:00:00+07:00"):
        assert _inv(shop, "2026-12")["status"] == "no charges"


def test_a_pro_cancellation_purges_from_the_month_after(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("billing", "pro", "--date", "2027-02-10")
        status = shop.json("billing", "cancel", "--pro", "--date", "2027-03-15")
    assert (status["service_ends"], status["purge_after"]) == ("2027-03-31", "2027-07-29")
    with freeze_time("2027-04-01T10:00:00+07:00"):
        mar = _inv(shop, "2027-03")
        assert [(line["plan"], line["amount"]) for line in mar["lines"]] == [("pro", "1780.00")]
        shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
    with freeze_time("2027-07-28T19:00:00+07:00"):
        assert "nothing to purge" in shop.ok("maintenance", "run", "--only", "purges").stdout
    with freeze_time("2027-07-29T19:00:00+07:00"):
        assert "cafe: purged" in shop.ok("maintenance", "run", "--only", "purges").stdout
        shop.fails(ExitCode.NOT_FOUND, "store", "show")


def test_purge_on_the_last_day_of_the_cancellation_month_plus_90_days(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-10-01")
        assert shop.json("billing", "cancel", "--date", "2026-11-25")["purge_after"] == "2027-02-28"
    with freeze_time("2027-02-27T19:00:00+07:00"):
        assert "nothing to purge" in shop.ok("maintenance", "run", "--only", "purges").stdout
        shop.ok("store", "show")
    with freeze_time("2027-02-28T19:00:00+07:00"):
        assert "cafe: purged" in shop.ok("maintenance", "run", "--only", "purges").stdout


def test_a_resume_at_exactly_18_00_is_not_before_18_00(shop, tmp_path):
    with freeze_time("2026-10-20T10:00:00+07:00"):
        for slug in ("at1759", "at1800"):
            shop.ok("store", "create", slug, "--name", slug, "--no-use")
            shop.ok("billing", "subscribe", "--date", "2026-10-20", store=slug)
            shop.ok("billing", "cancel", "--date", "2026-11-25", store=slug)  # service ends 2026-11-30
    feed = tmp_path / "o.csv"
    feed.write_text(HEADER + "R1,0812345678,2026-12-01T09:00:00+07:00,250.00,paid,\n", encoding="utf-8")
    with freeze_time("2026-12-01T20:00:00+07:00"):
        shop.ok("billing", "resume", "--date", "2026-12-01T17:59", store="at1759")
        shop.ok("billing", "resume", "--date", "2026-12-01T18:00", store="at1800")
        for slug in ("at1759", "at1800"):
            shop.ok("orders", "import", str(feed), "--channel", "myshop", store=slug)
            shop.ok("orders", "sync", store=slug)
        early = shop.json("orders", "list", store="at1759")[0]
        late = shop.json("orders", "list", store="at1800")[0]
    assert early["state"] == "awarded" and early["points_awarded"] == 10
    assert late["state"] == "not_eligible" and "resubscribed at 18:00" in late["state_reason"]


def test_invoices_are_due_on_the_15th_and_paying_on_the_due_date_is_in_time(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "invoices")
        dec = _inv(shop, "2026-12")
        assert (dec["number"], dec["due_date"], dec["status"]) == ("INV-2027-000001", "2027-01-15", "unpaid")
    with freeze_time("2027-01-15T23:59:00+07:00"):
        shop.ok("branch", "list")
    with freeze_time("2027-01-16T00:00:00+07:00"):
        assert "unpaid after its due date 2027-01-15" in shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")
        assert _inv(shop, "2026-12")["status"] == "overdue"


def test_a_late_invoice_gets_15_days_from_its_issue_day_and_does_not_suspend_the_run_that_issued_it(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-09-01")
        out = shop.ok("maintenance", "run", "--only", "invoices,suspensions").stdout
        assert "INV-2026-000001 (2026-10)" in out and "suspended" not in out
        oct_ = _inv(shop, "2026-10")
        assert (oct_["due_date"], oct_["status"]) == ("2026-12-08", "unpaid")
        assert oct_["issued_at"].startswith("2026-11-24")
        shop.ok("branch", "list")
    with freeze_time("2026-12-08T23:59:00+07:00"):
        assert "no changes" in shop.ok("maintenance", "run", "--only", "suspensions").stdout
        shop.ok("branch", "list")
    with freeze_time("2026-12-09T00:00:00+07:00"):
        assert "cafe: suspended" in shop.ok("maintenance", "run", "--only", "suspensions").stdout
        shop.fails(ExitCode.STORE_SUSPENDED, "branch", "list")


def test_invoice_numbers_follow_the_year_of_issue(shop):
    with freeze_time("2026-10-05T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-10-01")  # first paid day 2026-10-31
    with freeze_time("2026-12-01T19:00:00+07:00"):
        nov = _inv(shop, "2026-11")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        dec = _inv(shop, "2026-12")
    assert (nov["number"], dec["number"]) == ("INV-2026-000001", "INV-2027-000001")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        assert _inv(shop, "2026-10")["number"] == "INV-2027-000002"  # October issued late: in 2027
