"""Phone numbers kept out of text that outlives a member: audit summaries, ledger reasons.

Pure text functions (no database): :func:`mask_phone` is the form summaries write,
:func:`redact_phones` masks any Thai number found in a text however it is written, and
:func:`phone_pattern` matches every form of one number (for erasure).
"""

from __future__ import annotations

import re

_SEP = r"[ \-.]?"
# a run of digits that may be a Thai number: +66 / 66 / 0 then 8-9 more digits,
# single spaces, dashes or dots allowed between digits; not part of a longer word or number
_PHONE_LIKE = re.compile(r"(?<![\w+*])(?:\+?66" + _SEP + r"0?|0)(?:\d" + _SEP + r"){7,8}\d(?![\w*])")


#: how an erased member's anonymous id starts (``member forget``); the rest is random hex
ANON_PREFIX = "anon-"


def new_anon_id() -> str:
    """A fresh anonymous id for an erased member: ``anon-`` and 16 random hex digits."""
    import secrets

    return ANON_PREFIX + secrets.token_hex(8)


def is_anon_id(value: str) -> bool:
    """True for an erased member's anonymous id (where a phone number stood before)."""
    return value.startswith(ANON_PREFIX)


def mask_phone(e164: str | None) -> str:
    """For audit summaries: +66812345678 -> +6681***5678 (the log outlives an erasure)."""
    if not e164:
        return "(erased)"
    return e164[:5] + "***" + e164[-4:]


def _mask_match(m: re.Match[str]) -> str:
    from crm_cli.domain.phone import InvalidPhone, normalize_phone

    try:
        return mask_phone(normalize_phone(m.group(0)))
    except InvalidPhone:
        return str(m.group(0))


def redact_phones(text: str) -> str:
    """``text`` with every valid Thai phone number in it, in any common form, masked."""
    return _PHONE_LIKE.sub(_mask_match, text) if text else text


def phone_pattern(e164: str) -> re.Pattern[str]:
    """Every way ``e164`` may have been written: +66812345678, 66812345678, 0812345678,
    081-234-5678, 081 234 5678, +66 81 234 5678, and its masked form +6681***5678."""
    nsn = e164[3:]
    digits = _SEP.join(re.escape(d) for d in nsn)
    full = r"(?<![\d*])(?:\+?66" + _SEP + r"0?|0)" + _SEP + digits + r"(?!\d)"
    return re.compile(full + "|" + re.escape(mask_phone(e164)))
