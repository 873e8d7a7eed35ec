"""crm segment: filters combined, evaluated when used; tags of two kinds; both databases."""

from __future__ import annotations

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.engage.support import import_followers, uid

A, B, C = "081-111-1111", "081-222-2222", "081-333-3333"


def _setup(cli, tmp_path):
    cli.ok("tier", "on")
    cli.ok("tier", "set", "Gold", "--threshold", "100")
    terms = tmp_path / "terms.md"
    terms.write_text("Terms", encoding="utf-8")
    with freeze_time("2026-09-01T10:00:00+07:00"):
        cli.ok("form", "terms", "--file", str(terms))
        cli.ok("member", "register", A, "--name", "Anong", "--birthday", "1990-03-05", "--accept-terms")
        cli.ok("points", "give", A, "--spend", "5000", "--branch", "Siam")  # 200 points, Gold, last seen in September
    with freeze_time("2026-11-20T10:00:00+07:00"):
        cli.ok("points", "give", B, "--spend", "500", "--branch", "Siam")  # 20 points
        cli.ok("points", "give", B, "--spend", "250", "--branch", "Ari")  # last visit: Ari
        cli.ok("points", "give", C, "--spend", "100", "--branch", "Siam")
        cli.ok("tier", "recalc")
        assert cli.json("member", "show", A)["tier"] == "Gold"
        cli.ok("member", "tag", A, "coffee", "vip")
        cli.ok("member", "tag", B, "coffee")
        import_followers(cli, tmp_path, [(uid(1), "Anong", A, ""), (uid(2), "Boon", B, "tea"), (uid(9), "Nok", "", "coffee")])
        cli.ok("follower", "tag", uid(2), "latte-art", "--kind", "active")


def _phones(rows):
    return sorted(r["phone"] or r["user_id"] for r in rows)


def test_filters_combine_and_are_evaluated_when_used(cli, shop, tmp_path):
    _setup(shop, tmp_path)
    with freeze_time("2026-11-30T10:00:00+07:00"):
        c = shop.json("segment", "create", "coffee", "--tag", "coffee")
        assert (c["people"], c["members"], c["followers_only"], c["reachable"]) == (3, 2, 1, 3)
        assert shop.json("segment", "count", "coffee")["people"] == 3
        for name, filters, people in (
            ("coffee-vip", ("--tag", "coffee", "--tag", "vip"), ["+66811111111"]),
            ("tea-or-latte", ("--any-tag", "tea", "--any-tag", "latte-art"), ["+66812222222"]),
            ("no-coffee", ("--not-tag", "coffee"), ["+66813333333"]),
            ("gold", ("--tier", "Gold"), ["+66811111111"]),
            ("mid", ("--min-points", "10", "--max-points", "100"), ["+66812222222"]),
            ("sleepy", ("--inactive-days", "30"), ["+66811111111"]),
            ("ari", ("--branch", "Ari"), ["+66812222222"]),
            ("followers", ("--followers-only",), [uid(9)]),
            ("march", ("--birthday-month", "3"), ["+66811111111"]),
            ("new", ("--joined-since", "2026-11-01"), ["+66812222222", "+66813333333", uid(9)]),
        ):
            shop.ok("segment", "create", name, *filters)
            assert _phones(shop.json("segment", "members", name)) == people, name
        # evaluated when used: C gains the tag, the saved segment now has them
        shop.ok("member", "tag", C, "coffee")
        assert shop.json("segment", "count", "coffee")["people"] == 4
        out = shop.json("segment", "edit", "coffee", "--registered")
        assert out["filters"] == "--tag coffee --registered" and out["people"] == 1  # A only: B and C collect points unregistered
        out = shop.json("segment", "edit", "coffee", "--everyone", "--min-points", "15")
        assert out["filters"] == "--tag coffee --min-points 15" and out["people"] == 2
        out = shop.json("segment", "edit", "coffee", "--clear", "min_points", "--rename", "coffee2")
        assert out["segment"] == "coffee2" and out["people"] == 4
        listed = shop.json("segment", "list")
        assert "coffee2" in [r["name"] for r in listed]
        shop.ok("segment", "remove", "coffee2")
        assert shop.fails(ExitCode.NOT_FOUND, "segment", "show", "coffee2") == "error: segment 'coffee2' not found: see `crm segment list`"


def test_bad_filters_are_refused(shop):
    assert "is more than" in shop.fails(ExitCode.INVALID_INPUT, "segment", "create", "x", "--min-points", "10", "--max-points", "5")
    assert "both wanted and excluded" in shop.fails(ExitCode.INVALID_INPUT, "segment", "create", "x", "--tag", "a", "--not-tag", "a")
    assert "no tier" in shop.fails(ExitCode.INVALID_INPUT, "segment", "create", "x", "--followers-only", "--tier", "Gold")
    assert shop.fails(ExitCode.NOT_FOUND, "segment", "create", "x", "--tier", "Platinum") == "error: tier 'Platinum' not found: see `crm tier list`"
    assert "--birthday-month" in shop.fails(ExitCode.INVALID_INPUT, "segment", "create", "x", "--birthday-month", "13")
    shop.ok("segment", "create", "x")
    assert "already exists" in shop.fails(ExitCode.CONFLICT, "segment", "create", "x")


def test_tags_of_two_kinds_are_listed_separately(shop, tmp_path):
    _setup(shop, tmp_path)
    rows = shop.json("segment", "tags")
    kinds = {(r["kind"], r["tag"]): (r["members"], r["followers"]) for r in rows}
    assert kinds[("chat", "coffee")] == (2, 1)
    assert kinds[("chat", "tea")] == (0, 1)
    assert kinds[("active", "latte-art")] == (0, 1)
    assert [r["tag"] for r in shop.json("segment", "tags", "--kind", "active")] == ["latte-art"]


def test_export_writes_the_people(shop, tmp_path):
    import csv

    _setup(shop, tmp_path)
    shop.ok("segment", "create", "coffee", "--tag", "coffee")
    out = tmp_path / "coffee.csv"
    shop.ok("segment", "export", "coffee", "--out", str(out))
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["user_id"] for r in rows) == [uid(1), uid(2), uid(9)]
    assert {r["points"] for r in rows if r["user_id"] == uid(1)} == {"200"}
