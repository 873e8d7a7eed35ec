"""Honest defaults and exit codes: `billing subscribe` without --date, points at a closed branch."""

from __future__ import annotations

import json

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode


def test_subscribe_defaults_to_today_in_bangkok_and_says_so(shop):
    with freeze_time("2026-11-24T23:30:00+00:00"):  # 06:30 on 2026-11-25 in Bangkok
        r = shop.ok("billing", "subscribe", fmt="json")
    status = json.loads(r.stdout)
    assert r.stderr.splitlines()[0] == "no --date given: the LINE Pay binding day is today, 2026-11-25 (Bangkok)"
    assert (status["trial_end"], status["paid_from"]) == ("2026-12-24", "2026-12-25")
    assert status["events"] == ["2026-11-25 subscribe at 06:30"]  # the service starts at that moment
    quiet = shop("--quiet", "billing", "subscribe")
    assert quiet.exit_code == 4 and "no --date given" not in quiet.stderr  # already subscribed; --quiet says nothing more


def test_points_at_a_closed_branch_is_a_business_rule_refusal(shop):
    shop.ok("branch", "close", "Ari")
    err = shop.fails(ExitCode.CONFLICT, "points", "give", "0812345678", "--spend", "100", "--branch", "Ari")
    assert err == "error: branch 'Ari' is closed: use an open branch (see `crm branch list`)"
    shop.ok("points", "give", "0812345678", "--spend", "100", "--branch", "Siam")
