"""The neutralizers of outside text: visible escapes, dropped controls, JSON escapes."""

from __future__ import annotations

import json

from crm_cli.domain.safetext import drop, escape, escape_json, is_safe
from tests.hostile import CORPUS, THAI, assert_terminal_safe


def test_escape_shows_every_control_and_direction_character():
    assert escape("Evil\x1b[31mRED\x07") == "Evil\\x1b[31mRED\\x07"
    assert escape("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"
    assert escape("c1\x9b31m\x7f") == "c1\\x9b31m\\x7f"
    assert escape("a\nb") == "a\\x0ab" and escape("a\nb", keep_newline=True) == "a\nb"
    assert escape("tab\there") == "tab\\x09here"
    for text in CORPUS.values():
        assert_terminal_safe(escape(text))
        assert is_safe(escape(text, keep_newline=True))


def test_thai_and_joiners_pass_unchanged():
    assert escape(THAI) == THAI and drop(THAI) == THAI
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # an emoji sequence needs its joiners
    assert escape(family) == family and drop(family) == family


def test_drop_keeps_lines_and_tabs_for_cells():
    assert drop("a\tb\r\nc\x1b[31m\x00\u202e") == "a\tb\r\nc[31m"
    for text in CORPUS.values():
        assert_terminal_safe(drop(text))


def test_escape_json_keeps_the_document_and_its_values():
    doc = {label: text for label, text in CORPUS.items()}
    raw = escape_json(json.dumps(doc, ensure_ascii=False))
    assert_terminal_safe(raw)
    assert json.loads(raw) == doc
    assert THAI in raw
