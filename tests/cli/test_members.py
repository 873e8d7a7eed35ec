"""Registration form, registration, member records, tags, notes and PDPA erasure, through the CLI (both DBs)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import Conflict, InvalidInput, NotFound

NOW = "2026-11-24 10:00:00"


@pytest.fixture
def form(shop, tmp_path):
    """The shop with terms (v1) and three questions; occupation is required and tags its answers."""
    terms = tmp_path / "TERMS.md"
    terms.write_text("# ข้อกำหนดและเงื่อนไข\nWe keep your data for the points programme.\n", encoding="utf-8")
    shop.ok("form", "terms", "--file", str(terms))
    shop.ok("form", "question", "add", "Occupation", "--kind", "choice", "--choice", "office worker:working-age",
            "--choice", "student:student", "--choice", "retired", "--required")
    shop.ok("form", "question", "add", "Drinks", "--kind", "multi", "--choice", "coffee:coffee-lover",
            "--choice", "tea:tea-lover", "--choice", "juice")
    shop.ok("form", "question", "add", "Anniversary", "--kind", "date", "--retention-days", "365")
    shop.terms_path = terms
    return shop


def _sql(engine, sql, **params):
    with engine.begin() as conn:
        res = conn.execute(text(sql), params)
        return res.all() if res.returns_rows else res.rowcount


def _store_id(engine) -> int:
    return _sql(engine, "SELECT id FROM store WHERE slug = 'cafe'")[0][0]


def _give(engine, phone: str, spend: str, when: str = NOW) -> None:
    """Points at the counter (a phone-only account when not registered), through the points service."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import points

    with unit_of_work(engine) as session:
        points.give_for_spend(session, store_id=_store_id(engine), phone=phone, spend=spend, branch="Siam",
                              now=datetime.fromisoformat(when).replace(tzinfo=timezone.utc))


def _welcome(engine, n: int) -> None:
    _sql(engine, "UPDATE store SET welcome_points = :n", n=n)


def _register(cli, phone, *extra, name="Somsri Jaidee"):
    with freeze_time(NOW):
        return cli.json("member", "register", phone, "--name", name, *extra)


# ---------------------------------------------------------------- form


def test_terms_versions_and_form_show(form, tmp_path):
    out = form.json("form", "terms", "--file", str(form.terms_path))
    assert out == {**out, "version": 1, "changed": False}  # same text: no new version
    form.terms_path.write_text("Updated terms v2", encoding="utf-8")
    assert form.json("form", "terms", "--file", str(form.terms_path))["version"] == 2
    shown = form.json("form", "show")
    assert shown["terms_version"] == 2 and shown["terms"] == "Updated terms v2"
    assert [q["text"] for q in shown["questions"]] == ["Occupation", "Drinks", "Anniversary"]
    occ = shown["questions"][0]
    assert occ["required"] is True and occ["kind"] == "choice"
    assert occ["choices"][0] == {"value": "office worker", "tag": "working-age"}
    assert occ["choices"][2] == {"value": "retired", "tag": None}
    assert shown["questions"][2]["retention_days"] == 365
    assert shown["sign_up_link"].endswith("/m/cafe")
    empty = tmp_path / "empty.md"
    empty.write_text("  \n", encoding="utf-8")
    form.fails(InvalidInput.exit_code, "form", "terms", "--file", str(empty))
    form.fails(InvalidInput.exit_code, "form", "terms", "--file", str(tmp_path / "missing.md"))


def test_question_validation(form):
    assert "at least two" in form.fails(InvalidInput.exit_code, "form", "question", "add", "Size", "--kind", "choice", "--choice", "S")
    form.fails(InvalidInput.exit_code, "form", "question", "add", "Name?", "--kind", "text", "--choice", "x")
    form.fails(InvalidInput.exit_code, "form", "question", "add", "Q", "--kind", "radio")
    assert "already has" in form.fails(Conflict.exit_code, "form", "question", "add", "Occupation", "--kind", "text")
    assert len(form.json("form", "question", "list")) == 3


def test_form_link_with_qr(form, tmp_path):
    png = tmp_path / "signup.png"
    out = form.json("form", "link", "--qr", str(png))
    assert out["link"] == "https://crm.example.com/m/cafe" and out["terms_version"] == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- registration


def test_register_records_consent_answers_and_tags(form, engine):
    reg = _register(form, "081-234-5678", "--gender", "หญิง", "--birthday", "15/03/2533", "--email", "somsri@example.com",
                    "--answer", "Occupation=Office Worker", "--answer", "drinks=coffee, juice", "--answer", "3=2020-02-29",
                    "--line-name", "somsri", "--branch", "Ari", "--accept-terms")
    assert reg["phone"] == "+66812345678" and reg["terms_version"] == 1
    assert reg["consent_at"].startswith("2026-11-24T10:00:00")
    assert reg["tags"] == ["coffee-lover", "working-age"]
    assert reg["answers"] == 3  # three questions answered (the multi answer counts once)
    shown = form.json("member", "show", "0812345678")
    assert shown["status"] == "registered" and shown["source"] == "form"
    assert shown["gender"] == "female" and shown["birthday"] == "1990-03-15"  # BE year 2533
    assert shown["registered_branch"] == "Ari" and shown["line_name"] == "somsri"
    assert shown["consent_terms_version"] == 1
    assert {a["question"]: a["value"] for a in shown["answers"]} == {
        "Occupation": "office worker", "Drinks": "coffee, juice", "Anniversary": "2020-02-29"}
    # audit record, without the full phone number
    audit = _sql(engine, "SELECT command, summary FROM audit_log WHERE command = 'member register'")
    assert len(audit) == 1 and "+66812345678" not in audit[0][1]


def test_register_refusals(form, engine, shop):
    err = form.fails(Conflict.exit_code, "member", "register", "0812345678", "--name", "X")
    assert "--accept-terms" in err and "version 1" in err
    bad = [
        (["--answer", "Occupation=astronaut"], "not a choice"),
        (["--answer", "Drinks=coffee"], "required question"),
        (["--answer", "Occupation=student", "--answer", "Anniversary=31/02/2020"], "not a real date"),
        (["--answer", "Occupation=student", "--answer", "Pets=cat"], "no question 'Pets'"),
        (["--answer", "Occupation=student", "--birthday", "2030-01-01"], "invalid birthday"),
        (["--answer", "Occupation=student", "--email", "not-an-email"], "invalid email"),
        (["--answer", "Occupation=student", "--gender", "robot"], "invalid gender"),
    ]
    for extra, msg in bad:
        with freeze_time(NOW):
            err = form.fails(InvalidInput.exit_code, "member", "register", "0812345678", "--name", "X", *extra, "--accept-terms")
        assert msg in err, (extra, err)
    form.fails(InvalidInput.exit_code, "member", "register", "12345", "--name", "X", "--accept-terms")
    # nothing was written by any refusal
    assert _sql(engine, "SELECT COUNT(*) FROM member")[0][0] == 0
    _register(form, "0812345678", "--answer", "Occupation=student", "--accept-terms")
    err = form.fails(Conflict.exit_code, "member", "register", "0812345678", "--name", "X", "--answer", "Occupation=student", "--accept-terms")
    assert "already a registered member" in err


def test_register_needs_terms(shop):
    err = shop.fails(Conflict.exit_code, "member", "register", "0812345678", "--name", "X", "--accept-terms")
    assert "crm form terms" in err


def test_phone_only_points_are_merged_on_registration(form, engine):
    _give(engine, "0812345678", "250.00")  # 10 points as a phone-only account
    rows = form.json("member", "list", "--phone-only")
    assert [(r["phone"], r["status"], r["points"]) for r in rows] == [("+66812345678", "phone-only", 10)]
    _welcome(engine, 50)
    reg = _register(form, "+66 81 234 5678", "--answer", "Occupation=retired", "--accept-terms")
    assert reg["merged_points"] == 10 and reg["welcome_points"] == 50 and reg["points"] == 60
    assert _sql(engine, "SELECT COUNT(*) FROM member")[0][0] == 1  # the same account row
    shown = form.json("member", "show", "0812345678")
    assert shown["points"] == 60 and shown["status"] == "registered"
    assert form.json("member", "list", "--phone-only") == []


def test_welcome_once_per_phone_even_after_erasure(form, engine):
    _welcome(engine, 50)
    assert _register(form, "0812345678", "--answer", "Occupation=student", "--accept-terms")["welcome_points"] == 50
    with freeze_time(NOW):
        form.ok("member", "forget", "0812345678", "--yes")
    again = _register(form, "0812345678", "--answer", "Occupation=student", "--accept-terms")
    assert again["welcome_points"] == 0 and again["points"] == 0
    # the erased account kept its ledger (50 points) under its anonymous id
    total = _sql(engine, "SELECT SUM(points) FROM ledger_entry")[0][0]
    assert total == 50


# ---------------------------------------------------------------- records


def test_show_tag_untag_note(form):
    _register(form, "0812345678", "--answer", "Occupation=student", "--accept-terms")
    out = form.json("member", "tag", "0812345678", "vip", "coffee  lover", "vip")
    assert out["tags"] == ["coffee lover", "student", "vip"] and out["changed"] == ["vip", "coffee lover"]
    out = form.json("member", "untag", "0812345678", "student", "nope")
    assert out["tags"] == ["coffee lover", "vip"] and out["changed"] == ["student"]
    with freeze_time(NOW):
        form.ok("member", "note", "0812345678", "prefers oat milk")
        notes = form.json("member", "note", "0812345678", "birthday cake ordered")["notes"]
    assert notes.splitlines() == ["2026-11-24 tester: prefers oat milk", "2026-11-24 tester: birthday cake ordered"]
    assert form.fails(NotFound.exit_code, "member", "show", "0899999999").startswith("error: no member")
    table = form.ok("member", "show", "0812345678").stdout
    assert "prefers oat milk" in table and "Occupation: student" in table


def test_list_filters(form, engine):
    _give(engine, "0890000001", "1000.00", when="2026-10-01 03:00:00")  # phone-only, 40 points, active 1 Oct
    _register(form, "0812345678", "--birthday", "1990-12-05", "--answer", "Occupation=student", "--accept-terms", name="A")
    _register(form, "0812345679", "--birthday", "1985-03-01", "--answer", "Occupation=office worker", "--accept-terms", name="B")
    _give(engine, "0812345679", "500.00")  # B: 20 points
    with engine.begin() as conn:  # a tier for B (tiers are another area's; set directly)
        conn.execute(text("INSERT INTO tier (store_id, name, threshold, created_at) VALUES (:s, 'Gold', 10, :t)"),
                     {"s": _store_id(engine), "t": datetime(2026, 1, 1)})
        conn.execute(text("INSERT INTO member_tier (member_id, tier_id) "
                          "SELECT m.id, t.id FROM member m, tier t WHERE m.phone = '+66812345679'"))

    def phones(*args):
        with freeze_time(NOW):
            return [r["phone"][-3:] for r in form.json("member", "list", *args)]

    assert phones() == ["001", "678", "679"]
    assert phones("--registered") == ["678", "679"]
    assert phones("--phone-only") == ["001"]
    assert phones("--tag", "working-age") == ["679"]
    assert phones("--min-points", "20") == ["001", "679"]
    assert phones("--min-points", "21") == ["001"]
    assert phones("--birthday-month", "12") == ["678"]
    assert phones("--tier", "Gold") == ["679"]
    assert phones("--active-since", "2026-11-01") == ["678", "679"]
    assert phones("--inactive-since", "2026-11-01") == ["001"]
    assert phones("--registered", "--min-points", "1", "--tag", "working-age") == ["679"]
    form.fails(NotFound.exit_code, "member", "list", "--tier", "Platinum")
    rows = form.json("member", "list", "--limit", "1")
    assert len(rows) == 1 and set(rows[0]) >= {"phone", "name", "status", "tier", "points", "tags", "birthday"}
    # the balance counts only unexpired lots
    with freeze_time(NOW):
        assert form.json("member", "list", "--phone-only")[0]["points"] == 40


def test_forget_wipes_personal_data_and_keeps_ledger(form, engine):
    _give(engine, "0812345678", "500.00")
    _register(form, "0812345678", "--email", "a@b.co", "--address", "1 Sukhumvit", "--answer", "Occupation=student",
              "--answer", "Anniversary=2020-01-01", "--accept-terms")
    form.ok("member", "tag", "0812345678", "vip")
    form.ok("member", "note", "0812345678", "call back")
    before = _sql(engine, "SELECT COUNT(*), SUM(points) FROM ledger_entry")[0]
    err = form.fails(InvalidInput.exit_code, "member", "forget", "0812345678")  # no TTY, no --yes
    assert "--yes" in err
    with freeze_time(NOW):
        out = form.json("member", "forget", "0812345678", "--yes")
    assert out["anon_id"].startswith("anon-") and out["points_kept"] == 20
    assert out["tags_removed"] == 2 and out["answers_removed"] == 2
    row = _sql(engine, "SELECT phone, anon_id, name, gender, birthday, email, address, line_display_name, notes, erased_at "
                       "FROM member")[0]
    assert row[0] is None and row[1] == out["anon_id"] and all(v is None for v in row[2:9]) and row[9] is not None
    assert _sql(engine, "SELECT COUNT(*) FROM member_tag")[0][0] == 0
    assert _sql(engine, "SELECT COUNT(*) FROM member_answer")[0][0] == 0
    assert _sql(engine, "SELECT COUNT(*), SUM(points) FROM ledger_entry")[0] == before
    form.fails(NotFound.exit_code, "member", "show", "0812345678")
    assert form.json("member", "list") == []
    summary = _sql(engine, "SELECT summary FROM audit_log WHERE command = 'member forget'")[0][0]
    assert out["anon_id"] in summary and "812345678" not in summary

