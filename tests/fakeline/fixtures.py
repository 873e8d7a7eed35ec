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
        yield line


@pytest.fixture
def line_token(fake_line) -> str:
    return fake_line.add_channel()
