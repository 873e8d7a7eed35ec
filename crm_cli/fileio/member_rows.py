"""Member bulk import: stream rows out of .xlsx/.csv files and validate them.

Two steps, both streaming:

* :func:`read_rows` yields ``(row_number, values)`` for every non-blank data row.
  ``row_number`` is the spreadsheet row number (the header is usually row 1);
  ``values`` maps the field names ``phone``, ``name``, ``points``, ``gender``,
  ``birthday``, ``email`` to raw cell values (``str``, ``int``, ``float``, ``bool``,
  ``date``, ``datetime``); a blank cell's field is simply absent.
* :func:`validate_rows` checks every row and returns every good row as a
  :class:`MemberRow` and every problem as a :class:`RowError` (row, column, value,
  reason) -- all of them in one run. :func:`iter_validated` is the same check as a
  stream, for imports too large to hold every row in memory.

Problems with the file as a whole (not a spreadsheet, damaged, zip bomb, no
header, a required column missing, not UTF-8, NUL bytes, too many rows) raise
:class:`BadFile` with a one-line message that says what is wrong and how to fix it.

Decisions
---------
* **Headers.** Thai or English, in any order; ``*`` markers, spaces, dashes, dots,
  underscores and case are ignored, and a header cell may carry both languages
  (``เบอร์โทรศัพท์* / Phone*``, as our template writes them). The aliases are in
  :data:`HEADER_ALIASES`. Unknown columns are ignored (listed in
  :attr:`ReadInfo.ignored`). The header is the first row, within the first
  10 non-blank rows, that names at least two known columns (so a title row above
  it is tolerated). A column named twice is a file error.
* **Sheets.** The first sheet whose header has every required column is read; the
  others are ignored (so a help sheet placed first does no harm).
* **Blank rows** (every known cell empty or only spaces) are skipped wherever they
  are and do not count toward the row limit.
* **Formulas.** A formula cell is read as its last computed value (what Excel
  shows). A *text* value that starts with ``=`` in the name or email column is
  **rejected** ("looks like a spreadsheet formula") rather than silently rewritten:
  it is either a CSV formula-injection attempt or a mistake, and the operator
  should see it. Exports neutralize such cells anyway
  (:func:`crm_cli.fileio.spreadsheet.neutralize`).
* **Huge cells.** Any cell longer than :data:`MAX_CELL_CHARS` (1,000) characters is
  a row error; names are limited to 200 characters, emails to 254.
* **Birthdays.** Date or date-time cells, or text ``dd/mm/yyyy`` (also ``-`` or
  ``.`` separators), ``yyyy-mm-dd`` (optionally with a time), or ``15 มี.ค. 2533`` /
  ``15 Mar 1990``. A year above 2400 is a Buddhist-Era year (minus 543), also in
  date cells. Two-digit years, impossible dates, dates before 1900 and future
  dates (Bangkok today) are rejected.
* **Points.** A non-negative whole number up to :data:`MAX_POINTS`: integer cells,
  ``10.0`` from numeric cells, text ``10``, ``1,000`` or ``10.00``; negative,
  fractional (``10.5``), text, TRUE/FALSE and dates are rejected.
* **Gender.** ชาย / หญิง / อื่นๆ / ไม่ระบุ or male / female / other / unspecified /
  M / F (case-insensitive; a few more spellings, see :data:`GENDERS`) map to
  ``male`` / ``female`` / ``other`` / ``unspecified``.
* **Duplicates.** Phones are compared after normalization; the later row gets the
  error and it names the first row.

XLSX reading
------------
``python-calamine`` parses fastest but builds the whole sheet in memory (about
600 MB for 1,000,000 rows of six columns) and, worse, sizes that grid from the
cells' extremes: a 1 KB file with one cell in ``A1`` and one in ``XFD1048576``
makes it request 512 GB and *abort the process* (a Rust allocation failure cannot
be caught). So an untrusted workbook is never handed to it. Instead the sheet XML
is streamed out of the zip and parsed chunk by chunk: a regular-expression scanner
handles the cell layout every common writer produces (Excel, LibreOffice, Google
Sheets, openpyxl, xlsxwriter), checks that it accounted for every ``<c>`` element
in the chunk, and hands any chunk it cannot fully account for to ElementTree.
Shared strings are loaded lazily, only as far as the rows read so far need them,
into one UTF-8 buffer plus an offset array (a Python list of a million strings
would cost ~200 MB). Memory stays bounded (about 1 MB of XML at a time plus the
shared strings) and reading stops as soon as the caller stops, e.g. at the row
limit. Before any parsing, the zip directory is checked: sizes, compression ratios,
entry count, and a sheet ``<dimension>`` that claims the sheet's last row.
"""

from __future__ import annotations

import csv
import html
import io
import math
import posixpath
import re
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate, islice
from pathlib import Path
from typing import Iterable, Iterator
from xml.etree import ElementTree as ET

from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.phone import InvalidPhone, normalize_phone

__all__ = [
    "BadFile",
    "MemberRow",
    "RowError",
    "ValidationResult",
    "ReadInfo",
    "read_rows",
    "validate_rows",
    "iter_validated",
    "FIELDS",
    "REQUIRED_FIELDS",
    "HEADER_ALIASES",
    "FIELD_LABELS",
    "GENDERS",
    "EXAMPLE_NAME",
    "DEFAULT_MAX_ROWS",
    "MAX_CELL_CHARS",
    "MAX_POINTS",
]

DEFAULT_MAX_ROWS = 5000
MAX_CELL_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_POINTS = 1_000_000_000

FIELDS = ("phone", "name", "points", "gender", "birthday", "email")
REQUIRED_FIELDS = ("phone", "name", "points")

#: Field -> the header names accepted for it (compared after :func:`_header_key`).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "เบอร์โทรศัพท์", "เบอร์โทร", "เบอร์", "โทรศัพท์", "เบอร์มือถือ", "มือถือ",
        "phone", "phone number", "phone no", "mobile", "mobile number", "tel", "telephone",
    ),
    "name": (
        "ชื่อ - นามสกุล", "ชื่อ-นามสกุล", "ชื่อ นามสกุล", "ชื่อและนามสกุล", "ชื่อ",
        "full name", "fullname", "name", "customer name", "member name",
    ),
    "points": (
        "จำนวนพอยท์", "พอยท์", "พอยต์", "จำนวนพอยต์", "แต้ม", "จำนวนแต้ม", "คะแนน",
        "points", "point", "pts",
    ),
    "gender": ("เพศ", "gender", "sex"),
    "birthday": ("วันเกิด", "วันเดือนปีเกิด", "birthday", "birth date", "birthdate", "date of birth", "dob"),
    "email": ("อีเมล", "อีเมล์", "email", "e-mail", "email address", "mail"),
}

#: Field -> the header text our template writes (Thai / English; * = required).
FIELD_LABELS: dict[str, str] = {
    "phone": "เบอร์โทรศัพท์* / Phone*",
    "name": "ชื่อ - นามสกุล* / Full name*",
    "points": "จำนวนพอยท์* / Points*",
    "gender": "เพศ / Gender",
    "birthday": "วันเกิด / Birthday",
    "email": "อีเมล / Email",
}

#: The name in the template's example row; a row that still carries it is refused.
EXAMPLE_NAME = "ตัวอย่าง สมชาย ใจดี (ลบแถวนี้ / delete this row)"

#: Accepted gender spellings (compared case-insensitively, spaces removed).
GENDERS: dict[str, str] = {
    "ชาย": "male", "ผู้ชาย": "male", "male": "male", "m": "male", "man": "male",
    "หญิง": "female", "ผู้หญิง": "female", "female": "female", "f": "female", "woman": "female",
    "อื่นๆ": "other", "อื่น": "other", "อื่นๆๆ": "other", "เพศทางเลือก": "other", "other": "other", "o": "other",
    "ไม่ระบุ": "unspecified", "ไม่ต้องการระบุ": "unspecified", "unspecified": "unspecified",
    "notspecified": "unspecified", "prefernottosay": "unspecified", "u": "unspecified",
}

# Limits for the zip container (checked on the directory before any parsing).
MAX_ZIP_ENTRIES = 10_000
MAX_PART_BYTES = 1 << 30            # one XML part, uncompressed
MAX_TOTAL_BYTES = 2 << 30           # all parts we may read, uncompressed
MAX_RATIO = 100                     # uncompressed / compressed, for parts over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 4 << 20
MAX_SMALL_PART = 32 << 20           # workbook.xml, styles.xml, rels
MAX_ROW_BYTES = 32 << 20            # one <row> element
EXCEL_MAX_ROW = 1_048_576
CHUNK = 1 << 20
HEADER_SCAN_ROWS = 10


class BadFile(InvalidInput, ValueError):
    """The file as a whole cannot be imported; ``str(exc)`` is one line saying what
    is wrong and how to fix it. (An :class:`InvalidInput`, so the CLI reports it as
    a bad input file.)"""


@dataclass(frozen=True, slots=True)
class MemberRow:
    row: int
    phone: str                      # E.164, e.g. +66812345678
    name: str
    points: int
    gender: str | None = None       # male | female | other | unspecified
    birthday: date | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str                     # a field name: phone, name, points, gender, birthday, email
    value: str                      # the cell as text (shortened if long)
    message: str


@dataclass
class ValidationResult:
    rows: list[MemberRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0              # non-blank data rows read

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def points_total(self) -> int:
        return sum(r.points for r in self.rows)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


@dataclass
class ReadInfo:
    """Filled in by :func:`read_rows` once the header is found."""

    kind: str = ""                                  # "xlsx" or "csv"
    sheet: str | None = None                        # xlsx: the sheet read
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)   # field -> header text in the file
    ignored: list[str] = field(default_factory=list)        # header texts not recognised


# =============================================================================
# Headers
# =============================================================================

_HEADER_STRIP = re.compile(r"[\s*\-_.:'\"]+")
_HEADER_SPLIT = re.compile(r"[/|()\[\]\n]+")


def _header_key(text: str) -> str:
    return _HEADER_STRIP.sub("", text).casefold()


_ALIAS_TO_FIELD = {_header_key(a): f for f, aliases in HEADER_ALIASES.items() for a in aliases}


def match_header(text: object) -> str | None:
    """The field a header cell names, or None."""
    if text is None:
        return None
    s = str(text)
    if len(s) > 200:
        return None
    key = _header_key(s)
    if key in _ALIAS_TO_FIELD:
        return _ALIAS_TO_FIELD[key]
    found = {_ALIAS_TO_FIELD.get(_header_key(part)) for part in _HEADER_SPLIT.split(s)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _is_blank(v) -> bool:
    return v is None or (v.__class__ is str and not v.strip())


@dataclass
class _Header:
    row: int
    mapping: dict                 # column key -> field
    texts: dict                   # field -> header text
    ignored: list

    @property
    def missing(self) -> list[str]:
        return [f for f in REQUIRED_FIELDS if f not in self.texts]


def _find_header(rows: Iterator[tuple[int, dict]], where: str) -> _Header | None:
    """Look at the first non-blank rows for the header. ``rows`` yield
    (row_number, {column_key: value}) with all columns."""
    best = None
    seen = 0
    for rownum, cells in rows:
        if not any(not _is_blank(v) for v in cells.values()):
            continue
        seen += 1
        mapping, texts, ignored, first_col = {}, {}, [], {}
        for key, value in cells.items():
            if _is_blank(value):
                continue
            f = match_header(value)
            if f is None:
                ignored.append(str(value).strip())
                continue
            if f in texts:
                raise BadFile(
                    f"{where}: row {rownum} names the {f} column twice "
                    f"({_col_label(first_col[f])} '{texts[f]}' and {_col_label(key)} '{str(value).strip()}'); "
                    "delete or rename one of them"
                )
            mapping[key] = f
            texts[f] = str(value).strip()
            first_col[f] = key
        if len(texts) >= 2 or (len(texts) == 1 and not ignored):
            h = _Header(rownum, mapping, texts, ignored)
            if not h.missing:
                return h
            if best is None or len(h.texts) > len(best.texts):
                best = h
            return best
        if seen >= HEADER_SCAN_ROWS:
            break
    return best


def _col_label(key) -> str:
    if isinstance(key, int):
        return f"column {key + 1}"
    if isinstance(key, bytes):
        key = key.decode()
    return f"column {key}"


_REQUIRED_TEXT = "เบอร์โทรศัพท์* (phone), ชื่อ - นามสกุล* (full name), จำนวนพอยท์* (points)"


def _missing_columns_error(where: str, h: _Header) -> BadFile:
    names = ", ".join(f"{FIELD_LABELS[f]}" for f in h.missing)
    return BadFile(
        f"{where}: the header in row {h.row} has no {names} column; "
        f"add it (the required columns are {_REQUIRED_TEXT}) or start from `crm member template`"
    )


def _no_header_error(where: str) -> BadFile:
    return BadFile(
        f"{where}: no header row found; the first row must name the columns "
        f"{_REQUIRED_TEXT} and optionally เพศ (gender), วันเกิด (birthday), อีเมล (email) "
        "-- start from `crm member template`"
    )


# =============================================================================
# Entry point
# =============================================================================

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def read_rows(path: str | Path, *, info: ReadInfo | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(row_number, {field: raw value})`` for every non-blank data row of an
    .xlsx or .csv member file, streaming. Raises :class:`BadFile` (when iteration
    starts, or at the damaged spot) for problems with the file as a whole."""
    path = Path(path)
    kind = _file_kind(path)
    if info is None:
        info = ReadInfo()
    info.kind = kind
    if kind == "xlsx":
        return _read_xlsx(path, info)
    return _read_csv(path, info)


def _file_kind(path: Path) -> str:
    name = path.name
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise BadFile(f"{name}: file not found; check the path") from None
    except IsADirectoryError:
        raise BadFile(f"{name}: is a directory, not a file") from None
    except PermissionError:
        raise BadFile(f"{name}: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise BadFile(f"{name}: cannot be read ({exc.strerror or exc}); check the path") from None
    ext = path.suffix.lower()
    if not head:
        raise BadFile(f"{name}: the file is empty; fill in the member template and save it again")
    is_zip = head[:4] in _ZIP_MAGIC
    if head == _OLE_MAGIC:
        raise BadFile(
            f"{name}: this is an old Excel 97-2003 (.xls) or password-protected workbook; "
            "remove any password and save it as .xlsx (Excel Workbook) or CSV UTF-8"
        )
    if ext in (".xlsx", ".xlsm"):
        if not is_zip:
            if head.lstrip().lower().startswith((b"<!doc", b"<html", b"<?xml", b"<table")):
                raise BadFile(f"{name}: this is a web page or XML file renamed to .xlsx, not a workbook; open it in Excel and save as .xlsx")
            raise BadFile(f"{name}: not a valid .xlsx workbook (it is not a zip file); open it in Excel and save as .xlsx, or export CSV UTF-8")
        return "xlsx"
    if ext in (".csv", ".txt"):
        if is_zip:
            raise BadFile(f"{name}: this is an Excel workbook saved with a {ext} name; rename it to .xlsx")
        return "csv"
    if ext in (".xls", ".xlsb", ".ods", ".numbers"):
        raise BadFile(f"{name}: {ext} files are not supported; save the sheet as .xlsx or CSV UTF-8")
    raise BadFile(f"{name}: unsupported file type '{ext or 'no extension'}'; use .xlsx or .csv (UTF-8)")


# =============================================================================
# CSV
# =============================================================================

def _read_csv(path: Path, info: ReadInfo) -> Iterator[tuple[int, dict]]:
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
            header = _find_header(scan, name)
            if header is None:
                raise _no_header_error(name)
            if header.missing:
                raise _missing_columns_error(name, header)
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


# =============================================================================
# XLSX: container
# =============================================================================

_NS_REL_OFFICEDOC = "/officeDocument"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Workbook:
    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise BadFile(f"{self.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None
        except (OSError, EOFError, ValueError) as exc:
            raise BadFile(f"{self.name}: the workbook cannot be opened ({exc}); open it in Excel and save it again") from None
        try:
            self._check_directory()
            self.names = {i.filename.lower(): i.filename for i in self.zf.infolist()}
            self._load_workbook()
        except BaseException:
            self.zf.close()
            raise

    def close(self):
        self.zf.close()

    # -- zip bomb & damage checks --------------------------------------------
    def _check_directory(self):
        infos = self.zf.infolist()
        if not infos:
            raise BadFile(f"{self.name}: the workbook is empty (no parts in the zip); open it in Excel and save it again")
        if len(infos) > MAX_ZIP_ENTRIES:
            raise BadFile(f"{self.name}: the zip holds {len(infos):,} parts, far more than a workbook has; refusing it")
        total = 0
        for i in infos:
            if i.flag_bits & 0x1:
                raise BadFile(f"{self.name}: the workbook is encrypted; remove the password and save it again")
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BadFile(f"{self.name}: part {i.filename} uses an unsupported compression; open the file in Excel and save it again")
            size = i.file_size
            if size > MAX_PART_BYTES:
                raise BadFile(
                    f"{self.name}: part {i.filename} would unpack to {size / 2**20:,.0f} MB "
                    f"(limit {MAX_PART_BYTES / 2**20:,.0f} MB); this is a zip bomb or far too big -- split the data into smaller files"
                )
            if size > RATIO_MIN_BYTES and size > MAX_RATIO * max(i.compress_size, 1):
                raise BadFile(
                    f"{self.name}: part {i.filename} would unpack {size / max(i.compress_size, 1):,.0f} times its size "
                    f"({size / 2**20:,.0f} MB); refusing a likely zip bomb -- export the sheet again from Excel"
                )
            total += size
        if total > MAX_TOTAL_BYTES:
            raise BadFile(
                f"{self.name}: the workbook would unpack to {total / 2**20:,.0f} MB "
                f"(limit {MAX_TOTAL_BYTES / 2**20:,.0f} MB); split the data into smaller files"
            )

    def part(self, name: str) -> str | None:
        return self.names.get(name.lstrip("/").lower())

    def read_small(self, name: str) -> bytes:
        real = self.part(name)
        if real is None:
            raise BadFile(f"{self.name}: the workbook is missing its part {name}; open it in Excel and save it again")
        info = self.zf.getinfo(real)
        if info.file_size > MAX_SMALL_PART:
            raise BadFile(f"{self.name}: part {name} is {info.file_size / 2**20:,.0f} MB, far too big; open it in Excel and save it again")
        try:
            return self.zf.read(real)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BadFile(f"{self.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def parse_small(self, name: str):
        data = self.read_small(name)
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
            raise BadFile(f"{self.name}: part {name} declares XML entities, which workbooks never do; refusing it")
        try:
            return ET.fromstring(data)
        except ET.ParseError as exc:
            raise BadFile(f"{self.name}: part {name} is not valid XML ({exc}); open the file in Excel and save it again") from None

    def _rels(self, part_name: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, absolute target) for a part."""
        d, base = posixpath.split(part_name)
        rels_name = posixpath.join(d, "_rels", base + ".rels")
        if self.part(rels_name) is None:
            return {}
        root = self.parse_small(rels_name)
        out = {}
        for rel in root:
            if _local(rel.tag) != "Relationship":
                continue
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                full = target.lstrip("/")
            else:
                full = posixpath.normpath(posixpath.join(d, target))
            out[rel.get("Id")] = (rel.get("Type") or "", full)
        return out

    def _load_workbook(self):
        if self.part("[Content_Types].xml") is None and self.part("xl/workbook.xml") is None:
            raise BadFile(f"{self.name}: this zip file is not an Excel workbook; save the sheet as .xlsx or CSV UTF-8")
        wb_name = "xl/workbook.xml"
        for rtype, target in self._rels("").values():
            if rtype.endswith(_NS_REL_OFFICEDOC):
                wb_name = target
        if self.part(wb_name) is None:
            if self.part("xl/workbook.bin") is not None:
                raise BadFile(f"{self.name}: this is a binary workbook (.xlsb); save it as .xlsx (Excel Workbook)")
            raise BadFile(f"{self.name}: this zip file is not an Excel workbook (no xl/workbook.xml); save the sheet as .xlsx")
        root = self.parse_small(wb_name)
        rels = self._rels(wb_name)
        self.date1904 = False
        self.sheets: list[tuple[str, str]] = []
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "workbookPr":
                self.date1904 = (el.get("date1904") or "").lower() in ("1", "true")
            elif tag == "sheet":
                rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
                rel = rels.get(rid)
                if rel and rel[0].endswith("/worksheet") and self.part(rel[1]):
                    self.sheets.append((el.get("name") or "?", self.part(rel[1])))
        if not self.sheets:
            raise BadFile(f"{self.name}: the workbook has no worksheets; put the members on a sheet and save again")
        sst_name = styles_name = None
        for rtype, target in rels.values():
            if rtype.endswith("/sharedStrings"):
                sst_name = self.part(target)
            elif rtype.endswith("/styles"):
                styles_name = self.part(target)
        self.date_styles = self._date_styles(styles_name) if styles_name else []
        self.sst = _SharedStrings(self, sst_name)

    def _date_styles(self, styles_name: str) -> list[bool]:
        root = self.parse_small(styles_name)
        formats: dict[int, str] = {}
        xfs: list[bool] = []
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                for nf in el:
                    try:
                        formats[int(nf.get("numFmtId", "-1"))] = nf.get("formatCode") or ""
                    except ValueError:
                        pass
            elif tag == "cellXfs":
                for xf in el:
                    try:
                        fid = int(xf.get("numFmtId", "0"))
                    except ValueError:
                        fid = 0
                    xfs.append(fid)
        return [_is_date_format_id(fid, formats.get(fid)) for fid in xfs]

    # -- sheets ----------------------------------------------------------------
    def chunks(self, sheet_part: str, colmap: dict | None, after: int = 0, piece: int | None = None):
        return _SheetReader(self, sheet_part).chunks(colmap, after, piece)


_BUILTIN_DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59)) | set(range(71, 82))
_FMT_QUOTED = re.compile(r'"[^"]*"|\\.|_.|\*.')
_FMT_ELAPSED = re.compile(r"\[(h+|m+|s+)\]", re.I)
_FMT_BRACKET = re.compile(r"\[[^\]]*\]")
_FMT_NOT_DATE = re.compile(r"general|e[+-]", re.I)
_FMT_DATE_TOKEN = re.compile(r"[dmyhsbgeวดปชนท]", re.I)


def _is_date_format_id(fid: int, code: str | None) -> bool:
    if code is None:
        return fid in _BUILTIN_DATE_IDS
    return _is_date_format(code)


def _is_date_format(code: str) -> bool:
    c = _FMT_QUOTED.sub("", code)
    if _FMT_ELAPSED.search(c):
        return True
    c = _FMT_BRACKET.sub("", c).split(";")[0]
    c = _FMT_NOT_DATE.sub("", c)
    return _FMT_DATE_TOKEN.search(c) is not None


def _excel_date(serial: float, date1904: bool):
    """An Excel serial day number as a date (whole) or datetime (with a time)."""
    if not math.isfinite(serial) or serial < 0 or serial > 2958465:
        return serial
    if date1904:
        base = datetime(1904, 1, 1)
    elif serial < 60:
        base = datetime(1899, 12, 31)
    elif serial < 61:
        return serial  # 1900-02-29 does not exist (a Lotus 1-2-3 bug Excel keeps)
    else:
        base = datetime(1899, 12, 30)
    days = int(serial)
    frac = serial - days
    if frac == 0:
        return (base + timedelta(days=days)).date()
    return base + timedelta(days=days, seconds=round(frac * 86400))


# =============================================================================
# XLSX: text helpers
# =============================================================================

_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _unescape_text(s: str) -> str:
    if "&" in s:
        s = html.unescape(s)
    if "_x" in s:
        s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    return s


def _x_unescape(s: str) -> str:
    """Only the OOXML ``_xHHHH_`` escapes (for text ElementTree already decoded)."""
    if "_x" in s:
        s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    return s


def _xml_text(b: bytes) -> str:
    """Character data of an XML fragment with no elements left in it."""
    s = b.decode("utf-8", errors="replace")
    if "<![CDATA[" in s:
        parts = _CDATA.split(s)
        return "".join(_unescape_text(p) if i % 2 == 0 else p for i, p in enumerate(parts))
    return _unescape_text(s)


class _Regexes:
    """Regular expressions for a main-namespace prefix ('' or e.g. 'x:')."""

    _cache: dict[bytes, "_Regexes"] = {}

    def __init__(self, p: bytes):
        e = re.escape(p)
        self.p = p
        # (column letters, row digits, other attributes, <v> text, simple inline text, any other content)
        self.cell = re.compile(
            rb"<" + e + rb'c r="([A-Z]{1,3})(\d+)"([^>/]*)(?:/>|>(?:<' + e
            + rb"v>([^<]*)</" + e + rb"v>|<" + e + rb"is><" + e + rb't(?: xml:space="preserve")?>([^<]*)</'
            + e + rb"t></" + e + rb"is>|(.*?))</" + e + rb"c>)",
            re.S,
        )
        self.cell_start = re.compile(rb"<" + e + rb"c[\s/>]")
        self.row_start = b"<" + p + b"row"
        self.sheetdata_start = re.compile(rb"<" + e + rb"sheetData(\s[^>]*)?(/?)>")
        self.sheetdata_end = b"</" + p + b"sheetData>"
        self.v = re.compile(rb"<" + e + rb"v(?:\s[^>]*)?>(.*?)</" + e + rb"v>", re.S)
        self.inline = re.compile(rb"<" + e + rb"is(?:\s[^>]*)?>(.*?)</" + e + rb"is>", re.S)
        self.t = re.compile(rb"<" + e + rb"t(?:\s[^>]*)?>(.*?)</" + e + rb"t>", re.S)
        self.rph = re.compile(rb"<" + e + rb"rPh\b.*?</" + e + rb"rPh>", re.S)
        self.si_simple = re.compile(
            rb"<" + e + rb"si><" + e + rb't(?: xml:space="preserve")?>([^<&]*)</' + e + rb"t></" + e + rb"si>"
        )
        self.si_any = re.compile(rb"<" + e + rb"si(?:\s[^>]*)?>(.*?)</" + e + rb"si>|<" + e + rb"si\s*/>", re.S)
        self.si_start = re.compile(rb"<" + e + rb"si[\s/>]")
        self.si_end = b"</" + p + b"si>"

    @classmethod
    def get(cls, p: bytes) -> "_Regexes":
        r = cls._cache.get(p)
        if r is None:
            r = cls._cache[p] = cls(p)
        return r

    def rich_text(self, content: bytes) -> str:
        if b"rPh" in content:
            content = self.rph.sub(b"", content)
        return _xml_text(b"".join(self.t.findall(content)))


_ROOT_TAG = re.compile(rb"<(?!\?|!)([\w.-]+:)?([\w.-]+)([^>]*)>")
_NSDECL = re.compile(rb"""xmlns(?::[\w.-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")


def _root_prefix(head: bytes, what: str, name: str) -> tuple[bytes, bytes]:
    m = _ROOT_TAG.search(head)
    if not m:
        raise BadFile(f"{name}: the {what} part is not valid XML; open the file in Excel and save it again")
    prefix = m.group(1) or b""
    decls = b" ".join(_NSDECL.findall(m.group(3)))
    return prefix, decls


# =============================================================================
# XLSX: shared strings, loaded lazily into one buffer
# =============================================================================

class _SharedStrings:
    def __init__(self, wb: _Workbook, part: str | None):
        self.wb = wb
        self.blob = bytearray()
        self.offs = array("I", [0])
        self._stream = None
        self._buf = b""
        self._rx = None
        self._part = part
        self._started = False

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def get(self, i: int) -> str:
        offs = self.offs
        while i + 1 >= len(offs):
            if not self._more():
                raise BadFile(
                    f"{self.wb.name}: a cell refers to shared text #{i} but the workbook has only "
                    f"{len(offs) - 1}; the file is damaged -- open it in Excel and save it again"
                )
        return self.blob[offs[i]:offs[i + 1]].decode("utf-8")

    def _more(self) -> bool:
        """Parse the next chunk of sharedStrings.xml; False at its end."""
        if self._part is None:
            return False
        try:
            if not self._started:
                self._started = True
                self._stream = self.wb.zf.open(self._part)
                head = b""
                while True:
                    chunk = self._stream.read(CHUNK)
                    head += chunk
                    if _ROOT_TAG.search(head) or not chunk or len(head) > MAX_SMALL_PART:
                        break
                prefix, _ = _root_prefix(head, "shared strings", self.wb.name)
                self._rx = _Regexes.get(prefix)
                self._buf = head
                self._process_available(final=not chunk)
                if not chunk:
                    self.close()
                return True
            if self._stream is None:
                return False
            chunk = self._stream.read(CHUNK)
            if not chunk:
                self._process_available(final=True)
                self.close()
                return True
            self._buf += chunk
            self._process_available(final=False)
            return True
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BadFile(f"{self.wb.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def _process_available(self, final: bool):
        rx = self._rx
        buf = self._buf
        if final:
            end = len(buf)
        else:
            end = buf.rfind(rx.si_end)
            if end < 0:
                if len(buf) > MAX_ROW_BYTES:
                    raise BadFile(f"{self.wb.name}: a text cell is larger than {MAX_ROW_BYTES >> 20} MB; this is not a member list")
                return
            end += len(rx.si_end)
        part, self._buf = buf[:end], buf[end:]
        if not part:
            return
        texts = rx.si_simple.findall(part)
        n_si = len(rx.si_start.findall(part))
        if len(texts) == n_si:
            joined = b"".join(texts)
            if b"_x" not in joined:
                base = self.offs[-1]
                self.blob += joined
                self.offs.extend(islice(accumulate(map(len, texts), initial=base), 1, None))
                return
        for m in rx.si_any.finditer(part):
            content = m.group(1)
            if not content:
                s = b""
            else:
                s = rx.rich_text(content).encode("utf-8")
            self.blob += s
            self.offs.append(len(self.blob))


# =============================================================================
# XLSX: sheet streaming
# =============================================================================

class _SheetReader:
    def __init__(self, wb: _Workbook, part: str):
        self.wb = wb
        self.part = part
        self.dimension: str | None = None

    def chunks(self, colmap: dict | None, after: int = 0, piece: int | None = None) -> Iterator[list]:
        """Yield lists of (row number, {key: value}) for rows after ``after``, about
        ``piece`` bytes of XML at a time. With a ``colmap`` ({b'A': 'phone', ...})
        only those columns are kept, keyed by field; without, every column is kept,
        keyed by its letters (bytes)."""
        wb = self.wb
        try:
            with wb.zf.open(self.part) as f:
                yield from self._chunks(f, colmap, after, piece or CHUNK)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BadFile(f"{wb.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def _chunks(self, f, colmap, after, piece):
        wb = self.wb
        name = wb.name
        # ---- the head, up to <sheetData> ----
        buf = b""
        while True:
            chunk = f.read(min(CHUNK, max(piece, 1 << 16)))
            buf += chunk
            if _ROOT_TAG.search(buf) is not None:
                prefix, nsdecls = _root_prefix(buf, "sheet", name)
                rx = _Regexes.get(prefix)
                m = rx.sheetdata_start.search(buf)
                if m is not None:
                    break
            if not chunk:
                return  # no sheetData: an empty sheet
            if len(buf) > MAX_SMALL_PART:
                raise BadFile(f"{name}: the sheet XML has no data section in its first {MAX_SMALL_PART >> 20} MB; open the file in Excel and save it again")
        dim = re.search(rb"<" + re.escape(prefix) + rb'dimension\s+ref="([^"]*)"', buf[: m.start()])
        if dim:
            self.dimension = dim.group(1).decode("ascii", "replace")
            last = re.findall(r"\d+", self.dimension.split(":")[-1])
            if last and int(last[-1]) >= EXCEL_MAX_ROW:
                raise BadFile(
                    f"{name}: the sheet claims {EXCEL_MAX_ROW:,} rows (dimension {self.dimension}), "
                    "so it was formatted or filled to Excel's last row or the data was cut off; "
                    "copy only the member rows into a new sheet and save again"
                )
        if m.group(2) == b"/":
            return  # <sheetData/>
        buf = buf[m.end():]
        ctx = _CellContext(wb, rx, nsdecls)
        end_tag = rx.sheetdata_end
        row_tag = rx.row_start
        eof = False
        while True:
            # Cut off whole rows: everything before the last row start within `piece`.
            end = buf.find(end_tag)
            if end >= 0:
                cut = _last_row_start(buf, row_tag, piece) if end > piece else 0
                if cut <= 0:
                    yield ctx.parse(buf[:end], colmap, after)
                    return
                part, buf = buf[:cut], buf[cut:]
                yield ctx.parse(part, colmap, after)
                continue
            if len(buf) >= piece or eof:
                cut = _last_row_start(buf, row_tag, piece)
                if cut <= 0 and len(buf) > piece:
                    cut = _last_row_start(buf, row_tag, len(buf))
                if cut > 0:
                    part, buf = buf[:cut], buf[cut:]
                    yield ctx.parse(part, colmap, after)
                    continue
                if eof:
                    # No closing </sheetData>: a truncated sheet; what is left must parse.
                    if buf.strip():
                        yield ctx.parse(buf, colmap, after)
                    return
            if len(buf) > MAX_ROW_BYTES:
                raise BadFile(f"{name}: one row of the sheet is larger than {MAX_ROW_BYTES / 2**20:g} MB; this is not a member list")
            chunk = f.read(piece)
            if chunk:
                buf += chunk
            else:
                eof = True


def _last_row_start(buf: bytes, tag: bytes, limit: int) -> int:
    """Where the last <row> element that starts before ``limit`` begins (0 or -1: none)."""
    pos = min(len(buf), limit)
    n = len(tag)
    while True:
        pos = buf.rfind(tag, 0, pos)
        if pos <= 0:
            return pos
        if buf[pos + n:pos + n + 1] in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
            return pos


_K_SST, _K_NUMBER, _K_DATE = "s", "n", "n-date"
_ATTR_T = re.compile(rb'\bt="([^"]*)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')


class _AllColumns(dict):
    """A column map that keeps every column, keyed by its letters."""

    def get(self, key, default=None):
        return key


class _CellContext:
    """Turns chunks of <row> elements into rows of Python values."""

    def __init__(self, wb: _Workbook, rx: _Regexes, nsdecls: bytes):
        self.wb = wb
        self.rx = rx
        self.nsdecls = nsdecls
        self.kinds: dict[bytes, str] = {}
        self.dates: dict[bytes, object] = {}
        self.last_row = 0
        self.date_styles = wb.date_styles
        self.date1904 = wb.date1904
        self.sst = wb.sst

    def kind(self, attrs: bytes) -> str:
        """The cell kind for a cell's attributes (other than r): one of the _K_*
        codes, or the raw t="..." value for rarer types (b, e, d, str, inlineStr)."""
        k = self.kinds.get(attrs)
        if k is None:
            mt = _ATTR_T.search(attrs)
            ms = _ATTR_S.search(attrs)
            t = mt.group(1).decode("ascii", "replace") if mt else "n"
            if t == "s":
                k = _K_SST
            elif t == "n":
                k = _K_NUMBER
                if ms is not None:
                    si = int(ms.group(1))
                    if si < len(self.date_styles) and self.date_styles[si]:
                        k = _K_DATE
            else:
                k = t
            self.kinds[attrs] = k
        return k

    def parse(self, part: bytes, colmap: dict | None, after: int) -> list:
        """The rows of a chunk of whole <row> elements, as a list of
        (row number, {key: value}); rows with no kept cells are left out."""
        rx = self.rx
        cells = rx.cell.findall(part)
        if len(cells) != len(rx.cell_start.findall(part)):
            return self.parse_et(part, colmap, after)
        if colmap is None:
            colmap = _AllColumns()
        get = colmap.get
        out = []
        emit = out.append
        sst = self.sst
        blob, offs = sst.blob, sst.offs
        kinds = self.kinds
        dates = self.dates
        date1904 = self.date1904
        cur = None
        row = None
        for col, rn, attrs, v, istr, other in cells:
            if rn != cur:
                cur = rn
                row = {}
                emit((rn, row))
            key = get(col)
            if key is None:
                continue
            if istr:
                row[key] = _xml_text(istr) if (b"&" in istr or b"_x" in istr) else istr.decode("utf-8")
                continue
            code = kinds.get(attrs)
            if code is None:
                code = self.kind(attrs)
            if other:
                v = self.from_content(code, other)
                if v is None:
                    continue
                if v.__class__ is str:
                    if v:
                        row[key] = v
                    continue
            elif not v:
                continue
            if code is _K_SST:
                i = int(v)
                try:
                    a, b = offs[i], offs[i + 1]
                except IndexError:
                    text = sst.get(i)
                    if text:
                        row[key] = text
                else:
                    if a != b:
                        row[key] = blob[a:b].decode("utf-8")
            elif code is _K_NUMBER:
                row[key] = int(v) if v.isdigit() else _number(v)
            elif code is _K_DATE:
                d = dates.get(v)
                if d is None:
                    d = _excel_date(float(v), date1904)
                    if len(dates) < 100_000:
                        dates[v] = d
                row[key] = d
            else:
                row[key] = self.typed(code, v)
        if cur is not None:
            self.last_row = int(cur)
        return [(n, r) for rn, r in out if r and (n := int(rn)) > after]

    def from_content(self, code: str, content: bytes):
        """The value out of a cell's inner XML that is not a bare <v>: text (str)
        for inline strings, else the <v> bytes (None if there is none)."""
        rx = self.rx
        if code == "inlineStr":
            m = rx.inline.search(content)
            return rx.rich_text(m.group(1)) if m else None
        m = rx.v.search(content)
        if m is None:
            return None
        v = m.group(1)
        if b"<![CDATA[" in v:
            v = _xml_text(v).encode("utf-8")
        return v

    def typed(self, t: str, v: bytes):
        if t == "str" or t == "e":
            return _xml_text(v)
        if t == "b":
            return v.strip() in (b"1", b"true")
        if t == "d":
            s = v.decode("ascii", "replace").strip()
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                return s
            if dt.tzinfo is None and dt.hour == dt.minute == dt.second == dt.microsecond == 0:
                return dt.date()
            return dt
        if t == "inlineStr":
            return _xml_text(v)
        return _xml_text(v)

    # -- generic path for chunks the scanner cannot fully account for -----------
    def parse_et(self, part: bytes, colmap: dict | None, after: int) -> list:
        out = []
        try:
            root = ET.fromstring(b"<sheetData " + self.nsdecls + b">" + part + b"</sheetData>")
        except ET.ParseError as exc:
            raise BadFile(f"{self.wb.name}: the sheet XML is damaged ({exc}); open the file in Excel and save it again") from None
        rownum = self.last_row
        for r in root:
            if _local(r.tag) != "row":
                continue
            rattr = r.get("r")
            rownum = int(rattr) if rattr and rattr.isdigit() else rownum + 1
            if rownum <= after:
                continue
            row = {}
            colidx = 0
            for c in r:
                if _local(c.tag) != "c":
                    continue
                ref = c.get("r")
                if ref:
                    letters = ref.rstrip("0123456789").upper()
                    colidx = _col_index(letters)
                else:
                    colidx += 1
                    letters = _col_letters(colidx)
                col = letters.encode("ascii")
                key = col if colmap is None else colmap.get(col)
                if key is None:
                    continue
                t = c.get("t") or "n"
                s = c.get("s")
                is_date = False
                if t == "n" and s and s.isdigit():
                    si = int(s)
                    is_date = si < len(self.date_styles) and self.date_styles[si]
                value = None
                if t == "inlineStr":
                    for ch in c:
                        if _local(ch.tag) == "is":
                            value = "".join(
                                (x.text or "") for x in ch.iter()
                                if _local(x.tag) == "t" and not _inside_rph(ch, x)
                            )
                    value = _x_unescape(value) if value is not None else None
                else:
                    vtext = None
                    for ch in c:
                        if _local(ch.tag) == "v":
                            vtext = ch.text or ""
                    if vtext is None or vtext == "":
                        continue
                    if t == "s":
                        try:
                            value = self.sst.get(int(vtext))
                        except ValueError:
                            value = None
                    elif t == "n":
                        try:
                            value = _excel_date(float(vtext), self.date1904) if is_date else _number(vtext.encode())
                        except ValueError:
                            value = vtext
                    elif t in ("b", "d"):
                        value = self.typed(t, vtext.encode("utf-8"))
                    else:
                        value = _x_unescape(vtext)
                if value is None or value == "":
                    continue
                row[key] = value
            if row:
                out.append((rownum, row))
        self.last_row = rownum
        return out


def _inside_rph(root, target) -> bool:
    for el in root.iter():
        if _local(el.tag) == "rPh" and any(x is target for x in el.iter()):
            return True
    return False


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _col_letters(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _number(v: bytes):
    try:
        return int(v)
    except ValueError:
        pass
    try:
        f = float(v)
    except ValueError:
        return v.decode("utf-8", "replace")
    return f


def _read_xlsx(path: Path, info: ReadInfo) -> Iterator[tuple[int, dict]]:
    wb = _Workbook(path)
    try:
        chosen = None
        best = None
        for sheet_name, part in wb.sheets:
            where = f"{wb.name}, sheet '{sheet_name}'"
            scan = wb.chunks(part, None, piece=1 << 16)
            try:
                header = _find_header((r for rows in scan for r in rows), where)
            finally:
                scan.close()
            if header is None:
                continue
            if not header.missing:
                chosen = (sheet_name, part, header)
                break
            if best is None or len(header.texts) > len(best[2].texts):
                best = (sheet_name, part, header)
        if chosen is None:
            if best is not None:
                raise _missing_columns_error(f"{wb.name}, sheet '{best[0]}'", best[2])
            raise _no_header_error(wb.name if len(wb.sheets) == 1 else f"{wb.name} (all {len(wb.sheets)} sheets)")
        sheet_name, part, header = chosen
        info.sheet = sheet_name
        info.header_row = header.row
        info.columns = dict(header.texts)
        info.ignored = list(header.ignored)
        chunks = wb.chunks(part, header.mapping, after=header.row)
        try:
            for rows in chunks:
                for item in rows:
                    for v in item[1].values():
                        if v.__class__ is not str or v.strip():
                            yield item
                            break
        finally:
            chunks.close()
    finally:
        wb.sst.close()
        wb.close()


# =============================================================================
# Validation
# =============================================================================

_THAI_DIGITS = {ord("๐") + i: ord("0") + i for i in range(10)}
_DMY = re.compile(r"(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d+)")
_YMD = re.compile(r"(\d{4})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_MONTH_NAME_YEAR = re.compile(r"(\d{1,2})\s*([^\d\s,]+(?:\s?[^\d\s,]+)?)\s*,?\s*(\d+)")
_MONTHS = {}
for _i, _names in enumerate([
    ("มกราคม", "ม.ค.", "มค", "jan", "january"),
    ("กุมภาพันธ์", "ก.พ.", "กพ", "feb", "february"),
    ("มีนาคม", "มี.ค.", "มีค", "mar", "march"),
    ("เมษายน", "เม.ย.", "เมย", "apr", "april"),
    ("พฤษภาคม", "พ.ค.", "พค", "may"),
    ("มิถุนายน", "มิ.ย.", "มิย", "jun", "june"),
    ("กรกฎาคม", "ก.ค.", "กค", "jul", "july"),
    ("สิงหาคม", "ส.ค.", "สค", "aug", "august"),
    ("กันยายน", "ก.ย.", "กย", "sep", "sept", "september"),
    ("ตุลาคม", "ต.ค.", "ตค", "oct", "october"),
    ("พฤศจิกายน", "พ.ย.", "พย", "nov", "november"),
    ("ธันวาคม", "ธ.ค.", "ธค", "dec", "december"),
], start=1):
    for _n in _names:
        _MONTHS[_n.replace(".", "").casefold()] = _i

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_POINTS_TEXT = re.compile(r"\+?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?")


def _show(value) -> str:
    """A cell value as text for an error report."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    s = str(value)
    if len(s) > 80:
        return s[:77] + "..."
    return s


def _bangkok_today() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Bangkok")).date()


class _Bad(Exception):
    """A field check failed; ``args[0]`` is the reason."""


_GENDER_HELP = "use ชาย, หญิง, อื่นๆ or ไม่ระบุ (or male, female, other, M, F)"
_DATE_HELP = "write it as dd/mm/yyyy (e.g. 15/03/1990 or 15/03/2533) or yyyy-mm-dd"
_FORMAT_CHARS = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")


def _too_long(raw: str) -> _Bad:
    return _Bad(f"cell too long ({len(raw):,} characters; at most {MAX_CELL_CHARS:,})")


def _check_name(v) -> str:
    if v.__class__ is not str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise _Bad("a number, not a name; check the columns are in the right place")
        raise _Bad("not a name; type the member's full name")
    if len(v) > MAX_CELL_CHARS:
        raise _too_long(v)
    s = " ".join(v.split())
    if not s.isprintable():
        s = " ".join(_FORMAT_CHARS.sub("", s).split())
        if not s.isprintable():
            raise _Bad("contains control characters; retype the name")
    if not s:
        raise _Bad("required: the full name is missing")
    if len(s) > MAX_NAME_CHARS:
        raise _Bad(f"too long ({len(s)} characters; at most {MAX_NAME_CHARS})")
    if s[0] == "=":
        raise _Bad("looks like a spreadsheet formula (starts with '='); type the plain name")
    return s


def _check_points(v) -> int:
    cls = v.__class__
    if cls is int:
        n = v
    elif cls is float:
        if not math.isfinite(v):
            raise _Bad("not a number")
        if not v.is_integer():
            raise _Bad("points must be a whole number (no fractions)")
        n = int(v)
    elif cls is str:
        if len(v) > MAX_CELL_CHARS:
            raise _too_long(v)
        s = v.strip()
        if s.isascii() and s.isdigit():
            n = int(s)
        else:
            s = s.translate(_THAI_DIGITS).replace(" ", "")
            m = _POINTS_TEXT.fullmatch(s)
            if not m:
                if s[:1] in ("-", "\u2212") and _POINTS_TEXT.fullmatch(s[1:]):
                    raise _Bad("points cannot be negative")
                raise _Bad("points must be a whole number such as 150")
            if m.group(2) and m.group(2).strip("0"):
                raise _Bad("points must be a whole number (no fractions)")
            n = int(m.group(1).replace(",", ""))
    elif cls is bool:
        raise _Bad("TRUE/FALSE is not a number of points")
    elif isinstance(v, date):
        raise _Bad("a date, not a number of points")
    elif isinstance(v, int):
        n = int(v)
    else:
        raise _Bad("points must be a whole number such as 150")
    if n < 0:
        raise _Bad("points cannot be negative")
    if n > MAX_POINTS:
        raise _Bad(f"too many points (at most {MAX_POINTS:,})")
    return n


def _check_gender(v) -> str:
    if v.__class__ is str:
        g = GENDERS.get(v.strip().casefold())
        if g is not None:
            return g
        if len(v) > MAX_CELL_CHARS:
            raise _too_long(v)
        g = GENDERS.get("".join(v.split()).casefold())
        if g is not None:
            return g
    raise _Bad(_GENDER_HELP)


def _birthday(v, today: date) -> date:
    cls = v.__class__
    if cls is str:
        s = v.strip()
        if len(s) == 10 and s[2] == "/" and s[5] == "/" and s.isascii():
            try:
                day, month, y = int(s[:2]), int(s[3:5]), int(s[6:])
            except ValueError:
                return _birthday_text(s, today)
            year = s[6:]
        elif len(s) == 10 and s[4] == "-" and s[7] == "-" and s.isascii():
            try:
                y, month, day = int(s[:4]), int(s[5:7]), int(s[8:])
            except ValueError:
                return _birthday_text(s, today)
            year = s[:4]
        else:
            if len(s) > MAX_CELL_CHARS:
                raise _too_long(v)
            return _birthday_text(s, today)
        return _make_date(y, month, day, year, today)
    if cls is datetime or isinstance(v, datetime):
        v = v.date()
    elif not isinstance(v, date):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise _Bad("a number, not a date; " + _DATE_HELP)
        raise _Bad("not a date; " + _DATE_HELP)
    if v.year > 2400:
        return _make_date(v.year, v.month, v.day, str(v.year), today)
    return _check_date(v, today)


def _birthday_text(s: str, today: date) -> date:
    s = s.translate(_THAI_DIGITS)
    m = _DMY.fullmatch(s)
    if m:
        day, month, year = int(m.group(1)), int(m.group(3)), m.group(4)
    else:
        m = _YMD.fullmatch(s)
        if m:
            year, month, day = m.group(1), int(m.group(3)), int(m.group(4))
        else:
            m = _DAY_MONTH_NAME_YEAR.fullmatch(s)
            month = _MONTHS.get(m.group(2).replace(".", "").replace(" ", "").casefold()) if m else None
            if not month:
                raise _Bad("not a date; " + _DATE_HELP)
            day, year = int(m.group(1)), m.group(3)
    if len(year) != 4:
        raise _Bad("use a 4-digit year (e.g. 15/03/1990 or 15/03/2533)")
    return _make_date(int(year), month, day, year, today)


def _make_date(y: int, month: int, day: int, year_text: str, today: date) -> date:
    be = y > 2400
    if be:
        y -= 543
    try:
        d = date(y, month, day)
    except ValueError:
        raise _Bad(
            f"{day:02d}/{month:02d}/{year_text} is not a real date" + (" (Buddhist Era year)" if be else "")
        ) from None
    return _check_date(d, today)


def _check_date(d: date, today: date) -> date:
    if d > today:
        raise _Bad("the birthday is in the future")
    if d.year < 1900:
        raise _Bad("the birthday is before 1900")
    return d


def _check_email(v) -> str:
    if v.__class__ is not str:
        raise _Bad("not an email address")
    s = v.strip()
    if len(s) > MAX_EMAIL_CHARS:
        if len(v) > MAX_CELL_CHARS:
            raise _too_long(v)
        raise _Bad(f"too long ({len(s)} characters; at most {MAX_EMAIL_CHARS})")
    if s[:1] == "=":
        raise _Bad("looks like a spreadsheet formula (starts with '='); type the plain address")
    if _EMAIL.fullmatch(s) is None:
        raise _Bad("not a valid email address (like name@example.com)")
    at = s.rindex("@")
    if at > 64:
        raise _Bad("not a valid email address (the part before @ is over 64 characters)")
    domain = s[at + 1:]
    if not domain.islower():
        s = s[: at + 1] + domain.lower()
    return s


def _blank(raw) -> bool:
    return raw is None or (raw.__class__ is str and not raw.strip())


# MemberRow's generated frozen __init__ sets each field through
# object.__setattr__ (about 2.4 us for seven fields); on an import of a million
# rows that matters, so the hot loop builds instances directly (about 0.5 us).
_new = object.__new__
_setattr = object.__setattr__


def _member_row(row, phone, name, points, gender, birthday, email) -> MemberRow:
    obj = _new(MemberRow)
    _setattr(obj, "row", row)
    _setattr(obj, "phone", phone)
    _setattr(obj, "name", name)
    _setattr(obj, "points", points)
    _setattr(obj, "gender", gender)
    _setattr(obj, "birthday", birthday)
    _setattr(obj, "email", email)
    return obj


def iter_validated(
    rows: Iterable[tuple[int, dict]],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    today: date | None = None,
) -> Iterator[MemberRow | RowError]:
    """Check rows one by one, yielding a :class:`MemberRow` for each good row and
    a :class:`RowError` for each problem (a row may have several), in file order.
    Only the phones seen so far are kept (for the duplicate check), so this runs in
    bounded memory. Raises :class:`BadFile` as soon as a row beyond ``max_rows``
    appears, without reading further."""
    today = today or _bangkok_today()
    seen: dict[int, int] = {}
    cache: dict = {}
    count = 0
    big = MAX_CELL_CHARS
    norm = normalize_phone
    for rownum, values in rows:
        count += 1
        if count > max_rows:
            raise BadFile(
                f"the file has more than {max_rows:,} member rows (row {rownum} is member {count:,}); "
                f"split it into files of at most {max_rows:,} rows, or raise the limit with --max-rows"
            )
        errors = None
        get = values.get

        raw = get("phone")
        try:
            if raw is None:
                raise _Bad("required: the phone number is missing")
            try:
                phone = norm(raw)
            except InvalidPhone as exc:
                if _blank(raw):
                    raise _Bad("required: the phone number is missing") from None
                if raw.__class__ is str and len(raw) > big:
                    raise _too_long(raw) from None
                raise _Bad(f"invalid phone number: {exc}") from None
            key = int(phone[3:])
            first = seen.get(key)
            if first is None:
                seen[key] = rownum
            else:
                raise _Bad(f"duplicate phone: the same number as row {first}")
        except _Bad as exc:
            errors = [RowError(rownum, "phone", _show(raw), exc.args[0])]
            phone = None

        raw = get("name")
        try:
            if raw is None:
                raise _Bad("required: the full name is missing")
            name = _check_name(raw)
            if name == EXAMPLE_NAME:
                raise _Bad("this is the template's example row; delete it before importing")
        except _Bad as exc:
            (errors := errors or []).append(RowError(rownum, "name", _show(raw), exc.args[0]))
            name = None

        raw = get("points")
        if raw.__class__ is int and 0 <= raw <= MAX_POINTS:
            points = raw
        else:
            try:
                if raw is None or (raw.__class__ is str and not raw.strip()):
                    raise _Bad("required: the number of points is missing (write 0 for none)")
                points = _check_points(raw)
            except _Bad as exc:
                (errors := errors or []).append(RowError(rownum, "points", _show(raw), exc.args[0]))
                points = None

        gender = birthday = email = None
        raw = get("gender")
        if raw is not None:
            try:
                gender = _check_gender(raw)
            except _Bad as exc:
                if not _blank(raw):
                    (errors := errors or []).append(RowError(rownum, "gender", _show(raw), exc.args[0]))
        raw = get("birthday")
        if raw is not None:
            # Birthdays repeat (a few tens of thousands of distinct days): cache the verdict.
            # (a date, or the reason as a str; exceptions are not kept: their tracebacks would be)
            verdict = cache.get(raw)
            if verdict is None:
                try:
                    verdict = _birthday(raw, today)
                except _Bad as exc:
                    verdict = exc.args[0]
                if len(cache) < 65536:
                    cache[raw] = verdict
            if verdict.__class__ is str:
                if not _blank(raw):
                    (errors := errors or []).append(RowError(rownum, "birthday", _show(raw), verdict))
            else:
                birthday = verdict
        raw = get("email")
        if raw is not None:
            try:
                email = _check_email(raw)
            except _Bad as exc:
                if not _blank(raw):
                    (errors := errors or []).append(RowError(rownum, "email", _show(raw), exc.args[0]))

        if errors:
            yield from errors
        else:
            yield _member_row(rownum, phone, name, points, gender, birthday, email)


def validate_rows(
    rows: Iterable[tuple[int, dict]],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    today: date | None = None,
) -> ValidationResult:
    """Validate every row; return all good rows and all errors (every problem in
    the file, not just the first). ``today`` (default: today in Bangkok) bounds
    birthdays. Raises :class:`BadFile` for file-level problems, including more than
    ``max_rows`` rows (reading stops at row ``max_rows + 1``)."""
    result = ValidationResult()
    good = result.rows.append
    bad = result.errors.append
    counted = 0
    last_row = None
    for item in iter_validated(rows, max_rows=max_rows, today=today):
        if item.__class__ is MemberRow:
            good(item)
            counted += 1
        else:
            bad(item)
            if item.row != last_row:
                counted += 1
                last_row = item.row
    result.row_count = counted
    return result
