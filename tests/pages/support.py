"""Helpers for the page tests: a browser-less visitor (httpx with cookies) that signs in
through the fake LINE Login, and the CSRF token of a page."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

LOGIN_ID = "1657000001"
LOGIN_SECRET = "fedcba9876543210fedcba9876543210"
TERMS = "ข้อกำหนดและเงื่อนไขการเป็นสมาชิก\n\n1. ร้านเก็บเบอร์โทรและชื่อเพื่อสะสมแต้ม\n2. ยกเลิกได้ทุกเมื่อ"


@dataclass
class Site:
    cli: object
    line: object
    login: object
    served: object

    @property
    def url(self) -> str:
        return self.served.url

    def visitor(self, user_id: str | None = None, name: str = "LINE user", lang: str = "th") -> Visitor:
        return Visitor(self, user_id or self.login.user(None, name), name, lang)


class Visitor:
    """One person's browser without the browser: cookies kept, redirects followed, and the
    fake LINE Login signs in ``user_id`` whenever a page sends them there."""

    def __init__(self, site: Site, user_id: str, name: str, lang: str) -> None:
        self.site, self.user_id, self.name = site, user_id, name
        self.http = httpx.Client(base_url=site.url, follow_redirects=True, timeout=15,
                                 headers={"accept-language": "en" if lang == "en" else "th-TH,th"})

    def get(self, path: str, **kw) -> httpx.Response:
        self.site.login.user(self.user_id, self.name)
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict | list, *, csrf_from: str | None = None, **kw) -> httpx.Response:
        """POST a form; the CSRF token is read from ``csrf_from`` (a page) unless given."""
        self.site.login.user(self.user_id, self.name)
        if isinstance(data, dict):
            data = dict(data)
            if "csrf" not in data:
                data["csrf"] = csrf(self.get(csrf_from or path).text)
        return self.http.post(path, data=data, **kw)

    def close(self) -> None:
        self.http.close()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)


def text(html: str) -> str:
    """The page's visible text, roughly (tags dropped, entities decoded, spaces folded)."""
    import html as h

    return " ".join(h.unescape(re.sub(r"<[^>]+>", " ", html)).split())
