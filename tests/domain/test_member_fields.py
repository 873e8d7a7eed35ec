"""The member-field rules (crm_cli.domain.member_fields): every accepted form and every
refusal, with the reason and the field named. The same functions back registration,
edit, import, store edit and form answers (see tests/cli/test_member_fields.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_cli.domain import member_fields as f
from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.member_fields import FieldError

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize("raw,expected", [
    ("1990-03-15", date(1990, 3, 15)), ("15/03/1990", date(1990, 3, 15)), ("15/03/2533", date(1990, 3, 15)),
    ("2533-03-15", date(1990, 3, 15)), ("5.3.1990", date(1990, 3, 5)), ("1990/03/15", date(1990, 3, 15)),
    ("15 มี.ค. 2533", date(1990, 3, 15)), ("15 Mar 1990", date(1990, 3, 15)), ("๑๕/๐๓/๒๕๓๓", date(1990, 3, 15)),
    (date(2533, 3, 15), date(1990, 3, 15)), (datetime(1990, 3, 15, 8, 0), date(1990, 3, 15)),
    ("", None), ("  ", None), (None, None), ("24/11/2026", TODAY),
])
def test_birthday_accepted(raw, expected):
    assert f.birthday(raw, today=TODAY) == expected


@pytest.mark.parametrize("raw,reason", [
    ("31/02/1990", "not a real date"), ("15-03-90", "4-digit year"), ("2030-01-01", "future"),
    ("1800-01-01", "before 1900"), ("abc", "not a date"), (19900315, "a number"), (True, "not a date"),
    ("25/11/2026", "future"),
])
def test_birthday_refused(raw, reason):
    with pytest.raises(FieldError) as exc:
        f.birthday(raw, today=TODAY)
    assert exc.value.field == "birthday" and reason in exc.value.reason
    assert str(exc.value).startswith("invalid birthday")
    assert isinstance(exc.value, InvalidInput) and exc.value.exit_code == 5


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_birthday_be_and_ce_agree(d):
    assert f.birthday(f"{d.day:02d}/{d.month:02d}/{d.year + 543}", today=TODAY) == d
    assert f.birthday(d.isoformat(), today=TODAY) == d


def test_parse_date_has_no_bounds():
    assert f.parse_date("2030-01-01") == date(2030, 1, 1)
    assert f.parse_date(" ") is None
    with pytest.raises(FieldError, match="not a real date"):
        f.parse_date("31/02/2020", "answer to 'Anniversary'")


@pytest.mark.parametrize("raw,expected", [
    ("ชาย", "male"), ("หญิง", "female"), ("F", "female"), ("m", "male"), ("อื่นๆ", "other"), ("อื่น ๆ", "other"),
    ("ไม่ระบุ", "unspecified"), ("none", "unspecified"), ("-", "unspecified"), ("Prefer not to say", "unspecified"),
    (" ", None), (None, None),
])
def test_gender(raw, expected):
    assert f.gender(raw) == expected


@pytest.mark.parametrize("raw", ["robot", 1, "x" * 1001])
def test_gender_refused(raw):
    with pytest.raises(FieldError) as exc:
        f.gender(raw)
    assert exc.value.field == "gender"


@pytest.mark.parametrize("raw,expected", [
    (" a.b@example.co.th ", "a.b@example.co.th"), ("First.Last+tag@Example.CO.TH", "First.Last+tag@example.co.th"),
    ("", None), (None, None),
])
def test_email(raw, expected):
    assert f.email(raw) == expected


@pytest.mark.parametrize("raw", ["a@b", "a@b.c", "not-an-email", "=HYPERLINK(1)@x.com", "x" * 65 + "@example.com", 5])
def test_email_refused(raw):
    with pytest.raises(FieldError) as exc:
        f.email(raw)
    assert exc.value.field == "email"


@pytest.mark.parametrize("raw,expected", [
    ("  สมชาย   ใจดี ", "สมชาย ใจดี"), ("สมชาย\u200bใจดี", "สมชายใจดี"), ("Somchai\tJaidee", "Somchai Jaidee"),
    ("\u0e2a\u0e38\u0e01\u0e35\u0e49 \u0e19\u0e49\u0e33\u0e43\u0e08", "\u0e2a\u0e38\u0e01\u0e35\u0e49 \u0e19\u0e49\u0e33\u0e43\u0e08"),
    ("Nok\n", "Nok"), ("Zoë 👩\u200d💻", "Zoë 👩💻"),
])
def test_name(raw, expected):
    assert f.name(raw) == expected


HOSTILE = {
    "csi colour": "Evil\x1b[31mRED",
    "osc title": "X\x1b]0;pwned\x07Y",
    "osc 8 link": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "osc 52 clipboard": "a\x1b]52;c;ZXZpbA==\x07b",
    "bell": "ding\x07",
    "nul": "nu\x00ll",
    "del": "de\x7fl",
    "c1 csi": "c1\x9b31m",
    "rtl override": "abc\u202etxt.exe",
    "bidi isolate": "a\u2066b\u2069",
    "line break": "two\nlines",
    "carriage return": "over\rwrite",
}


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("check", [f.name, f.line_name, f.tag], ids=["name", "line_name", "tag"])
def test_single_line_text_refuses_controls(check, raw):
    with pytest.raises(FieldError) as exc:
        check(raw)
    msg = str(exc.value)
    assert "control character" in msg or "line break" in msg
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e for c in msg), msg


@pytest.mark.parametrize("raw", [v for k, v in HOSTILE.items() if k not in ("line break", "carriage return")])
@pytest.mark.parametrize("check", [f.address, f.note, lambda v: f.text_answer(v, "Q")], ids=["address", "note", "answer"])
def test_multi_line_text_refuses_controls_but_keeps_newlines(check, raw):
    with pytest.raises(FieldError, match="control character"):
        check(raw)


def test_multi_line_text_keeps_line_breaks():
    assert f.address("12/3 ซอยสุขุมวิท 11\r\nคลองเตย  กรุงเทพฯ\n") == "12/3 ซอยสุขุมวิท 11\nคลองเตย กรุงเทพฯ"
    assert f.note("prefers\noat milk") == "prefers\noat milk"
    assert f.address("") is None
    with pytest.raises(FieldError, match="empty"):
        f.note("  ")


def test_error_message_shows_the_value_escaped():
    with pytest.raises(FieldError) as exc:
        f.name("Evil\x1b[31mRED")
    assert str(exc.value) == "invalid name 'Evil\\x1b[31mRED': contains a control character (U+001B); retype it"


def test_show_escapes_controls_and_cuts():
    assert f.show("a\x1bb\u202ec") == "a\\x1bb\\u202ec"
    assert f.show("x" * 100) == "x" * 77 + "..."
    assert f.show(1.0) == "1" and f.show(True) == "TRUE" and f.show(None) == ""


@pytest.mark.parametrize("raw,expected", [(0, 0), ("1,000", 1000), ("10.00", 10), (12.0, 12), ("๑๐", 10)])
def test_points(raw, expected):
    assert f.points(raw) == expected


@pytest.mark.parametrize("raw,reason", [
    (None, "missing"), ("", "missing"), (-1, "negative"), ("-5", "negative"), (1.5, "whole"), ("abc", "whole"),
    (True, "TRUE/FALSE"), (date(2020, 1, 1), "a date"), (10**10, "too many"),
])
def test_points_refused(raw, reason):
    with pytest.raises(FieldError) as exc:
        f.points(raw)
    assert reason in exc.value.reason


def test_phone_names_the_reason():
    assert f.phone("081-234-5678") == "+66812345678"
    with pytest.raises(FieldError) as exc:
        f.phone("0812")
    assert str(exc.value).startswith("invalid phone number '0812': too short")
    assert exc.value.reason.startswith("invalid phone number: too short")
    with pytest.raises(FieldError) as exc:
        f.phone("")
    assert exc.value.reason == "required: the phone number is missing"
    with pytest.raises(FieldError) as exc:
        f.phone("+1 415 555 0100")
    assert "not a Thai number" in str(exc.value)


def test_tag():
    assert f.tag("  working   age ") == "working age"
    with pytest.raises(FieldError, match="at most 80"):
        f.tag("x" * 81)
