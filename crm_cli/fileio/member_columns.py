"""The member-file column vocabulary: one set of names for the template, the export and the import.

The bulk-import template (``crm member template``), the member export and the import
reader all take their columns from here, so an exported file is a valid import file
and a header is recognised in Thai or English.

* **Headers.** Thai or English, in any order; ``*`` markers, spaces, dashes, dots,
  underscores and case are ignored, and a header cell may carry both languages
  (``เบอร์โทรศัพท์* / Phone*``, as our template writes them). The aliases are in
  :data:`HEADER_ALIASES`. Unknown columns are ignored (listed in
  :attr:`ReadInfo.ignored`). The header is the first row, within the first
  10 non-blank rows, that names at least two known columns (so a title row above
  it is tolerated). A column named twice is a file error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from crm_cli.domain.errors import InvalidInput

__all__ = [
    "BadFile", "ReadInfo", "FIELDS", "REQUIRED_FIELDS", "HEADER_ALIASES", "FIELD_LABELS", "EXAMPLE_NAME",
    "DEFAULT_MAX_ROWS", "EXPORT_FIELDS", "match_header", "find_header", "missing_columns_error", "no_header_error",
]

DEFAULT_MAX_ROWS = 5000
HEADER_SCAN_ROWS = 10

FIELDS = ("phone", "name", "points", "gender", "birthday", "email")
REQUIRED_FIELDS = ("phone", "name", "points")

#: Field -> the header names accepted for it (compared after :func:`_header_key`).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "เบอร์โทรศัพท์", "เบอร์โทร", "เบอร์", "โทรศัพท์", "เบอร์มือถือ", "มือถือ",
        "phone", "phone number", "phone no", "mobile", "mobile number", "tel", "telephone",
    ),
    "name": (
        "ชื่อ - นามสกุล", "ชื่อ-นามสกุล", "ชื่อ นามสกุล", "ชื่อและนามสกุล", "ชื่อ",
        "full name", "fullname", "name", "customer name", "member name",
    ),
    "points": (
        "จำนวนพอยท์", "พอยท์", "พอยต์", "จำนวนพอยต์", "แต้ม", "จำนวนแต้ม", "คะแนน",
        "points", "point", "pts",
    ),
    "gender": ("เพศ", "gender", "sex"),
    "birthday": ("วันเกิด", "วันเดือนปีเกิด", "birthday", "birth date", "birthdate", "date of birth", "dob"),
    "email": ("อีเมล", "อีเมล์", "email", "e-mail", "email address", "mail"),
    # written by `crm member export`: read back as information, never imported as points
    "status": ("สถานะ", "status", "member status"),
    "balance": ("พอยท์คงเหลือ", "แต้มคงเหลือ", "คะแนนคงเหลือ", "balance", "points balance", "point balance"),
}

#: Columns `crm member export` writes that the import reads without importing them: the
#: balance is never imported again as points, and a ``phone-only`` status row is skipped.
EXPORT_FIELDS = ("status", "balance")

#: Field -> the header text our template writes (Thai / English; * = required).
FIELD_LABELS: dict[str, str] = {
    "phone": "เบอร์โทรศัพท์* / Phone*",
    "name": "ชื่อ - นามสกุล* / Full name*",
    "points": "จำนวนพอยท์* / Points*",
    "gender": "เพศ / Gender",
    "birthday": "วันเกิด / Birthday",
    "email": "อีเมล / Email",
}

#: The name in the template's example row; a row that still carries it is refused.
EXAMPLE_NAME = "ตัวอย่าง สมชาย ใจดี (ลบแถวนี้ / delete this row)"



class BadFile(InvalidInput, ValueError):
    """The file as a whole cannot be imported; ``str(exc)`` is one line saying what
    is wrong and how to fix it. (An :class:`InvalidInput`, so the CLI reports it as
    a bad input file.)"""



@dataclass
class ReadInfo:
    """Filled in by :func:`read_rows` once the header is found."""

    kind: str = ""                                  # "xlsx" or "csv"
    sheet: str | None = None                        # xlsx: the sheet read
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)   # field -> header text in the file
    ignored: list[str] = field(default_factory=list)        # header texts not recognised


_HEADER_STRIP = re.compile(r"[\s*\-_.:'\"]+")
_HEADER_SPLIT = re.compile(r"[/|()\[\]\n]+")


def _header_key(text: str) -> str:
    return _HEADER_STRIP.sub("", text).casefold()


_ALIAS_TO_FIELD = {_header_key(a): f for f, aliases in HEADER_ALIASES.items() for a in aliases}


def match_header(text: object) -> str | None:
    """The field a header cell names, or None."""
    if text is None:
        return None
    s = str(text)
    if len(s) > 200:
        return None
    key = _header_key(s)
    if key in _ALIAS_TO_FIELD:
        return _ALIAS_TO_FIELD[key]
    found = {_ALIAS_TO_FIELD.get(_header_key(part)) for part in _HEADER_SPLIT.split(s)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _is_blank(v) -> bool:
    return v is None or (v.__class__ is str and not v.strip())


@dataclass
class _Header:
    row: int
    mapping: dict                 # column key -> field
    texts: dict                   # field -> header text
    ignored: list

    @property
    def missing(self) -> list[str]:
        # an exported file has a balance column instead of points: nothing to import as points
        required = REQUIRED_FIELDS if "balance" not in self.texts else tuple(f for f in REQUIRED_FIELDS if f != "points")
        return [f for f in required if f not in self.texts]


def find_header(rows: Iterator[tuple[int, dict]], where: str) -> _Header | None:
    """Look at the first non-blank rows for the header. ``rows`` yield
    (row_number, {column_key: value}) with all columns."""
    best = None
    seen = 0
    for rownum, cells in rows:
        if not any(not _is_blank(v) for v in cells.values()):
            continue
        seen += 1
        mapping, texts, ignored, first_col = {}, {}, [], {}
        for key, value in cells.items():
            if _is_blank(value):
                continue
            f = match_header(value)
            if f is None:
                ignored.append(str(value).strip())
                continue
            if f in texts:
                raise BadFile(
                    f"{where}: row {rownum} names the {f} column twice "
                    f"({_col_label(first_col[f])} '{texts[f]}' and {_col_label(key)} '{str(value).strip()}'); "
                    "delete or rename one of them"
                )
            mapping[key] = f
            texts[f] = str(value).strip()
            first_col[f] = key
        if len(texts) >= 2 or (len(texts) == 1 and not ignored):
            h = _Header(rownum, mapping, texts, ignored)
            if not h.missing:
                return h
            if best is None or len(h.texts) > len(best.texts):
                best = h
            return best
        if seen >= HEADER_SCAN_ROWS:
            break
    return best


def _col_label(key) -> str:
    if isinstance(key, int):
        return f"column {key + 1}"
    if isinstance(key, bytes):
        key = key.decode()
    return f"column {key}"


_REQUIRED_TEXT = "เบอร์โทรศัพท์* (phone), ชื่อ - นามสกุล* (full name), จำนวนพอยท์* (points)"


def missing_columns_error(where: str, h: _Header) -> BadFile:
    names = ", ".join(f"{FIELD_LABELS[f]}" for f in h.missing)
    return BadFile(
        f"{where}: the header in row {h.row} has no {names} column; "
        f"add it (the required columns are {_REQUIRED_TEXT}) or start from `crm member template`"
    )


def no_header_error(where: str) -> BadFile:
    return BadFile(
        f"{where}: no header row found; the first row must name the columns "
        f"{_REQUIRED_TEXT} and optionally เพศ (gender), วันเกิด (birthday), อีเมล (email) "
        "-- start from `crm member template`"
    )
