"""Form questions edit/remove, answers counted by question, tiers hidden while off, tier
thresholds that would reorder ranks (both databases)."""

from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.services.test_tiers_helpers import earn, member

NOW = "2026-11-24 03:00:00"


def _form(shop, tmp_path):
    terms = tmp_path / "TERMS.md"
    terms.write_text("Terms.\n", encoding="utf-8")
    shop.ok("form", "terms", "--file", str(terms))
    shop.ok("form", "question", "add", "Occupation", "--kind", "choice", "--choice", "office", "--choice", "student")
    shop.ok("form", "question", "add", "Drinks", "--kind", "multi", "--choice", "coffee:coffee-lover",
            "--choice", "tea", "--choice", "juice")
    shop.ok("form", "question", "add", "Anniversary", "--kind", "date")


def test_answers_are_counted_by_question(shop, tmp_path):
    _form(shop, tmp_path)
    with freeze_time(NOW):
        reg = shop.json("member", "register", "0812345678", "--name", "Somsri", "--accept-terms",
                        "--answer", "Occupation=office", "--answer", "Drinks=coffee, tea", "--answer", "3=2020-02-29")
    assert reg["answers"] == 3


def test_question_edit_and_remove(shop, tmp_path):
    _form(shop, tmp_path)
    q = shop.json("form", "question", "edit", "2", "--text", "Favourite drinks", "--required", "--retention-days", "30")
    assert (q["number"], q["text"], q["required"], q["retention_days"]) == (2, "Favourite drinks", True, 30)
    q = shop.json("form", "question", "edit", "favourite drinks", "--choice", "coffee", "--choice", "cocoa:sweet",
                  "--optional", "--retention-days", "none")
    assert [c["value"] for c in q["choices"]] == ["coffee", "cocoa"] and q["required"] is False
    assert q["retention_days"] is None
    assert "at least two" in shop.fails(ExitCode.INVALID_INPUT, "form", "question", "edit", "2", "--choice", "only")
    assert "takes no --choice" in shop.fails(ExitCode.INVALID_INPUT, "form", "question", "edit", "3", "--choice", "a", "--choice", "b")
    assert "already has the question" in shop.fails(ExitCode.CONFLICT, "form", "question", "edit", "3", "--text", "Occupation")
    assert shop.fails(ExitCode.NOT_FOUND, "form", "question", "edit", "9", "--text", "X").startswith("error: question '9' not found")
    with freeze_time(NOW):
        shop.ok("member", "register", "0812345678", "--name", "Somsri", "--accept-terms",
                "--answer", "Occupation=office", "--answer", "2=cocoa")
    # answered: needs --yes when not on a terminal
    assert "--yes" in shop.fails(ExitCode.INVALID_INPUT, "form", "question", "remove", "2")
    out = shop.json("form", "question", "remove", "2", "--yes")
    assert out == {"number": 2, "text": "Favourite drinks", "answers_deleted": 1}
    rows = shop.json("form", "question", "list")
    assert [(r["number"], r["text"]) for r in rows] == [(1, "Occupation"), (2, "Anniversary")]
    shown = shop.json("member", "show", "0812345678")
    assert [a["question"] for a in shown["answers"]] == ["Occupation"]
    assert "sweet" in shown["tags"]  # tags already given stay
    shop.ok("form", "question", "remove", "Anniversary")  # never answered: no confirmation needed
    assert len(shop.json("form", "question", "list")) == 1


def test_member_tier_hidden_while_tiers_are_off(shop, uow):
    t0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)
    with freeze_time("2026-11-01 03:00:00"):
        shop.ok("tier", "on")
        shop.ok("tier", "set", "Silver", "--threshold", "100")
    with uow() as s:
        member(s, "0811111111", now=t0)
        earn(s, "0811111111", 300, at=t0)
    assert shop.json("member", "show", "0811111111")["tier"] == "Silver"
    shop.ok("tier", "off")
    assert shop.json("member", "show", "0811111111")["tier"] is None
    assert [m["tier"] for m in shop.json("member", "list")] == [None]
    shop.ok("tier", "on")  # kept, and back when tiers are on again
    assert shop.json("member", "show", "0811111111")["tier"] == "Silver"


def test_tier_threshold_may_not_reorder_ranks(shop):
    shop.ok("tier", "set", "Silver", "--threshold", "100")
    shop.ok("tier", "set", "Gold", "--threshold", "500")
    shop.ok("tier", "set", "Platinum", "--threshold", "1000")
    err = shop.fails(ExitCode.CONFLICT, "tier", "set", "Silver", "-t", "600")
    assert err == ("error: threshold 600 would change the rank of tier 'Silver' (rank 1): keep it below Gold (500), "
                   "or remove the tier and add it again at its new rank")
    err = shop.fails(ExitCode.CONFLICT, "tier", "set", "Gold", "-t", "50")
    assert "keep it above Silver (100) and below Platinum (1000)" in err
    assert shop.json("tier", "set", "Gold", "-t", "700")["rank"] == 2  # inside its neighbours: fine
    assert [(t["name"], t["threshold"]) for t in shop.json("tier", "list")] == [
        ("Silver", 100), ("Gold", 700), ("Platinum", 1000)]
    assert shop.json("tier", "set", "Bronze", "-t", "10")["rank"] == 1  # a new tier takes the rank its threshold gives
