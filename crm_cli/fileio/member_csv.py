"""Member files in CSV: UTF-8 (with or without BOM), the delimiter taken from the first line
(``,``, ``;`` or tab; a ``sep=;`` line is honoured), NUL bytes and other encodings refused
with a message that says how to save the file properly."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from crm_cli.fileio.member_columns import (
    BadFile,
    ReadInfo,
    find_header,
    missing_columns_error,
    no_header_error,
)

__all__ = ["read_csv"]


def read_csv(path: Path, info: ReadInfo) -> Iterator[tuple[int, dict]]:
    name = path.name
    raw = open(path, "rb")
    try:
        start = raw.read(4)
        if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise BadFile(f"{name}: the file is UTF-16 text (Excel 'Unicode Text'); save it as 'CSV UTF-8 (Comma delimited)'")
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        rownum = 0
        try:
            # The first non-blank line decides the delimiter (a "sep=;" line is honoured).
            first = None
            while True:
                line = text.readline(1 << 20)
                if line == "":
                    break
                if len(line) >= (1 << 20) and not line.endswith(("\n", "\r")):
                    raise BadFile(f"{name}: line {rownum + 1} is longer than 1 MB; this is not a member CSV file")
                if "\x00" in line:
                    raise _nul_error(name, rownum + 1)
                rownum += 1
                if line.strip():
                    first = line
                    break
            if first is None:
                raise BadFile(f"{name}: the file has no rows; fill in the member template and save it again")
            delimiter = ","
            if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
                delimiter = first.strip()[4]
                first = None
            else:
                counts = {d: first.count(d) for d in (",", ";", "\t")}
                best = max(counts, key=counts.get)
                if counts[best] > 0 and counts[","] == 0:
                    delimiter = best
            lines = _checked_lines(first, text, name)
            reader = csv.reader(lines, delimiter=delimiter, strict=False)
            records = _csv_records(reader, rownum - (0 if first is None else 1), name)

            def all_cells():
                for n, rec in records:
                    yield n, {i: v for i, v in enumerate(rec)}

            scan = all_cells()
            header = find_header(scan, name)
            if header is None:
                raise no_header_error(name)
            if header.missing:
                raise missing_columns_error(name, header)
            info.header_row = header.row
            info.columns = dict(header.texts)
            info.ignored = list(header.ignored)
            yield from _csv_rows(records, header.mapping)
        except UnicodeDecodeError as exc:
            raise _not_utf8_error(name, path, exc) from None
        except csv.Error as exc:
            msg = str(exc)
            if "NUL" in msg:
                raise _nul_error(name, None) from None
            if "field larger" in msg:
                raise BadFile(f"{name}: a cell is larger than {csv.field_size_limit():,} characters; this is not a member CSV file") from None
            raise BadFile(f"{name}: not a readable CSV file ({msg}); save it as 'CSV UTF-8 (Comma delimited)'") from None
    finally:
        raw.close()


def _csv_records(reader, offset: int, name: str):
    n = offset
    for rec in reader:
        n += 1
        yield n, rec


def _checked_lines(first: str | None, rest, name: str):
    """Lines for the csv reader; NUL bytes are refused (Python's csv accepts them)."""
    if first is not None:
        yield first
    n = 0
    for line in rest:
        n += 1
        if "\x00" in line:
            raise _nul_error(name, None)
        yield line


def _csv_rows(records, mapping: dict):
    items = sorted(mapping.items())
    for n, rec in records:
        width = len(rec)
        row = {}
        for idx, f in items:
            if idx < width:
                v = rec[idx]
                if v:
                    row[f] = v
        if row:
            for v in row.values():
                if v.strip():
                    yield n, row
                    break


def _nul_error(name: str, row: int | None) -> BadFile:
    where = f" (row {row})" if row else ""
    return BadFile(
        f"{name}: the file contains NUL bytes{where}, so it is not plain UTF-8 text "
        "(maybe UTF-16 or a binary file); save it as 'CSV UTF-8 (Comma delimited)'"
    )


def _not_utf8_error(name: str, path: Path, exc: UnicodeDecodeError) -> BadFile:
    hint = ""
    try:
        with open(path, "rb") as fh:
            sample = fh.read(1 << 16)
        decoded = sample.decode("cp874", errors="replace")
        if sum(1 for ch in decoded if "\u0e00" <= ch <= "\u0e7f") >= 3:
            hint = " (it looks like Thai Windows-874/TIS-620 text)"
    except OSError:
        pass
    return BadFile(
        f"{name}: the file is not UTF-8{hint}; in Excel use Save As > 'CSV UTF-8 (Comma delimited)', "
        "or save as .xlsx"
    )
