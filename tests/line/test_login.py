"""The LINE Login client against the fake platform on loopback: the code flow with PKCE
S256, and every check that must refuse (verifier, client secret, redirect URI, code reuse,
audience, nonce)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crm_cli.line import login
from crm_cli.line.client import LineApiError
from crm_cli.line.endpoints import Endpoints
from tests.fakeline.login import LineLogin
from tests.fakeline.server import FakeLine

CHANNEL, SECRET = "1657000009", "0123456789abcdef0123456789abcdef"
CALLBACK = "https://crm.example-shop.co.th/auth/line/callback"


@pytest.fixture
def fake():
    with FakeLine() as line:
        ll = LineLogin(line)
        ll.add_channel(CHANNEL, SECRET)
        ll.add_channel("1657000010", "another-secret-0000")
        yield line, ll


def _authorize(line, started: login.LoginStart) -> dict:
    r = httpx.get(started.url, follow_redirects=False)
    assert r.status_code == 302, r.text
    back = urlsplit(r.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def test_code_flow_with_pkce(fake):
    line, ll = fake
    user = ll.user(name="สมชาย")
    ep = Endpoints(api=line.url, data_api=line.url, login=line.url)
    started = login.start(channel_id=CHANNEL, redirect_uri=CALLBACK, endpoints=ep)
    q = parse_qs(urlsplit(started.url).query)
    assert q["code_challenge_method"] == ["S256"] and q["code_challenge"] == [login.code_challenge(started.code_verifier)]
    assert q["scope"] == ["profile openid"] and q["nonce"] == [started.nonce] and q["state"] == [started.state]
    back = _authorize(line, started)
    assert login.same(back["state"], started.state)
    with login.LoginClient(CHANNEL, SECRET, endpoints=ep) as client:
        who = client.finish(code=back["code"], redirect_uri=CALLBACK, code_verifier=started.code_verifier,
                            nonce=started.nonce)
        assert (who.user_id, who.name) == (user, "สมชาย")
        # a code works once
        with pytest.raises(LineApiError, match="invalid authorization code"):
            client.finish(code=back["code"], redirect_uri=CALLBACK, code_verifier=started.code_verifier,
                          nonce=started.nonce)
    assert len(started.code_verifier) >= 43 and "=" not in q["code_challenge"][0]


@pytest.mark.parametrize("what", ["verifier", "secret", "redirect", "nonce", "audience"])
def test_refused(fake, what):
    line, ll = fake
    ll.user()
    ep = Endpoints(api=line.url, data_api=line.url, login=line.url)
    started = login.start(channel_id=CHANNEL, redirect_uri=CALLBACK, endpoints=ep)
    back = _authorize(line, started)
    kw = dict(code=back["code"], redirect_uri=CALLBACK, code_verifier=started.code_verifier, nonce=started.nonce)
    channel, secret = CHANNEL, SECRET
    if what == "verifier":
        kw["code_verifier"] = login.start(channel_id=CHANNEL, redirect_uri=CALLBACK, endpoints=ep).code_verifier
    elif what == "secret":
        secret = "wrong-secret-000000"
    elif what == "redirect":
        kw["redirect_uri"] = "https://evil.example/cb"
    elif what == "nonce":
        kw["nonce"] = "another-nonce"
    elif what == "audience":
        channel, secret = "1657000010", "another-secret-0000"
    with login.LoginClient(channel, secret, endpoints=ep) as client, pytest.raises(LineApiError) as err:
        client.finish(**kw)
    assert SECRET not in str(err.value) and started.code_verifier not in str(err.value)
    assert err.value.exit_code == 10
