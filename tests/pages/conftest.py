"""The member and staff pages on a real `crm serve` (uvicorn, loopback) with the fake LINE
platform, LINE Login included."""

from __future__ import annotations

import pytest

from tests.fakeline.fixtures import CHANNEL_ID, SECRET, fake_line, line_token  # noqa: F401
from tests.fakeline.login import LineLogin
from tests.pages.support import LOGIN_ID, LOGIN_SECRET, TERMS, Site
from tests.web.serving import Served


@pytest.fixture
def site(shop, fake_line, line_token, db_url, tmp_path):  # noqa: F811
    """Store 'cafe' (branches Siam and Ari) connected to LINE (Messaging API + LINE Login),
    terms published, 1 point per 25 THB and 20 welcome points; `crm serve` running."""
    shop.ok("line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", SECRET, "--access-token", "-",
            "--login-channel-id", LOGIN_ID, "--login-channel-secret", LOGIN_SECRET, input=line_token + "\n")
    login = LineLogin(fake_line)
    login.add_channel(LOGIN_ID, LOGIN_SECRET)
    terms = tmp_path / "terms.md"
    terms.write_text(TERMS, encoding="utf-8")
    shop.ok("form", "terms", "--file", str(terms))
    shop.ok("points", "rule", "--points", "1", "--per", "25", "--welcome", "20")
    served = Served(db_url, line_url=fake_line.url).start()
    yield Site(cli=shop, line=fake_line, login=login, served=served)
    served.stop()
