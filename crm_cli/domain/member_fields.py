"""Member fields: one rule per fact, for every way a member's data arrives.

``member register``, ``member edit``, ``store edit`` (its phone and email), form
answers, the bulk import and the web forms all check a field with the function of
the same name here, so a value is accepted or refused the same way everywhere.

Each function takes the raw value (a command-line string or a spreadsheet cell:
``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``) and returns the clean
value, ``None`` for a blank optional field, or raises :class:`FieldError` (an
:class:`~crm_cli.domain.errors.InvalidInput`, exit code 5) naming the field and the
reason. Nothing here reads the clock: the birthday check takes ``today``.

Text
----
Every text field refuses control characters that could drive a terminal or hide
what the text says: C0 controls and NUL, DEL, C1 controls (``\\x80``-``\\x9f``),
the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
U+2066-U+2069) and other format characters. A newline is kept where it means
something (an address, a note, a text answer) and refused elsewhere; a tab counts
as a space. Invisible characters pasted from chats (zero-width spaces, soft
hyphens, byte-order marks, left-to-right/right-to-left marks) are removed, runs of
spaces fold to one, and the ends are trimmed. Thai combining vowels and tone marks
are ordinary printable characters and are kept exactly as given.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.phone import InvalidPhone, normalize_phone

__all__ = [
    "FieldError", "phone", "name", "gender", "birthday", "parse_date", "email", "address", "note", "points",
    "tag", "line_name", "text_answer", "clean_text", "show", "GENDERS", "MAX_CELL_CHARS", "MAX_NAME_CHARS",
    "MAX_EMAIL_CHARS", "MAX_ADDRESS_CHARS", "MAX_NOTE_CHARS", "MAX_TAG_CHARS", "MAX_ANSWER_CHARS", "MAX_POINTS",
]

MAX_CELL_CHARS = 1000        # any single value, before cleaning
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_ADDRESS_CHARS = 2000
MAX_NOTE_CHARS = 2000
MAX_TAG_CHARS = 80
MAX_ANSWER_CHARS = 2000
MAX_POINTS = 1_000_000_000

#: Accepted gender spellings (compared case-insensitively; spaces ignored) -> stored value.
GENDERS: dict[str, str] = {
    "ชาย": "male", "ผู้ชาย": "male", "male": "male", "m": "male", "man": "male",
    "หญิง": "female", "ผู้หญิง": "female", "female": "female", "f": "female", "woman": "female",
    "อื่นๆ": "other", "อื่น": "other", "อื่นๆๆ": "other", "เพศทางเลือก": "other", "other": "other", "o": "other",
    "ไม่ระบุ": "unspecified", "ไม่ต้องการระบุ": "unspecified", "unspecified": "unspecified",
    "notspecified": "unspecified", "prefernottosay": "unspecified", "u": "unspecified", "none": "unspecified",
    "-": "unspecified",
}
GENDER_HELP = "use ชาย, หญิง, อื่นๆ or ไม่ระบุ (or male, female, other, M, F)"
DATE_HELP = "write it as dd/mm/yyyy (e.g. 15/03/1990 or 15/03/2533) or yyyy-mm-dd"


class FieldError(InvalidInput):
    """A field value refused: ``field`` names it, ``reason`` says why (the text a
    spreadsheet row report shows), ``str(exc)`` is the one-line message for a command."""

    def __init__(self, field: str, reason: str, value: object = None, *, message: str | None = None):
        if message is None:
            shown = "" if value is None else f" '{show(value, 60)}'"
            message = f"invalid {field}{shown}: {reason}"
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.value = value


# ---------------------------------------------------------------- text

# Refused outright (C0 but tab, DEL, C1, bidi embeddings/overrides/isolates); the multi-line
# variant lets a newline through.
_CONTROL_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTI = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Invisible characters pasted from chats and documents: removed.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
# Any character that has to be escaped when shown (for error messages and reports).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def show(value: object, limit: int = 80) -> str:
    """A raw value as safe one-line text for an error message or a row report:
    control and invisible characters escaped (``\\x1b``, ``\\u202e``), long text cut."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    s = str(value)
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    if _UNSHOWABLE.search(s):
        s = _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)
    return s


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def clean_text(v: str, field: str, *, multiline: bool = False) -> str:
    """Refuse control characters, drop invisible ones, fold spaces (per line when
    ``multiline``) and trim. Returns ``""`` for text that is only whitespace."""
    if v.isprintable():  # the common case: no controls, no format characters, no odd spaces
        return " ".join(v.split()) if not multiline else v.strip()
    s = v.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if not multiline:
        s = s.strip(" \n")
    bad = (_CONTROL_MULTI if multiline else _CONTROL_LINE).search(s)
    if bad is not None:
        what = "a line break" if bad.group() == "\n" else f"a control character ({_codepoint(bad.group())})"
        raise FieldError(field, f"contains {what}; retype it", v)
    s = _INVISIBLE.sub("", s)
    if multiline:
        s = "\n".join(" ".join(line.split()) for line in s.split("\n")).strip("\n")
        check = s.replace("\n", "")
    else:
        s = " ".join(s.split())
        check = s
    if not check.isprintable():
        for ch in check:
            if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
                raise FieldError(field, f"contains an invisible control character ({_codepoint(ch)}); retype it", v)
    return s


def _optional_text(v: Any, field: str, limit: int, *, multiline: bool = False) -> str | None:
    if v is None:
        return None
    if v.__class__ is not str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = show(v)
        else:
            raise FieldError(field, "not text", v)
    if len(v) > MAX_CELL_CHARS and limit <= MAX_CELL_CHARS:
        raise FieldError(field, f"cell too long ({len(v):,} characters; at most {MAX_CELL_CHARS:,})", v)
    s = clean_text(v, field, multiline=multiline)
    if not s:
        return None
    if len(s) > limit:
        raise FieldError(field, f"too long ({len(s):,} characters; at most {limit:,})", v)
    return s


def _too_long_cell(field: str, raw: str) -> FieldError:
    return FieldError(field, f"cell too long ({len(raw):,} characters; at most {MAX_CELL_CHARS:,})", raw)


# ---------------------------------------------------------------- phone


def phone(raw: Any) -> str:
    """The member key: a Thai number in any common form -> E.164 (``+66812345678``)."""
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        message = f"invalid phone number '{show(raw, 60)}': {exc}"
        if raw is None or (raw.__class__ is str and not raw.strip()):
            raise FieldError("phone", "required: the phone number is missing", raw, message=message) from None
        if raw.__class__ is str and len(raw) > MAX_CELL_CHARS:
            raise FieldError("phone", f"cell too long ({len(raw):,} characters; at most {MAX_CELL_CHARS:,})", raw,
                             message=message) from None
        raise FieldError("phone", f"invalid phone number: {exc}", raw, message=message) from None


# ---------------------------------------------------------------- name


def name(v: Any) -> str:
    """A full name (required): at most 200 characters, one line, not a formula."""
    if v.__class__ is not str:
        if v is None:
            raise FieldError("name", "required: the full name is missing")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise FieldError("name", "a number, not a name; check the columns are in the right place", v)
        raise FieldError("name", "not a name; type the member's full name", v)
    if len(v) > MAX_CELL_CHARS:
        raise _too_long_cell("name", v)
    s = clean_text(v, "name")
    if not s:
        raise FieldError("name", "required: the full name is missing")
    if len(s) > MAX_NAME_CHARS:
        raise FieldError("name", f"too long ({len(s)} characters; at most {MAX_NAME_CHARS})", v)
    if s[0] == "=":
        raise FieldError("name", "looks like a spreadsheet formula (starts with '='); type the plain name", v)
    return s


def line_name(v: Any) -> str | None:
    """A LINE display name (optional, one line, at most 200 characters)."""
    return _optional_text(v, "LINE display name", MAX_NAME_CHARS)


def address(v: Any) -> str | None:
    """A postal address (optional; line breaks kept; at most 2,000 characters)."""
    return _optional_text(v, "address", MAX_ADDRESS_CHARS, multiline=True)


def note(v: Any) -> str:
    """A note on a member (required; line breaks kept; at most 2,000 characters)."""
    s = _optional_text(v, "note", MAX_NOTE_CHARS, multiline=True)
    if s is None:
        raise FieldError("note", "the note is empty")
    return s


def tag(v: Any) -> str:
    """A tag (required; one line; at most 80 characters)."""
    s = _optional_text(v, "tag", MAX_TAG_CHARS)
    if s is None:
        raise FieldError("tag", "a tag must not be empty")
    return s


def text_answer(v: Any, question: str) -> str:
    """The answer to a text question (required; line breaks kept; at most 2,000 characters)."""
    field = f"answer to '{question}'"
    s = _optional_text(v, field, MAX_ANSWER_CHARS, multiline=True)
    if s is None:
        raise FieldError(field, "the answer is empty")
    return s


# ---------------------------------------------------------------- gender


def gender(v: Any) -> str | None:
    """ชาย/หญิง/อื่นๆ/ไม่ระบุ, male/female/other/unspecified, M/F ... -> male|female|other|unspecified."""
    if v is None:
        return None
    if v.__class__ is str:
        g = GENDERS.get(v.strip().casefold())
        if g is not None:
            return g
        if not v.strip():
            return None
        if len(v) > MAX_CELL_CHARS:
            raise _too_long_cell("gender", v)
        g = GENDERS.get("".join(v.split()).casefold())
        if g is not None:
            return g
    raise FieldError("gender", GENDER_HELP, v)


# ---------------------------------------------------------------- dates

_THAI_DIGITS = {ord("๐") + i: ord("0") + i for i in range(10)}
_DMY = re.compile(r"(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d+)")
_YMD = re.compile(r"(\d{4})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_MONTH_NAME_YEAR = re.compile(r"(\d{1,2})\s*([^\d\s,]+(?:\s?[^\d\s,]+)?)\s*,?\s*(\d+)")
_MONTHS: dict[str, int] = {}
for _i, _names in enumerate([
    ("มกราคม", "ม.ค.", "มค", "jan", "january"),
    ("กุมภาพันธ์", "ก.พ.", "กพ", "feb", "february"),
    ("มีนาคม", "มี.ค.", "มีค", "mar", "march"),
    ("เมษายน", "เม.ย.", "เมย", "apr", "april"),
    ("พฤษภาคม", "พ.ค.", "พค", "may"),
    ("มิถุนายน", "มิ.ย.", "มิย", "jun", "june"),
    ("กรกฎาคม", "ก.ค.", "กค", "jul", "july"),
    ("สิงหาคม", "ส.ค.", "สค", "aug", "august"),
    ("กันยายน", "ก.ย.", "กย", "sep", "sept", "september"),
    ("ตุลาคม", "ต.ค.", "ตค", "oct", "october"),
    ("พฤศจิกายน", "พ.ย.", "พย", "nov", "november"),
    ("ธันวาคม", "ธ.ค.", "ธค", "dec", "december"),
], start=1):
    for _n in _names:
        _MONTHS[_n.replace(".", "").casefold()] = _i
del _i, _names, _n


def _day(v: Any, field: str) -> date:
    """A calendar day from a date cell or text (dd/mm/yyyy, yyyy-mm-dd, ``15 มี.ค. 2533``);
    a year above 2400 is a Buddhist-Era year (minus 543)."""
    cls = v.__class__
    if cls is str:
        s = v.strip()
        if len(s) == 10 and s[2] == "/" and s[5] == "/" and s.isascii() and s[:2].isdigit() \
                and s[3:5].isdigit() and s[6:].isdigit():
            return _make_date(int(s[6:]), int(s[3:5]), int(s[:2]), s[6:], field, v)
        if len(s) == 10 and s[4] == "-" and s[7] == "-" and s.isascii() and s[:4].isdigit() \
                and s[5:7].isdigit() and s[8:].isdigit():
            return _make_date(int(s[:4]), int(s[5:7]), int(s[8:]), s[:4], field, v)
        if len(s) > MAX_CELL_CHARS:
            raise _too_long_cell(field, v)
        return _day_text(s, field, v)
    if cls is datetime or isinstance(v, datetime):
        v = v.date()
    elif not isinstance(v, date):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise FieldError(field, "a number, not a date; " + DATE_HELP, v)
        raise FieldError(field, "not a date; " + DATE_HELP, v)
    if v.year > 2400:
        return _make_date(v.year, v.month, v.day, str(v.year), field, v)
    day: date = v
    return day


def _day_text(s: str, field: str, raw: Any) -> date:
    s = s.translate(_THAI_DIGITS)
    m = _DMY.fullmatch(s)
    if m:
        day, month, year = int(m.group(1)), int(m.group(3)), m.group(4)
    else:
        m = _YMD.fullmatch(s)
        if m:
            year, month, day = m.group(1), int(m.group(3)), int(m.group(4))
        else:
            m = _DAY_MONTH_NAME_YEAR.fullmatch(s)
            named = _MONTHS.get(m.group(2).replace(".", "").replace(" ", "").casefold()) if m else None
            if not named or m is None:
                raise FieldError(field, "not a date; " + DATE_HELP, raw)
            month, day, year = named, int(m.group(1)), m.group(3)
    if len(year) != 4:
        raise FieldError(field, "use a 4-digit year (e.g. 15/03/1990 or 15/03/2533)", raw)
    return _make_date(int(year), month, day, year, field, raw)


def _make_date(y: int, month: int, day: int, year_text: str, field: str, raw: Any) -> date:
    be = y > 2400
    if be:
        y -= 543
    try:
        return date(y, month, day)
    except ValueError:
        raise FieldError(
            field, f"{day:02d}/{month:02d}/{year_text} is not a real date" + (" (Buddhist Era year)" if be else ""), raw,
        ) from None


def parse_date(v: Any, field: str = "date") -> date | None:
    """A day in any accepted form (see :func:`birthday`), without bounds; ``None`` when blank."""
    if v is None or (v.__class__ is str and not v.strip()):
        return None
    return _day(v, field)


def birthday(v: Any, *, today: date) -> date | None:
    """A birthday: a date cell, dd/mm/yyyy, yyyy-mm-dd or ``15 มี.ค. 2533`` (CE or BE years),
    from 1900 to ``today``; ``None`` when blank."""
    if v is None or (v.__class__ is str and not v.strip()):
        return None
    d = _day(v, "birthday")
    if d > today:
        raise FieldError("birthday", "the birthday is in the future", v)
    if d.year < 1900:
        raise FieldError("birthday", "the birthday is before 1900", v)
    return d


# ---------------------------------------------------------------- email

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def email(v: Any) -> str | None:
    """An email address (``name@example.com``; the domain lower-cased); ``None`` when blank."""
    if v is None:
        return None
    if v.__class__ is not str:
        raise FieldError("email", "not an email address", v)
    s = v.strip()
    if not s:
        return None
    if len(s) > MAX_EMAIL_CHARS:
        if len(v) > MAX_CELL_CHARS:
            raise _too_long_cell("email", v)
        raise FieldError("email", f"too long ({len(s)} characters; at most {MAX_EMAIL_CHARS})", v)
    if s[0] == "=":
        raise FieldError("email", "looks like a spreadsheet formula (starts with '='); type the plain address", v)
    if _EMAIL.fullmatch(s) is None:
        raise FieldError("email", "not a valid email address (like name@example.com)", v)
    at = s.rindex("@")
    if at > 64:
        raise FieldError("email", "not a valid email address (the part before @ is over 64 characters)", v)
    domain = s[at + 1:]
    if not domain.islower():
        s = s[: at + 1] + domain.lower()
    return s


# ---------------------------------------------------------------- points

_POINTS_TEXT = re.compile(r"\+?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?")


def points(v: Any) -> int:
    """A non-negative whole number of points up to 1,000,000,000 (required): integer
    cells, ``10.0``, text ``10``, ``1,000`` or ``10.00``."""
    cls = v.__class__
    if cls is int:
        n = v
    elif v is None or (cls is str and not v.strip()):
        raise FieldError("points", "required: the number of points is missing (write 0 for none)")
    elif cls is float:
        if not math.isfinite(v):
            raise FieldError("points", "not a number", v)
        if not v.is_integer():
            raise FieldError("points", "points must be a whole number (no fractions)", v)
        n = int(v)
    elif cls is str:
        if len(v) > MAX_CELL_CHARS:
            raise _too_long_cell("points", v)
        s = v.strip()
        if s.isascii() and s.isdigit():
            n = int(s)
        else:
            s = s.translate(_THAI_DIGITS).replace(" ", "")
            m = _POINTS_TEXT.fullmatch(s)
            if not m:
                if s[:1] in ("-", "\u2212") and _POINTS_TEXT.fullmatch(s[1:]):
                    raise FieldError("points", "points cannot be negative", v)
                raise FieldError("points", "points must be a whole number such as 150", v)
            if m.group(2) and m.group(2).strip("0"):
                raise FieldError("points", "points must be a whole number (no fractions)", v)
            n = int(m.group(1).replace(",", ""))
    elif cls is bool:
        raise FieldError("points", "TRUE/FALSE is not a number of points", v)
    elif isinstance(v, date):
        raise FieldError("points", "a date, not a number of points", v)
    elif isinstance(v, int):
        n = int(v)
    else:
        raise FieldError("points", "points must be a whole number such as 150", v)
    if n < 0:
        raise FieldError("points", "points cannot be negative", v)
    if n > MAX_POINTS:
        raise FieldError("points", f"too many points (at most {MAX_POINTS:,})", v)
    return int(n)
