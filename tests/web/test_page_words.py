"""Every word a page asks for is in text/*.toml in Thai and in English: a key missing there
would show as the bare key on the page."""

from __future__ import annotations

import re
from pathlib import Path

from crm_cli.web import i18n

WEB = Path(i18n.__file__).parent
#: t(...) / pg.t(...): the shared words; s(...): the survey page's own
ASKED = re.compile(r"""\b(?:pg\.t|t|s)\(\s*['"]([a-z][a-z0-9_]*)['"]""")


#: a template may name its words in a {% set %} and ask for them through a variable
SET = re.compile(r"{%-?\s*set\b(.*?)%}", re.S)
QUOTED = re.compile(r"""['"]([a-z][a-z0-9_]*)['"]""")


def _asked(paths) -> set[str]:
    return {key for p in paths for key in ASKED.findall(p.read_text(encoding="utf-8"))}


def _named_in_sets(paths) -> set[str]:
    return {key for p in paths for stmt in SET.findall(p.read_text(encoding="utf-8")) for key in QUOTED.findall(stmt)}


def test_every_key_the_pages_ask_for_has_both_languages():
    shared = i18n.words("pages")
    survey = i18n.words("survey")
    sources = sorted((WEB / "templates").glob("*.html")) + sorted(WEB.glob("*.py"))
    asked = _asked(sources)
    assert len(asked) > 50
    known = shared.keys() | survey.keys()
    # a key ending in "_" is a prefix the page completes (t('kind_' ~ entry.kind)): some words must carry it
    missing = sorted(k for k in asked if (k not in known if not k.endswith("_") else not any(n.startswith(k) for n in known)))
    assert missing == []
    # and no word is kept that no page asks for
    prefixes = tuple(k for k in asked if k.endswith("_"))
    named = _named_in_sets(sources)
    unused = sorted(k for k in known if k not in asked and k not in named and not k.startswith(prefixes))
    assert unused == []
    for table in (shared, survey):
        for key, (th, en) in table.items():
            assert th.strip() and en.strip(), key
            assert sorted(re.findall(r"\{(\w+)\}", th)) == sorted(re.findall(r"\{(\w+)\}", en)), key


def test_translator_fills_fields_and_shows_an_unknown_key_as_it_is():
    t = i18n.translator("en")
    assert t("to_next_tier", n=120, tier="Gold") == "120 points to Gold"
    assert i18n.translator("th")("to_next_tier", n=120, tier="Gold") == "อีก 120 แต้มถึงระดับ Gold"
    assert t("no_such_key") == "no_such_key"
    assert i18n.translator("en", "survey")("send") == "Send answers"
