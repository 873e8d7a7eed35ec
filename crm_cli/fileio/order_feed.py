"""Reading a marketplace order feed file; the parsing itself is pure (crm_cli.domain.orders_feed)."""

from __future__ import annotations

import os
from pathlib import Path

from crm_cli.domain.orders_feed import FeedOrder, RowError, feed_format_for, parse_order_feed


def read_order_feed(path: str | os.PathLike) -> tuple[list[FeedOrder], list[RowError]]:
    """The orders and every row error of the feed at ``path`` (format from the extension).

    ValueError for an extension that is neither .csv nor .json; OSError (FileNotFoundError
    included) when the file cannot be read.
    """
    fmt = feed_format_for(path)
    return parse_order_feed(Path(path).read_bytes(), fmt)
