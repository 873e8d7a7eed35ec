"""A fake LINE platform for the tests: started on 127.0.0.1 on a free port."""

from tests.fakeline.server import FakeLine, Refused, Req

__all__ = ["FakeLine", "Refused", "Req"]
