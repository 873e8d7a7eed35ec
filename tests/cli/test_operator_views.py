"""What an operator reads: the ledger check's figures in every format, Bangkok times in audit
summaries, and the subscription label on every view of a store and its billing status."""

from __future__ import annotations

import json

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode


def test_points_check_keeps_its_figures_in_csv_plain_and_markdown(shop):
    shop.ok("points", "give", "0812345678", "--spend", "250", "--branch", "Siam")
    shop.ok("points", "give", "0899999999", "--spend", "100", "--branch", "Ari")
    csv_out = shop.ok("points", "check", fmt="csv").stdout
    blocks = csv_out.strip().split("\n\n")
    assert blocks[0].splitlines() == [
        "# ledger check",
        "store,entries,lots,accounts,points_open,lots_awaiting_expiry,breaches",
        "cafe,2,2,2,14,0,0",
    ]
    assert blocks[1].splitlines()[:2] == ["# checks", "check,breaches,description"]
    assert len(blocks[1].splitlines()) == 2 + len(shop.json("points", "check")["checks"])
    plain = shop.ok("points", "check", fmt="plain").stdout
    assert plain.startswith("ledger check\n") and "\nchecks\n" in plain
    assert "points_open           14" in plain
    markdown = shop.ok("points", "check", fmt="markdown").stdout
    assert markdown.startswith("## ledger check\n") and "\n## checks\n" in markdown
    report = shop.json("points", "check")  # JSON: the whole report, as before
    assert (report["entries"], report["points_balance"], report["ok"]) == (2, 14, True)


def test_tier_recalc_audit_summary_is_bangkok_time_to_the_minute(shop):
    shop.ok("tier", "on")
    shop.ok("tier", "set", "Silver", "--threshold", "100")
    with freeze_time("2026-11-30T19:05:30+07:00"):
        shop.ok("tier", "recalc")
        shop.ok("tier", "recalc", "--as-of", "2026-11-30T08:00")
    summaries = [a["summary"] for a in shop.json("audit", "list", "--command", "tier recalc")]
    assert summaries == [
        "tier recalc as of 2026-11-30 08:00 Bangkok: 0 up, 0 down",
        "tier recalc as of 2026-11-30 19:05 Bangkok: 0 up, 0 down",
    ]
    table = shop.ok("audit", "list", "--command", "tier recalc").stdout
    assert "+00:00" not in table and "2026-11-30T" not in table


def test_every_view_of_a_store_names_its_subscription(cli):
    with freeze_time("2026-11-30T10:00:00+07:00"):
        created = json.loads(cli.ok("store", "create", "cafe", "--name", "Cafe", fmt="json").stdout)
        assert created["subscription"] == "none: not billed"
        edited = json.loads(cli.ok("--store", "cafe", "store", "edit", "--phone", "02-123-4567", fmt="json").stdout)
        assert edited["subscription"] == "none: not billed"
        status = cli.json("--store", "cafe", "billing", "status")
        assert (status["state"], status["subscription"]) == ("none", "none: not billed")
        assert " subscription       none: not billed" in cli.ok("--store", "cafe", "billing", "status").stdout
        cli.ok("--store", "cafe", "billing", "subscribe", "--date", "2026-11-30")
        assert cli.json("--store", "cafe", "billing", "status")["subscription"] == "crm trial"
        assert cli.json("--store", "cafe", "store", "show")["subscription"] == "crm trial"
        edited = json.loads(cli.ok("--store", "cafe", "store", "edit", "--name", "Cafe Two", fmt="json").stdout)
        assert edited["subscription"] == "crm trial"
    with freeze_time("2026-12-15T10:00:00+07:00"):
        cli.ok("--store", "cafe", "billing", "cancel", "--date", "2026-12-15")
    with freeze_time("2027-01-02T10:00:00+07:00"):  # the trial ended with the cancellation
        assert cli.json("--store", "cafe", "billing", "status")["subscription"] == "crm cancelled (service off)"


def test_a_payment_dated_in_the_future_is_refused(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        shop.ok("maintenance", "run", "--only", "invoices")
    with freeze_time("2027-01-20T10:00:00+07:00"):  # overdue since 2027-01-16: the store is held off
        err = shop.fails(ExitCode.INVALID_INPUT, "billing", "pay", "INV-2027-000001", "--date", "2028-01-19")  # a mistyped year
        assert err == ("error: payment date 2028-01-19 00:00 Bangkok is in the future (now 2027-01-20 10:00): "
                       "record a payment once it has been made")
        status = shop.json("billing", "status")
        assert status["unpaid_invoices"] == ["INV-2027-000001"] and status["service_active"] is False
        paid = json.loads(shop.ok("billing", "pay", "INV-2027-000001", "--date", "2027-01-20T09:30", fmt="json").stdout)
        assert (paid["status"], paid["paid_at"]) == ("paid", "2027-01-20T02:30:00+00:00")
        assert shop.json("billing", "status")["service_active"] is True


def test_maintenance_audit_record_gives_bangkok_time_and_the_store_of_a_store_run(shop, cli):
    cli.store = None
    cli.ok("store", "create", "other", "--name", "Other", "--no-use")
    with freeze_time("2026-11-30T19:00:20+07:00"):
        cli.ok("maintenance", "run", "--only", "expire")
        cli.ok("--store", "other", "maintenance", "run", "--only", "expire", "--as-of", "2026-11-30T18:30")
    every = [(a["store"], a["summary"]) for a in cli.json("audit", "list", "--all-stores", "--command", "maintenance")]
    assert every == [("other", "maintenance as of 2026-11-30 18:30 Bangkok: expire ok"),
                     (None, "maintenance as of 2026-11-30 19:00 Bangkok: expire ok")]
    assert [a["summary"] for a in cli.json("--store", "other", "audit", "list", "--command", "maintenance")] == [
        "maintenance as of 2026-11-30 18:30 Bangkok: expire ok"]
    assert cli.json("--store", "cafe", "audit", "list", "--command", "maintenance") == []


def test_billing_status_keeps_showing_a_cancellation_in_force_while_a_resume_is_only_scheduled(shop):
    shop.at("2026-08-01T10:00:00+07:00", "billing", "subscribe", "--date", "2026-08-01")
    shop.at("2026-10-15T10:00:00+07:00", "billing", "cancel", "--date", "2026-10-15")
    with freeze_time("2026-11-30T10:00:00+07:00"):
        shop.ok("billing", "resume", "--date", "2027-03-01")
        status = shop.json("billing", "status")
        assert (status["state"], status["service_active"]) == ("cancelled", False)
        assert (status["cancelled_on"], status["service_ends"]) == ("2026-10-15", "2026-10-31")
        assert status["suspended_reason"] == "MyCustomer | CRM cancelled on 2026-10-15, service ended 2026-10-31"
        assert status["purge_after"] is None  # the scheduled resume withdraws the purge
        assert status["events"][-1] == "2027-03-01 resume"
