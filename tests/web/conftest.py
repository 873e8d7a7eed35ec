from __future__ import annotations

import pytest

from tests.fakeline.fixtures import connected, fake_line, line_token  # noqa: F401
from tests.web.serving import Served


@pytest.fixture
def served(db_url, fake_line):  # noqa: F811
    """`crm serve`'s app on 127.0.0.1 (random port), talking to the fake LINE platform."""
    s = Served(db_url, line_url=fake_line.url).start()
    yield s
    s.stop()
