from __future__ import annotations

from tests.fakeline.fixtures import connected, fake_line, line_token  # noqa: F401
