"""Plain rows -> rich table | json | csv | plain | markdown (tabulate).

Services return frozen dataclasses (or lists of them, or dicts). ``render`` turns them
into JSON-safe values: points stay integers, money (Decimal) becomes a string with two
decimals, dates and times become ISO 8601. JSON is one document on stdout: an object
for a single result, an array for a listing.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

FORMATS = ("table", "json", "csv", "plain", "markdown")


def to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return to_plain(value.model_dump())
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


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


def render(data: Any, *, fmt: str = "table", columns: list[str] | None = None, title: str | None = None, out=None) -> None:
    out = out or sys.stdout
    plain = to_plain(data)
    if fmt == "json":
        out.write(json.dumps(plain, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "csv":
        import csv

        cols, rows = _rows(plain, columns)
        w = csv.writer(out, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
        return
    if fmt in ("plain", "markdown"):
        from tabulate import tabulate

        if isinstance(plain, dict) and columns is None:
            body = [[k, _cell(v)] for k, v in plain.items()]
            text = tabulate(body, headers=["field", "value"], tablefmt="plain" if fmt == "plain" else "github",
                            disable_numparse=True)
        else:
            cols, rows = _rows(plain, columns)
            text = tabulate([[_cell(r.get(c)) for c in cols] for r in rows], headers=cols,
                            tablefmt="plain" if fmt == "plain" else "github", disable_numparse=True)
        out.write(text + "\n")
        return
    # rich table
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, soft_wrap=False)
    if isinstance(plain, dict) and columns is None:
        table = Table(title=title, show_header=False, box=None if not console.is_terminal else None)
        table.add_column("field", style="bold")
        table.add_column("value")
        for k, v in plain.items():
            table.add_row(k.replace("_", " "), _cell(v))
    else:
        cols, rows = _rows(plain, columns)
        table = Table(title=title)
        for c in cols:
            table.add_column(c.replace("_", " "))
        for r in rows:
            table.add_row(*[_cell(r.get(c)) for c in cols])
        if not rows:
            table.caption = "(none)"
    console.print(table)


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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        from rich.console import Console

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
