"""`crm demo` builds a working store through the real services, and a second run only shows it."""

from __future__ import annotations

from freezegun import freeze_time


def test_demo_builds_and_reruns(cli):
    with freeze_time("2026-11-24 03:00:00"):
        out = cli.json("demo", store=None)
        assert out["slug"] == "demo-cafe"
        assert out["overview"]["members"] == 303  # 300 imported from the sample file + 3 registered
        assert out["overview"]["imported_from_sample"] == 300
        assert [b["name"] for b in out["branches"]] == ["Ari", "Chiang Mai Nimman", "Siam Square"]
        assert {r["name"]: r["redeemed"] for r in out["rewards"]} == {"Free Latte": 1, "Canvas Tote Bag": 1}
        # the demo store is now current and consistent
        assert cli.json("store", "show", store=None)["slug"] == "demo-cafe"
        cli.ok("points", "check", store=None)
        # the demo store has set the value of a point, so its liability report works as it stands
        assert out["overview"]["point_value"] == "1.00 THB"
        liab = cli.json("report", "liability", store=None)
        assert liab["point_value_source"].startswith("store setting") and liab["outstanding_points"] > 0
        assert liab["outstanding_value"] == f"{liab['outstanding_points']}.00"
        again = cli("demo", store=None)
        assert again.exit_code == 0 and "already exists" in again.stderr
        assert cli.json("demo", store=None)["overview"]["imported_from_sample"] is None
