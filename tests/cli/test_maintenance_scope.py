"""`maintenance run --store SLUG` processes that store only; stores without a subscription are named
(maintenance run, store list, store show). Both databases, pinned times."""

from __future__ import annotations

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode


def _lines(out: str) -> list[str]:
    """The summary lines without the timestamp that starts each line in cron mode."""
    return [line.split(" ", 1)[1] if line[:4].isdigit() else line for line in out.splitlines()]


def _stores(cli):
    return {r["slug"]: r for r in cli.json("store", "list")}


def test_store_option_limits_every_job_to_that_store(shop):
    with freeze_time("2026-10-01T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-09-01")
        shop.ok("store", "create", "other", "--name", "Other", "--no-use")
        shop.ok("billing", "subscribe", "--date", "2026-09-01", store="other")
        shop.ok("store", "create", "free", "--name", "Free", "--no-use")
    with freeze_time("2026-11-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--only", "invoices", store="other").stdout
        assert _lines(out)[0].startswith("invoices: ok: other: INV-2026-000001 (2026-10)")
        assert "cafe" not in out and "free" not in out
        assert shop.json("billing", "status")["unpaid_invoices"] == []  # cafe was not billed by that run
        out = shop.ok("maintenance", "run", "--only", "invoices", store=None).stdout  # cron: every store
        assert "cafe: INV-2026-000002 (2026-10)" in out and "other:" not in out
        assert "not billed (no subscription): free" in out
        assert shop.json("billing", "status")["unpaid_invoices"] == ["INV-2026-000002"]
    with freeze_time("2026-11-16T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--only", "suspensions", store="other").stdout
        assert _lines(out) == ["suspensions: ok: other: suspended (invoice INV-2026-000001 unpaid after its due date 2026-11-15)"]
        assert "cafe: suspended" in shop.ok("maintenance", "run", "--only", "suspensions", store=None).stdout
    assert "not found" in shop.fails(ExitCode.NOT_FOUND, "maintenance", "run", "--only", "invoices", store="nope")


def test_stores_without_a_subscription_are_named_in_store_list_and_show(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("store", "create", "paying", "--name", "Paying", "--no-use")
        shop.ok("billing", "subscribe", "--date", "2026-11-10", store="paying")
        listed = _stores(shop)
        assert listed["cafe"]["subscription"] == "none: not billed"
        assert listed["paying"]["subscription"] == "crm trial"
        assert shop.json("store", "show")["subscription"] == "none: not billed"
        table = shop.ok("store", "list").stdout
        assert "subscription" in table and "none: not billed" in table
    with freeze_time("2026-12-01T10:00:00+07:00"):
        shop.ok("billing", "cancel", "--date", "2026-11-20", store="paying")  # service ended 2026-11-30
        show = shop.json("store", "show", store="paying")
        assert show["subscription"] == "crm cancelled (service off)" and show["suspended"] is True
        assert show["suspended_reason"].startswith("MyCustomer | CRM cancelled on 2026-11-20")
