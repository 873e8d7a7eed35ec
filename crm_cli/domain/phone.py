"""Thai phone numbers -> E.164 (interim version; see the full normalizer)."""

from __future__ import annotations

import re


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw) -> str:
    import phonenumbers

    if raw is None:
        raise InvalidPhone("empty")
    if isinstance(raw, float):
        if raw != int(raw):
            raise InvalidPhone("not a whole number")
        raw = int(raw)
    s = str(raw).strip()
    if not s:
        raise InvalidPhone("empty")
    if re.search(r"[A-Za-z]", s):
        raise InvalidPhone("contains letters")
    digits = re.sub(r"[\s\-().]", "", s)
    if digits.isdigit() and len(digits) in (8, 9) and not digits.startswith("0") and not digits.startswith("66"):
        digits = "0" + digits
    try:
        n = phonenumbers.parse(digits, "TH")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from None
    if not phonenumbers.is_valid_number(n):
        raise InvalidPhone("not a valid Thai phone number")
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
