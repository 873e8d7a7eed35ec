"""Plain rows -> rich table | json | csv | plain | markdown (tabulate), one section or several.

Services return frozen dataclasses (or lists of them, or dicts). ``render`` turns them
into JSON-safe values: points stay integers, money (Decimal) becomes a string with two
decimals, dates and times become ISO 8601 with their offset. JSON is one document on
stdout: an object for a single result or a document of several sections, an array for
a listing.

The text formats (table, plain, markdown, csv) show times in Bangkok to the minute
(``2026-11-30 02:41``), pad by display width (Thai vowels and tone marks take no
column), and never cut a cell when stdout is not a terminal. Text from outside is
neutralized on the way out (:mod:`crm_cli.domain.safetext`): control, direction and
invisible characters appear as visible escapes in table, plain and markdown, are dropped
in CSV, and are ``\\u`` escapes in JSON.

A command with several parts (a summary and its lots, a report's tables) renders a list
of :class:`Section`: each with its own title in table, plain and markdown; in CSV, one
block per section, each after a ``# title`` line and separated by a blank line; in JSON,
one object.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from typing import Any, Iterable, Sequence

from crm_cli.domain.plain import bangkok_minute, to_plain  # noqa: F401 - one representation for every output

FORMATS = ("table", "json", "csv", "plain", "markdown")


_WHOLE = object()


@dataclasses.dataclass(frozen=True)
class Section:
    """One titled part of a document: a result (a dict or dataclass) or a listing."""

    title: str
    data: Any
    columns: list[str] | None = None


@dataclasses.dataclass(frozen=True)
class Document:
    """Sections shown one after another; ``whole`` is what JSON shows (default: an object
    with one key per section title)."""

    sections: list[Section]
    whole: Any = _WHOLE




# ---------------------------------------------------------------- cells


def _text_values(value: Any, key: str = "") -> Any:
    """Plain values for the text formats. An expiry that ends a Bangkok day (a lot or a
    coupon valid through the 24th expires at 00:00 on the 25th) reads as that day's
    ``24:00``, never as the next day's midnight; other times are Bangkok minutes."""
    from datetime import datetime, timedelta

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _text_values(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _text_values(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_text_values(v) for v in value]
    if isinstance(value, datetime) and key.endswith("expires_at"):
        from crm_cli.domain.timeutil import BKK

        local = value.astimezone(BKK) if value.tzinfo else value
        if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
            return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return to_plain(value, text=True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?")


def _csv_cell(value: Any) -> str:
    """Controls dropped; text a spreadsheet would run as a formula quoted (a signed number,
    such as ``-20`` or ``+66812345678``, stays as it is)."""
    from crm_cli.domain.safetext import drop

    s = drop(_text(value))
    if isinstance(value, str) and s and s[0] in "=+-@\t\r" and not _NUMBER.fullmatch(s):
        return "'" + s
    return s


def _shown(value: Any, fmt: str) -> str:
    """A cell for table, plain or markdown: controls as visible escapes."""
    from crm_cli.domain.safetext import escape

    s = escape(_text(value), keep_newline=fmt != "markdown")
    if fmt == "markdown":
        s = s.replace("|", "\\|")
    return s


def _rows(data: Any, columns: list[str] | None) -> tuple[list[str], list[dict]]:
    rows = data if isinstance(data, list) else [data]
    rows = [r if isinstance(r, dict) else {"value": r} for r in rows]
    if columns is None:
        columns = []
        for r in rows:
            for k in r:
                if k not in columns:
                    columns.append(k)
    return columns, rows


def _is_record(plain: Any, columns: list[str] | None) -> bool:
    """A single result shown as field/value lines (not a one-row table)."""
    return isinstance(plain, dict) and columns is None


# ---------------------------------------------------------------- formats


def _json(document: Any) -> str:
    from crm_cli.domain.safetext import escape_json

    return escape_json(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


def _csv(plain: Any, columns: list[str] | None) -> str:
    import csv
    import io

    buf = io.StringIO()
    cols, rows = _rows(plain, columns)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([_csv_cell(c) for c in cols])
    for r in rows:
        w.writerow([_csv_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def _tabulated(plain: Any, columns: list[str] | None, fmt: str) -> str:
    """plain or markdown, padded by display width (tabulate measures with wcwidth)."""
    from tabulate import tabulate

    tablefmt = "plain" if fmt == "plain" else "github"
    if _is_record(plain, columns):
        body = [[_shown(k, fmt), _shown(v, fmt)] for k, v in plain.items()]
        headers = ["field", "value"]
    else:
        cols, rows = _rows(plain, columns)
        body = [[_shown(r.get(c), fmt) for c in cols] for r in rows]
        headers = [_shown(c, fmt) for c in cols]
    return tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True) + "\n"


def _console(out):
    """A rich console on ``out``. Not a terminal (a pipe, a file): as wide as the widest row,
    so no cell is ever wrapped or cut; on a terminal, long cells fold onto more lines."""
    from rich.console import Console

    console = Console(file=out, soft_wrap=False)
    if not console.is_terminal:
        console = Console(file=out, soft_wrap=False, width=1_000_000, color_system=None, highlight=False)
    return console


def _rich_table(plain: Any, columns: list[str] | None, title: str | None):
    from rich.table import Table
    from rich.text import Text

    def cell(v: Any) -> Text:  # Text, never markup: '[bold]' in a name stays literal
        return Text(_shown(v, "table"))

    caption_title = Text(_shown(title[:1].upper() + title[1:].replace("_", " "), "table")) if title else None
    if _is_record(plain, columns):
        table = Table(title=caption_title, show_header=False, box=None)
        table.add_column("field", style="bold", overflow="fold")
        table.add_column("value", overflow="fold")
        for k, v in plain.items():
            table.add_row(cell(k.replace("_", " ")), cell(v))
        return table
    cols, rows = _rows(plain, columns)
    table = Table(title=caption_title)
    for c in cols:
        table.add_column(Text(_shown(c.replace("_", " "), "table")), overflow="fold")
    for r in rows:
        table.add_row(*[cell(r.get(c)) for c in cols])
    if not rows:
        table.caption = "(none)"
    return table


def render_sections(sections: Sequence[Section], *, fmt: str = "table", json_data: Any = _WHOLE, out=None) -> None:
    """Several titled sections as one document (see the module docstring). JSON is
    ``json_data`` when given (the command's whole result), else an object keyed by title."""
    out = out or sys.stdout
    if fmt == "json":
        if json_data is _WHOLE:
            json_data = {s.title: s.data for s in sections}
        out.write(_json(to_plain(json_data)))
        return
    many = len(sections) > 1
    if fmt == "table":
        console = _console(out)
        for i, s in enumerate(sections):
            if i:
                console.print()
            console.print(_rich_table(_text_values(s.data), s.columns, s.title))
        return
    parts = []
    for s in sections:
        plain = _text_values(s.data)
        if fmt == "csv":
            head = f"# {_csv_cell(s.title)}\n" if many and s.title else ""
            parts.append(head + _csv(plain, s.columns))
        elif fmt == "markdown":
            head = f"## {_shown(s.title, fmt)}\n\n" if s.title else ""
            parts.append(head + _tabulated(plain, s.columns, fmt))
        else:
            head = f"{_shown(s.title, fmt)}\n" if s.title else ""
            parts.append(head + _tabulated(plain, s.columns, fmt))
    out.write("\n".join(parts))


def write_json(path, data: Any) -> None:
    """``data`` as the JSON document ``--format json`` prints, written to an output file."""
    from pathlib import Path

    from crm_cli.fileio.outfile import atomic_write

    text = _json(to_plain(data))
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def render(data: Any, *, fmt: str = "table", columns: list[str] | None = None, title: str | None = None, out=None) -> None:
    """One result or listing (the one-section document), or a :class:`Document`."""
    if isinstance(data, Document):
        render_sections(data.sections, fmt=fmt, json_data=data.whole, out=out)
        return
    render_sections([Section(title or "", data, columns)], fmt=fmt, json_data=data, out=out)


class _NullProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **kw) -> None:
        pass


class _RichProgress:
    def __init__(self, total: int | None, description: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(file=sys.stderr), transient=True,
        )
        self._total = total
        self._description = description

    def __enter__(self):
        self._p.__enter__()
        self._task = self._p.add_task(self._description, total=self._total)
        return self

    def __exit__(self, *exc):
        return self._p.__exit__(*exc)

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._task, n)

    def update(self, **kw) -> None:
        self._p.update(self._task, **kw)


def progress(*, total: int | None, description: str, enabled: bool):
    """A rich progress bar on a terminal; silent under cron, --quiet or without a TTY."""
    return _RichProgress(total, description) if enabled else _NullProgress()


def iter_progress(items: Iterable, bar) -> Iterable:
    for item in items:
        yield item
        bar.advance()
