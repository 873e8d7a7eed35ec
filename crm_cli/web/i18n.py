"""Page text in Thai (first) and English, kept in ``text/*.toml`` (``pages.toml``: the
words every page shares). Messages from the services (errors) are the CLI's own words and
are shown as they are."""

from __future__ import annotations

import functools
from pathlib import Path

LANGS = ("th", "en")


@functools.cache
def words(name: str = "pages") -> dict[str, tuple[str, str]]:
    """The words of ``text/<name>.toml``: key -> (Thai, English)."""
    import tomllib

    with (Path(__file__).parent / "text" / f"{name}.toml").open("rb") as fh:
        table = tomllib.load(fh)
    out = {}
    for key, pair in table.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(w, str) for w in pair)):
            raise ValueError(f"text/{name}.toml: {key} must be [Thai, English], got {pair!r}")
        out[key] = (pair[0], pair[1])
    return out


def pick(request, remembered: str | None) -> str:
    """?lang=th|en first, then the language remembered in the session, then Accept-Language; Thai by default."""
    q = (request.query_params.get("lang") or "").lower()
    if q in LANGS:
        return q
    if remembered in LANGS:
        return remembered
    for part in (request.headers.get("accept-language") or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("th"):
            return "th"
        if tag.startswith("en"):
            return "en"
    return "th"


def translator(lang: str, table: str = "pages"):
    """``t(key, **fields)``: the words for ``key`` in ``lang`` from ``text/<table>.toml``
    (default: the shared words), with ``fields`` filled in; an unknown key is shown as it is."""
    idx = 0 if lang == "th" else 1
    known = words(table)

    def t(key: str, **kw) -> str:
        pair = known.get(key)
        text = pair[idx] if pair else key
        return text.format(**kw) if kw else text

    return t
