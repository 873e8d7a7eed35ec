"""One rule per member field, whatever the door: `member register`, `member edit` and
`member import` accept and refuse the same values (on SQLite and PostgreSQL), and text
that could drive a terminal (escape sequences, bidi overrides, NUL) never gets in."""

from __future__ import annotations

import csv
import json

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import Conflict, InvalidInput

NOW = "2026-11-30 03:00:00"
HEADER = ["phone", "name", "points", "gender", "birthday", "email"]

# (field, value, accepted)
CASES = [
    ("name", "สมชาย ใจดี", True),
    ("name", "สมชาย\u200bใจดี", True),
    ("name", "=1+2", False),
    ("name", "ก" * 201, False),
    ("name", "Evil\x1b[31mRED", False),
    ("name", "two\nlines", False),
    ("gender", "-", True),
    ("gender", "none", True),
    ("gender", "ไม่ระบุ", True),
    ("gender", "robot", False),
    ("birthday", "15 มี.ค. 2533", True),
    ("birthday", "1990/03/15", True),
    ("birthday", "15/03/2533", True),
    ("birthday", "31/02/1990", False),
    ("birthday", "2099-01-01", False),
    ("birthday", "15-03-90", False),
    ("email", "a@b.c", False),
    ("email", "somchai@example.com", True),
    ("email", "not-an-email", False),
    ("email", "=HYPERLINK(1)@example.com", False),
]


@pytest.fixture
def form(shop, tmp_path):
    terms = tmp_path / "TERMS.md"
    terms.write_text("terms\n", encoding="utf-8")
    shop.ok("form", "terms", "--file", str(terms))
    return shop


def _csv(path, row: dict):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerow([row.get(h, "") for h in HEADER])
    return path


def _register(cli, phone, name, **extra):
    args = ["member", "register", phone, "--name", name, "--accept-terms"]
    for k, v in extra.items():
        args += [f"--{k}", v]
    with freeze_time(NOW):
        return cli(*args)


def _import(cli, path, *args, fmt=None):
    with freeze_time(NOW):
        return cli("member", "import", str(path), "--branch", "Siam", *args, fmt=fmt)


def test_register_and_import_give_the_same_verdict(form, tmp_path):
    for i, (field, value, accepted) in enumerate(CASES):
        phone = f"08120000{i:02d}"
        name = value if field == "name" else "Test Member"
        extra = {} if field == "name" else {field: value}
        reg = _register(form, phone, name, **extra)
        row = {"phone": f"08130000{i:02d}", "name": name, "points": "0", field: value}
        imp = _import(form, _csv(tmp_path / f"case{i}.csv", row), "--dry-run", fmt="json")
        verdicts = (reg.exit_code, imp.exit_code)
        expected = (0, 0) if accepted else (InvalidInput.exit_code, InvalidInput.exit_code)
        assert verdicts == expected, (field, value, reg.stderr, imp.stderr, imp.stdout)
        if not accepted:
            assert f"invalid {field}" in reg.stderr, reg.stderr  # register names the field
            problems = json.loads(imp.stdout)
            assert [p["column"] for p in problems] == [field], problems  # so does the import


HOSTILE = {
    "csi colour": "Evil\x1b[31mRED",
    "osc title": "Evil\x1b]0;pwned\x07X",
    "osc 52": "a\x1b]52;c;ZXZpbA==\x07b",
    "bell": "ding\x07dong",
    "del": "de\x7fl",
    "c1 csi": "c1\x9b31m",
    "rtl override": "abc\u202etxt.exe",
    "nul": "nu\x00ll",
}
THAI = "\u0e2a\u0e38\u0e01\u0e35\u0e49 \u0e19\u0e49\u0e33\u0e43\u0e08"  # combining vowels and tone marks


def _no_control_bytes(out: str) -> bool:
    return not any(ord(c) < 32 and c not in "\n\r\t" or 0x7f <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e
                   for c in out)


def test_hostile_text_is_refused_at_every_door(form, engine, tmp_path):
    form.ok("member", "register", "0899999999", "--name", "Somchai", "--accept-terms")
    for i, (label, bad) in enumerate(HOSTILE.items()):
        err = form.fails(InvalidInput.exit_code, "member", "register", f"08100000{i:02d}", "--name", bad, "--accept-terms")
        assert err.startswith("error: invalid name") and _no_control_bytes(err), (label, err)
        err = form.fails(InvalidInput.exit_code, "member", "register", f"08100000{i:02d}", "--name", "ok",
                         "--address", bad, "--accept-terms")
        assert "invalid address" in err and _no_control_bytes(err), (label, err)
        for option in ("--name", "--address", "--line-name"):
            err = form.fails(InvalidInput.exit_code, "member", "edit", "0899999999", option, bad)
            assert err.startswith("error: invalid") and _no_control_bytes(err), (label, option, err)
        form.fails(InvalidInput.exit_code, "member", "note", "0899999999", bad)
        form.fails(InvalidInput.exit_code, "member", "tag", "0899999999", bad)
        r = _import(form, _csv(tmp_path / f"h{i}.csv", {"phone": f"08110000{i:02d}", "name": bad, "points": "1"}),
                    "--errors", str(tmp_path / f"h{i}-errors.csv"))
        assert r.exit_code == InvalidInput.exit_code, (label, r.stderr)
        assert _no_control_bytes(r.stdout) and _no_control_bytes(r.stderr), (label, r.stdout)
        if label != "nul":  # a NUL byte makes the whole CSV file unreadable text: refused as a file
            assert "name" in r.stdout and "control character" in r.stdout, (label, r.stdout)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM member")).scalar() == 1


def test_thai_with_combining_marks_is_kept_as_given(form, tmp_path):
    form.ok("member", "register", "0812345678", "--name", THAI, "--address", f"{THAI}\nกรุงเทพฯ", "--accept-terms")
    shown = form.json("member", "show", "0812345678")
    assert shown["name"] == THAI and shown["address"] == f"{THAI}\nกรุงเทพฯ"
    _import(form, _csv(tmp_path / "t.csv", {"phone": "0812345679", "name": THAI, "points": "5"}))
    assert form.json("member", "show", "0812345679")["name"] == THAI
    form.ok("member", "edit", "0812345679", "--name", THAI + " ก")
    assert form.json("member", "show", "0812345679")["name"] == THAI + " ก"


def test_member_edit_changes_the_profile_with_an_audit_record(form, engine):
    _register(form, "0812345678", "Somsri", email="old@example.com")
    with freeze_time(NOW):
        out = form.json("member", "edit", "081-234-5678", "--name", "  Somsri   Jaidee ", "--gender", "หญิง",
                        "--birthday", "15/03/2533", "--email", "somsri@Example.COM", "--address", "1 Silom\nBangkok")
    assert out["changed"] == ["name", "gender", "birthday", "email", "address"]
    # the answer is the member as `member show` prints it, plus what changed
    assert {k: v for k, v in out.items() if k != "changed"} == form.json("member", "show", "0812345678")
    shown = form.json("member", "show", "0812345678")
    assert (shown["name"], shown["gender"], shown["birthday"], shown["email"], shown["address"]) == (
        "Somsri Jaidee", "female", "1990-03-15", "somsri@example.com", "1 Silom\nBangkok")
    # an empty value clears an optional field; the same value again changes nothing
    out = form.json("member", "edit", "0812345678", "--email", "", "--gender", "female")
    assert out["changed"] == ["email"] and form.json("member", "show", "0812345678")["email"] is None
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT summary FROM audit_log WHERE command = 'member edit' ORDER BY id")).scalars().all()
    assert audit == ["edited member +6681***5678: name, gender, birthday, email, address",
                     "edited member +6681***5678: email"]
    # the same checks as registration
    assert "invalid birthday" in form.fails(InvalidInput.exit_code, "member", "edit", "0812345678", "--birthday", "31/02/1990")
    assert "invalid email" in form.fails(InvalidInput.exit_code, "member", "edit", "0812345678", "--email", "a@b.c")
    assert "invalid name" in form.fails(InvalidInput.exit_code, "member", "edit", "0812345678", "--name", " ")
    assert "nothing to change" in form.fails(InvalidInput.exit_code, "member", "edit", "0812345678")
    # a phone-only account has no profile to edit
    form.ok("points", "adjust", "0899999999", "--points", "5", "--reason", "test")
    assert "phone-only" in form.fails(Conflict.exit_code, "member", "edit", "0899999999", "--name", "X")


def test_member_edit_help_has_an_example(cli):
    r = cli("member", "edit", "--help")
    assert r.exit_code == 0 and "Example: crm member edit" in r.stdout


def test_store_email_follows_the_member_rule(shop):
    assert "invalid email" in shop.fails(InvalidInput.exit_code, "store", "edit", "--email", "a@b.c")
    shop.ok("store", "edit", "--email", "Shop@Example.COM")
    assert shop.json("store", "show")["email"] == "Shop@example.com"
