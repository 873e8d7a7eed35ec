"""Fixtures: ``fake_line`` (a running fake platform, endpoints pointed at it) and
``line_token`` (a channel access token it accepts)."""

from __future__ import annotations

import pytest

from tests.fakeline.server import FakeLine


@pytest.fixture
def fake_line(monkeypatch):
    with FakeLine() as line:
        monkeypatch.setenv("CRM_LINE_API_URL", line.url)
        monkeypatch.setenv("CRM_LINE_DATA_API_URL", line.url)
        monkeypatch.setenv("CRM_LINE_LOGIN_URL", line.url)
        monkeypatch.setenv("CRM_LINE_BACKOFF", "0.01")
        yield line


@pytest.fixture
def line_token(fake_line) -> str:
    return fake_line.add_channel()


SECRET = "0123456789abcdef0123456789abcdef"
CHANNEL_ID = "1656000000"


@pytest.fixture
def connected(shop, fake_line, line_token):  # noqa: F811
    """The 'cafe' shop connected to the fake platform (channel secret ``SECRET``)."""
    shop.ok("line", "connect", "--channel-id", CHANNEL_ID, "--channel-secret", SECRET, "--access-token", "-",
            input=line_token + "\n")
    shop.line = fake_line
    shop.token = line_token
    return shop
