"""Text from outside (member names, LINE display names, chat messages, file cells) on its
way out: control and direction characters never reach a terminal, a page or a spreadsheet
as code.

* :func:`escape` shows them as visible escapes (``\\x1b``, ``\\u202e``) -- for tables,
  plain text and markdown, where an operator reads the value and must see that it is odd;
* :func:`drop` removes them -- for CSV and XLSX cells (XLSX cannot even hold C0 controls);
* :func:`escape_json` makes a JSON document pure data: ``json.dumps`` already escapes C0;
  this also escapes DEL, C1 and the direction controls it would leave raw.

Thai (and every other script) passes unchanged, combining vowels and tone marks included;
so do the zero-width (non-)joiners U+200C/U+200D that scripts and emoji sequences need.
"""

from __future__ import annotations

import re

# C0 but newline, DEL, C1, Arabic letter mark, zero-width space, LRM/RLM, line and paragraph
# separators, bidi embeddings/overrides (U+202A-U+202E), word joiner, bidi isolates
# (U+2066-U+2069), BOM, and lone surrogates (undecodable bytes kept by surrogateescape).
_INVISIBLE = "\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_INVISIBLE}]")
_UNSAFE_IN_CELL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]")  # keeps tab, LF, CR
_UNSAFE_IN_JSON = re.compile(f"[{_INVISIBLE}]")  # json.dumps escapes C0 itself


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape(text: str, *, keep_newline: bool = False) -> str:
    """Every control, direction and invisible format character as a visible escape."""
    pattern = _UNSAFE_BUT_NEWLINE if keep_newline else _UNSAFE
    return pattern.sub(_visible, text) if pattern.search(text) else text


def drop(text: str) -> str:
    """The same characters removed (tab, newline and carriage return kept: a cell may hold lines)."""
    return _UNSAFE_IN_CELL.sub("", text) if _UNSAFE_IN_CELL.search(text) else text


def escape_json(document: str) -> str:
    """A document from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1 and the direction
    and invisible characters written as ``\\uXXXX`` (they can only occur inside strings)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def is_safe(text: str) -> bool:
    """True when :func:`escape` would leave ``text`` unchanged (newlines allowed)."""
    return _UNSAFE_BUT_NEWLINE.search(text) is None
