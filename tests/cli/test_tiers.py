"""crm tier: settings, thresholds, lifting on earn, set-based recalc, history (both databases)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.services.test_tiers_helpers import earn, member
from tests.support import members_with_points

T0 = datetime(2026, 1, 10, 5, 0, tzinfo=timezone.utc)


@pytest.fixture
def tiered(shop, uow):
    with freeze_time("2026-01-01 03:00:00"):
        shop.ok("tier", "on")
        shop.ok("tier", "set", "Silver", "--threshold", "100")
        shop.ok("tier", "set", "Gold", "--threshold", "500", "--benefits", "5% off")
    return shop


def _tiers(cli):
    return {r["name"]: r for r in cli.json("tier", "list")}


def test_set_list_rank_and_update(tiered):
    tiered.ok("tier", "set", "Bronze", "--threshold", "0")
    rows = tiered.json("tier", "list")
    assert [(r["rank"], r["name"], r["threshold"]) for r in rows] == [(1, "Bronze", 0), (2, "Silver", 100), (3, "Gold", 500)]
    out = tiered.json("tier", "set", "gold", "--threshold", "600")
    assert out["created"] is False and out["name"] == "Gold" and out["threshold"] == 600
    assert _tiers(tiered)["Gold"]["benefits"] == "5% off"


def test_sixth_tier_and_duplicate_threshold_refused(tiered):
    err = tiered.fails(ExitCode.CONFLICT, "tier", "set", "Dup", "--threshold", "100")
    assert "already has threshold 100" in err
    for i, th in enumerate((1000, 2000, 3000)):
        tiered.ok("tier", "set", f"T{i}", "--threshold", str(th))
    err = tiered.fails(ExitCode.CONFLICT, "tier", "set", "Sixth", "--threshold", "9000")
    assert "at most 5 tiers" in err
    # updating one of the five is still fine
    tiered.ok("tier", "set", "T2", "--threshold", "3500")
    assert tiered.fails(ExitCode.INVALID_INPUT, "tier", "set", "Neg", "--threshold", "-1")


def test_cycle_bounds(tiered):
    assert tiered.json("tier", "cycle", "6")["tier_cycle_months"] == 6
    assert "1 to 24" in tiered.fails(ExitCode.INVALID_INPUT, "tier", "cycle", "25")
    tiered.fails(ExitCode.INVALID_INPUT, "tier", "cycle", "0")


def test_earning_lifts_at_once_and_history(tiered, uow):
    with uow() as s:
        member(s, "0811111111", now=T0)
        earn(s, "0811111111", 120, at=T0)
    hist = tiered.json("tier", "history", "081-111-1111")
    assert [(h["old_tier"], h["new_tier"], h["reason"], h["earned_points"]) for h in hist] == [(None, "Silver", "earn", 120)]
    assert _tiers(tiered)["Silver"]["members"] == 1


def test_phone_only_account_gets_no_tier(tiered, uow):
    with uow() as s:
        member(s, "0812222222", registered=False, now=T0)
        earn(s, "0812222222", 900, at=T0)
    with freeze_time("2026-01-11"):
        out = tiered.json("tier", "recalc")
    assert out == []
    assert _tiers(tiered)["Gold"]["members"] == 0


def test_erasure_drops_the_tier_at_once_and_recalc_never_gives_it_back(tiered, uow):
    """Only registered, not erased members hold a tier: erasure drops it (reason 'erased'),
    and a recalculation does not place the erased member again, points or not."""
    from sqlalchemy import text

    with uow() as s:
        member(s, "0811111111", now=T0)
        earn(s, "0811111111", 600, at=T0)
    assert _tiers(tiered)["Gold"]["members"] == 1
    with freeze_time("2026-01-11"):
        anon = tiered.json("member", "forget", "0811111111", "--yes")["anon_id"]
        assert _tiers(tiered)["Gold"]["members"] == 0
        assert tiered.json("tier", "recalc", "--dry-run") == []
        assert tiered.json("tier", "recalc") == []
    assert _tiers(tiered)["Gold"]["members"] == 0
    with uow() as s:
        rows = s.execute(text("SELECT h.old_tier, h.new_tier, h.reason FROM tier_history h "
                              "JOIN member m ON m.id = h.member_id WHERE m.anon_id = :a ORDER BY h.id"),
                         {"a": anon}).all()
    assert [tuple(r) for r in rows] == [(None, "Gold", "earn"), ("Gold", None, "erased")]
    assert all(line["ok"] for line in tiered.json("db", "check"))


def test_recalc_upgrades_downgrades_idempotent_and_dry_run(tiered, uow):
    with uow() as s:
        member(s, "0811111111", now=T0)
        member(s, "0812222222", now=T0)
        member(s, "0813333333", now=T0)
        # earned before tiers could lift (lift=False): recalc must place them
        earn(s, "0811111111", 600, at=T0, lift=False)
        earn(s, "0812222222", 150, at=T0, lift=False)
        earn(s, "0812222222", 50, at=T0, kind="welcome", lift=False)
        # refunds do not count as earned
        earn(s, "0813333333", 99, at=T0, lift=False)
        earn(s, "0813333333", 300, at=T0, kind="refund", lift=False)
    with freeze_time("2026-02-01 01:00:00"):
        dry = tiered.json("tier", "recalc", "--dry-run")
        assert sorted((m["phone"], m["new_tier"]) for m in dry) == [("+66811111111", "Gold"), ("+66812222222", "Silver")]
        assert tiered.json("tier", "history", "0811111111") == []  # dry run wrote nothing
        moved = tiered.json("tier", "recalc")
        assert sorted((m["phone"], m["old_tier"], m["new_tier"], m["direction"]) for m in moved) == [
            ("+66811111111", None, "Gold", "up"), ("+66812222222", None, "Silver", "up")]
        assert tiered.json("tier", "recalc") == []  # idempotent
    # a year later the window (12 months, from 00:00 Bangkok that day) no longer holds T0's points
    with freeze_time("2027-01-20 01:00:00"):
        dry = tiered.json("tier", "recalc", "--dry-run", "--as-of", "2027-01-10")
        assert dry == []  # window starts 2026-01-10 00:00 Bangkok: T0 still inside
        moved = tiered.json("tier", "recalc")
        assert sorted((m["phone"], m["old_tier"], m["new_tier"], m["direction"]) for m in moved) == [
            ("+66811111111", "Gold", None, "down"), ("+66812222222", "Silver", None, "down")]
        r = tiered("tier", "recalc")
        assert "0 of 3 member(s) moved" in r.stderr
    hist = tiered.json("tier", "history", "0811111111")
    assert [(h["old_tier"], h["new_tier"], h["reason"]) for h in hist] == [(None, "Gold", "recalc"), ("Gold", None, "recalc")]
    assert hist[0]["earned_points"] == 600 and hist[1]["earned_points"] == 0


def test_shorter_cycle_downgrades(tiered, uow):
    with uow() as s:
        member(s, "0811111111", now=T0)
        earn(s, "0811111111", 600, at=T0)
        earn(s, "0811111111", 120, at=datetime(2026, 5, 1, 5, tzinfo=timezone.utc))
    tiered.ok("tier", "cycle", "3")
    with freeze_time("2026-06-01 05:00:00"):
        moved = tiered.json("tier", "recalc")
    assert [(m["old_tier"], m["new_tier"], m["earned_points"], m["direction"]) for m in moved] == [("Gold", "Silver", 120, "down")]


def test_remove_tier_drops_members_with_history(tiered, uow):
    with uow() as s:
        members_with_points(s, {"0811111111": 600, "0812222222": 150}, at=T0)
    with freeze_time("2026-01-15"):
        tiered.json("tier", "remove", "Gold")
    rows = _tiers(tiered)
    assert list(rows) == ["Silver"] and rows["Silver"]["members"] == 2
    hist = tiered.json("tier", "history", "0811111111")
    assert [(h["old_tier"], h["new_tier"], h["reason"]) for h in hist][-1] == ("Gold", "Silver", "tier removed")
    assert len(tiered.json("tier", "history", "0812222222")) == 1  # untouched
    tiered.fails(ExitCode.NOT_FOUND, "tier", "remove", "Gold")


def test_off_hides_keeps_history_and_stops_lifting(tiered, uow):
    with uow() as s:
        member(s, "0811111111", now=T0)
        earn(s, "0811111111", 120, at=T0)
    off = tiered.json("tier", "off")
    assert off["tiers_enabled"] is False and off["tiers"] == 2
    r = tiered.ok("tier", "list")
    assert "off" in r.stderr
    assert "switched off" in tiered.fails(ExitCode.CONFLICT, "tier", "recalc")
    with uow() as s:
        earn(s, "0811111111", 900, at=T0)  # no lift while off
    assert len(tiered.json("tier", "history", "0811111111")) == 1
    tiered.ok("tier", "on")
    assert _tiers(tiered)["Silver"]["members"] == 1
    with freeze_time("2026-01-11"):
        moved = tiered.json("tier", "recalc")
    assert [(m["old_tier"], m["new_tier"]) for m in moved] == [("Silver", "Gold")]


def test_recalc_counts_every_move_and_lists_the_first(tiered, uow):
    """A table lists the first 20 moves; the counts cover all; --limit, --all and the data
    formats (every move unless --limit) choose how many are listed. Writes are complete."""
    phones = [f"08130000{i:02d}" for i in range(25)]
    with uow() as s:
        for i, p in enumerate(phones):
            member(s, p, now=T0)
            earn(s, p, 600 if i % 2 else 150, at=T0, lift=False)  # odd: Gold, even: Silver
    with freeze_time("2026-02-01 01:00:00"):
        r = tiered.ok("tier", "recalc", "--dry-run")
        assert "25 of 25 member(s) would move: 25 up, 0 down" in r.stderr
        assert "listing the first 20 of 25 moves" in r.stderr
        assert "+66813000019" in r.stdout and "+66813000020" not in r.stdout  # member order
        assert len(tiered.json("tier", "recalc", "--dry-run")) == 25  # data formats: every move
        assert [m["phone"] for m in tiered.json("tier", "recalc", "--dry-run", "--limit", "2")] == [
            "+66813000000", "+66813000001"]
        csv_rows = tiered.ok("tier", "recalc", "--dry-run", fmt="csv").stdout.strip().splitlines()
        assert len(csv_rows) == 1 + 25
        everyone = tiered.ok("tier", "recalc", "--dry-run", "--all")
        assert "+66813000024" in everyone.stdout and "listing the first" not in everyone.stderr
        assert "--all and --limit" in tiered.fails(ExitCode.INVALID_INPUT, "tier", "recalc", "--all", "--limit", "3")
        assert tiered.json("tier", "history", phones[0]) == []  # dry runs wrote nothing

        r = tiered.ok("tier", "recalc", "--limit", "3", fmt="json")
        moved = json.loads(r.stdout)
        assert "25 of 25 member(s) moved: 25 up, 0 down" in r.stderr and "first 3 of 25" in r.stderr
        assert [(m["phone"], m["old_tier"], m["new_tier"], m["direction"]) for m in moved] == [
            ("+66813000000", None, "Silver", "up"), ("+66813000001", None, "Gold", "up"), ("+66813000002", None, "Silver", "up")]
    # every move was written, listed or not
    rows = _tiers(tiered)
    assert (rows["Silver"]["members"], rows["Gold"]["members"]) == (13, 12)
    assert [h["new_tier"] for h in tiered.json("tier", "history", phones[24])] == ["Silver"]
    # a year later everyone moves down: --limit 0 gives the counts alone
    with freeze_time("2027-02-01 01:00:00"):
        r = tiered.ok("tier", "recalc", "--limit", "0", fmt="json")
        assert r.stdout.strip() == "[]" and "25 of 25 member(s) moved: 0 up, 25 down" in r.stderr
    assert sum(t["members"] for t in _tiers(tiered).values()) == 0
