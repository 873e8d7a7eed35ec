"""The phone normalizer: every accepted form, every rejection, and agreement with
phonenumbers (the numbering-plan shortcut must never accept what it rejects)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_cli.domain.phone import InvalidPhone, display_phone, normalize_phone

MOBILE = "+66812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "0812345678",
        "081-234-5678",
        "081 234 5678",
        "081.234.5678",
        "(081) 234-5678",
        "  0812345678  ",
        "+66 81 234 5678",
        "+66-81-234-5678",
        "+66812345678",
        "66812345678",
        "66 81 234 5678",
        "+66 081 234 5678",   # the trunk 0 kept after +66
        "660812345678",
        "0066812345678",
        "812345678",          # a text cell that lost its leading zero
        812345678,            # a number cell that lost its leading zero
        812345678.0,          # ... read back as a float
        Decimal("812345678"),
        "'0812345678",        # spreadsheet text prefix (and our own exports)
        "'+66812345678",
        '="0812345678"',      # the CSV trick some systems use to keep the zero
        "๐๘๑๒๓๔๕๖๗๘",         # Thai digits
        "０８１２３４５６７８",   # full-width digits
        "081\u2011234\u20115678",  # non-breaking hyphens
        "\u200b0812345678",   # zero-width space pasted from a chat
        "081\u00a0234\u00a05678",
    ],
)
def test_every_mobile_form_normalizes_to_e164(raw):
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("02-123-4567", "+6621234567"),
        ("021234567", "+6621234567"),
        ("02 123 4567", "+6621234567"),
        ("+66 2 123 4567", "+6621234567"),
        ("6621234567", "+6621234567"),
        ("21234567", "+6621234567"),      # landline that lost its zero
        (21234567, "+6621234567"),
        ("053-123-456", "+6653123456"),   # provincial landline
        ("038 123 456", "+6638123456"),
        ("0612345678", "+66612345678"),
        ("0912345678", "+66912345678"),
        ("661234567", "+66661234567"),    # 066 mobile that lost its zero, not +66
        ("1800-123-456", "+661800123456"),  # toll free
    ],
)
def test_other_thai_numbers(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("'", "empty"),
        ("abc", "letters"),
        ("08l2345678", "letters"),
        ("081-234-5678 ต่อ 12", "letters"),
        ("tel. 0812345678", "letters"),
        ("12345", "too short"),
        ("0812345", "too short"),
        ("+66 81", "too short"),
        (12345, "too short"),
        ("081234567890", "too long"),
        ("08123456789", "too long"),
        ("081234567", "too short"),
        ("02123456", "too short"),
        ("+668123456789", "too long"),
        ("+1 650 253 0000", "not a Thai number"),
        ("+44 20 7946 0000", "not a Thai number"),
        ("0212345678", "too long"),
        ("0612345", "too short"),
        ("071234567", "not a valid Thai number"),
        ("0012345678", "not a valid Thai number"),
        ("0112345678", "not a valid Thai number"),
        ("1111", "too short"),
        (812345678.5, "whole number"),
        (float("nan"), "not a number"),
        (-812345678, "negative"),
        (-812345678.0, "negative"),
        (True, "TRUE/FALSE"),
        (date(2020, 1, 1), "date"),
        ("081_234_5678", "unexpected character"),
        ("081,234,5678", "unexpected character"),
        ("+", "no digits"),
        ("--", "no digits"),
        ("0" * 50, "too long"),
    ],
)
def test_rejections_say_why(raw, reason):
    with pytest.raises(InvalidPhone) as exc:
        normalize_phone(raw)
    assert reason in str(exc.value)
    assert exc.value.reason == str(exc.value)
    assert exc.value.value is raw or exc.value.value == raw or raw != raw


def test_invalid_phone_is_an_invalid_input_error():
    from crm_cli.domain.errors import CrmError, ExitCode, InvalidInput

    assert issubclass(InvalidPhone, InvalidInput) and issubclass(InvalidPhone, CrmError)
    with pytest.raises(InvalidInput) as exc:
        normalize_phone("nope")
    assert exc.value.exit_code == ExitCode.INVALID_INPUT and exc.value.message == exc.value.reason


def test_idempotent_on_its_own_output():
    for raw in ["0812345678", "02-123-4567", "053-123-456", "1800-123-456"]:
        e164 = normalize_phone(raw)
        assert normalize_phone(e164) == e164
        assert normalize_phone(display_phone(e164)) == e164


@pytest.mark.parametrize(
    "e164,shown",
    [
        ("+66812345678", "081-234-5678"),
        ("+66612345678", "061-234-5678"),
        ("+6621234567", "02-123-4567"),
        ("+6653123456", "053-123-456"),
        ("+661800123456", "1800-123-456"),
    ],
)
def test_display_phone_national_format(e164, shown):
    assert display_phone(e164) == shown


def test_display_phone_never_fails():
    assert display_phone("not a phone") == "not a phone"
    assert display_phone("+") == "+"
    assert display_phone(None) == ""
    assert display_phone("+16502530000") == "+1 650-253-0000"


# --- agreement with phonenumbers -----------------------------------------------


def _pn_valid(nsn: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse("+66" + nsn, None))


def _pn_e164(raw) -> str | None:
    """What phonenumbers alone says of a number written in Thailand: its E.164 form, or
    None when it is not a valid Thai number."""
    try:
        n = phonenumbers.parse(str(raw), "TH")
    except phonenumbers.NumberParseException:
        return None
    if n.country_code != 66 or not phonenumbers.is_valid_number(n):
        return None
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)


def _ours(raw) -> str | None:
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None


def test_fast_path_agrees_with_phonenumbers_on_every_prefix():
    """0XXXXXXXXX for every 4-digit prefix (two fillers): the fast path and the full route
    give exactly what phonenumbers gives."""
    from crm_cli.domain.phone import _normalize_slow

    disagreements = []
    for prefix in range(1000):
        for filler in ("0", "7"):
            raw = f"0{prefix:03d}" + filler * 6
            want = _pn_e164(raw)
            slow = None
            try:
                slow = _normalize_slow(raw)
            except InvalidPhone:
                pass
            if _ours(raw) != want or slow != want:
                disagreements.append(raw)
    assert disagreements == []


def test_landlines_and_special_numbers_are_decided_by_phonenumbers():
    for nsn in ("21234567", "53123456", "1800123456", "71234567", "11234567"):
        assert _ours("0" + nsn) == _pn_e164("0" + nsn), nsn


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_fast_path_agrees_with_phonenumbers(nine):
    raw = "0" + nine
    try:
        expected = phonenumbers.parse(raw, "TH")
    except phonenumbers.NumberParseException:
        expected = None
    try:
        got = normalize_phone(raw)
    except InvalidPhone:
        # refused: phonenumbers must not call it a valid *Thai* number ("001..." dials abroad)
        assert expected is None or expected.country_code != 66 or not phonenumbers.is_valid_number(expected)
    else:
        assert expected is not None and phonenumbers.is_valid_number(expected)
        assert got == phonenumbers.format_number(expected, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=1, max_size=14),
    st.sampled_from(["", "+", "+66 ", "66", "0"]),
    st.sampled_from(["", "-", " ", "."]),
)
def test_anything_accepted_is_valid_for_phonenumbers(digits, lead, sep):
    raw = lead + sep.join([digits[:3], digits[3:6], digits[6:]]).strip(sep)
    try:
        got = normalize_phone(raw)
    except InvalidPhone as exc:
        assert str(exc)
        return
    parsed = phonenumbers.parse(got, None)
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.region_code_for_number(parsed) == "TH"
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == got


def test_sample_order_feed_phones():
    for raw in ["0812345678", "081-234-5678", "+66 89 765 4321", "66861112233", "861112233",
                "063-456-7890", "66924443322", "+66 98 111 2222", "0898765432"]:
        assert normalize_phone(raw).startswith("+66")


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{8}", fullmatch=True))
def test_every_fast_path_agrees_with_the_full_route(nine):
    from crm_cli.domain.phone import _normalize_slow

    def outcome(fn, raw):
        try:
            return fn(raw)
        except InvalidPhone:
            return "invalid"

    expected = outcome(_normalize_slow, "0" + nine)
    forms = ["0" + nine, "+66" + nine, f"0{nine[:2]}-{nine[2:5]}-{nine[5:]}", int(nine), "66" + nine]
    for raw in forms:
        assert outcome(normalize_phone, raw) == expected, raw
        assert outcome(_normalize_slow, raw) == expected, raw
