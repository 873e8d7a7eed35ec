"""A future --as-of never commits: every command that takes it refuses a moment after now
(exit 5, one line) unless it is a dry run (both databases)."""

from __future__ import annotations

import typer
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.cli.app import app
from crm_cli.domain.errors import ExitCode

NOW = "2026-11-24T10:00:00+07:00"
FUTURE = "2027-01-02T19:00"
REFUSED = ("error: --as-of 2027-01-02 19:00 Bangkok is in the future (now 2026-11-24 10:00): "
           "nothing is written ahead of time; add --dry-run to preview it")


def _commands_with_as_of() -> list[tuple[str, ...]]:
    from tests.cli.test_help import _walk

    root = typer.main.get_command(app)
    return [path for path, cmd in _walk(root)
            if path and any("--as-of" in getattr(p, "opts", ()) for p in getattr(cmd, "params", ()))]


def _counts(engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                     for t in ("ledger_entry", "audit_log", "maintenance_run", "tier_history", "invoice"))


def test_every_command_with_as_of_refuses_the_future(shop, engine):
    paths = _commands_with_as_of()
    assert {" ".join(p) for p in paths} >= {"maintenance run", "points expire", "orders sync", "tier recalc"}
    with freeze_time(NOW):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        shop.ok("points", "give", "0812345678", "--spend", "500")
        shop.ok("tier", "on")
        shop.ok("tier", "set", "Gold", "--threshold", "10")
        before = _counts(engine)
        for path in paths:
            err = shop.fails(ExitCode.INVALID_INPUT, *path, "--as-of", FUTURE)
            assert err == REFUSED, (path, err)
            assert "\n" not in err
        assert _counts(engine) == before  # nothing written, not even an audit record
        for path in paths:  # a dry run may look ahead, and writes nothing either
            r = shop(*path, "--as-of", FUTURE, "--dry-run")
            assert r.exit_code == 0, (path, r.stderr)
        assert _counts(engine) == before
        # the past and the present still run for real
        shop.ok("maintenance", "run", "--as-of", "2026-11-24T09:00")
        shop.ok("points", "expire", "--as-of", "2026-11-24")
        assert _counts(engine)[2] > before[2]


def test_future_maintenance_dry_run_shows_what_would_happen(shop, engine):
    with freeze_time(NOW):
        shop.ok("billing", "subscribe", "--date", "2026-11-10")
        rows = shop.json("maintenance", "run", "--as-of", FUTURE, "--dry-run")
        assert [r["job"] for r in rows][0] == "expire"
        assert any("INV-" in r["summary"] for r in rows if r["job"] == "invoices")
        assert _counts(engine)[2:] == (0, 0, 0)  # no job run, tier move or invoice kept
        assert shop.json("maintenance", "history") == []
