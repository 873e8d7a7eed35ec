"""maintenance run for cron: timestamped log lines when not on a terminal, and figures as
integers in the JSON summary (both databases)."""

from __future__ import annotations

import json
import re

from freezegun import freeze_time


def test_cron_lines_start_with_a_timestamp_and_json_has_numbers(shop):
    with freeze_time("2026-11-24T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("points", "give", "0812345678", "--spend", "500", "--branch", "Siam")
    with freeze_time("2027-01-01T19:00:00+07:00"):
        out = shop.ok("maintenance", "run", "--quiet").stdout.splitlines()
        from crm_cli.services.maintenance import JOBS

        assert len(out) == len(JOBS)  # one line per job
        assert all(re.match(r"^2027-01-01T19:00:00\+07:00 \w+: ok: ", line) for line in out), out
        rows = json.loads(shop.ok("maintenance", "run", "--format", "json").stdout)
    by_job = {r["job"]: r for r in rows}
    assert by_job["expire"]["counts"] == {"lots_expired": 0, "points_expired": 0, "members": 0}
    assert by_job["invoices"]["counts"] == {"invoices_issued": 0, "stores_not_billed": 0}  # issued by the first run
    assert by_job["retention"]["counts"] == {"answers_deleted": 0}
    assert by_job["orders"]["counts"]["points_awarded"] == 0
    for r in rows:
        assert r["counts"] and all(type(v) is int for v in r["counts"].values()), r
    with freeze_time("2027-02-01T19:00:00+07:00"):
        first = json.loads(shop.ok("maintenance", "run", "--only", "invoices", "--format", "json").stdout)
    assert first[0]["counts"] == {"invoices_issued": 1, "stores_not_billed": 0}
