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
The file layers, each in its own module:

* :mod:`crm_cli.fileio.member_columns` -- the column vocabulary (header names in Thai
  and English, shared with the template and the export) and header detection;
* :mod:`crm_cli.fileio.member_csv` -- CSV files;
* :mod:`crm_cli.fileio.xlsx_stream` -- the streaming .xlsx reader;
* :mod:`crm_cli.domain.member_fields` -- the field rules (the same ones ``member
  register`` and ``member edit`` apply).

Decisions
---------
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
* **Text.** Control characters are refused (see :mod:`crm_cli.domain.member_fields`).
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
  M / F (case-insensitive; a few more spellings, see
  :data:`crm_cli.domain.member_fields.GENDERS`) map to
  ``male`` / ``female`` / ``other`` / ``unspecified``.
* **Duplicates.** Phones are compared after normalization; the later row gets the
  error and it names the first row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from crm_cli.domain import member_fields as fields
from crm_cli.domain.member_fields import MAX_CELL_CHARS, MAX_POINTS, FieldError, show
from crm_cli.domain.phone import InvalidPhone, normalize_phone
from crm_cli.fileio.member_columns import (
    DEFAULT_MAX_ROWS,
    EXAMPLE_NAME,
    FIELD_LABELS,
    FIELDS,
    HEADER_ALIASES,
    REQUIRED_FIELDS,
    BadFile,
    ReadInfo,
    match_header,
)

__all__ = [
    "BadFile",
    "MemberRow",
    "RowError",
    "ValidationResult",
    "ReadInfo",
    "read_rows",
    "validate_rows",
    "iter_validated",
    "match_header",
    "FIELDS",
    "REQUIRED_FIELDS",
    "HEADER_ALIASES",
    "FIELD_LABELS",
    "EXAMPLE_NAME",
    "DEFAULT_MAX_ROWS",
    "MAX_CELL_CHARS",
    "MAX_POINTS",
]


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
        from crm_cli.fileio.xlsx_stream import read_xlsx

        return read_xlsx(path, info)
    from crm_cli.fileio.member_csv import read_csv

    return read_csv(path, info)


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
# Validation (the field rules are crm_cli.domain.member_fields)
# =============================================================================

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


def _blank(raw) -> bool:
    return raw is None or (raw.__class__ is str and not raw.strip())


def iter_validated(
    rows: Iterable[tuple[int, dict]],
    *,
    today: date,
    max_rows: int = DEFAULT_MAX_ROWS,
    default_points: int | None = None,
    info: ReadInfo | None = None,
    skipped: list[int] | None = None,
) -> Iterator[MemberRow | RowError]:
    """Check rows one by one, yielding a :class:`MemberRow` for each good row and
    a :class:`RowError` for each problem (a row may have several), in file order.
    ``today`` (the Bangkok day of the import) bounds birthdays; ``default_points``
    fills a blank points cell. Only the phones seen so far are kept (for the duplicate
    check), so this runs in bounded memory. Raises :class:`BadFile` as soon as a row
    beyond ``max_rows`` appears, without reading further.

    A file written by ``crm member export`` (``info`` shows a balance column and no
    points column) imports no points, and its phone-only rows (status ``phone-only``,
    no name) are left out: their row numbers go to ``skipped``."""
    seen: dict[int, int] = {}
    exported = None  # decided at the first row, once the reader has found the header
    cache: dict = {}
    count = 0
    norm = normalize_phone
    check_name, check_points, check_gender = fields.name, fields.points, fields.gender
    check_birthday, check_email = fields.birthday, fields.email
    for rownum, values in rows:
        count += 1
        if count > max_rows:
            raise BadFile(
                f"the file has more than {max_rows:,} member rows (row {rownum} is member {count:,}); "
                f"split it into files of at most {max_rows:,} rows, or raise the limit with --max-rows"
            )
        errors = None
        get = values.get
        if exported is None:
            exported = info is not None and "balance" in info.columns and "points" not in info.columns
        status = get("status")
        if status is not None and status.__class__ is str and status.strip().casefold() == "phone-only" \
                and _blank(get("name")):
            count -= 1  # not a member row: it does not count toward the limit
            if skipped is not None:
                skipped.append(rownum)
            continue

        raw = get("phone")
        try:
            try:
                phone = norm(raw)
            except InvalidPhone:
                phone = fields.phone(raw)  # raises with the reason
            key = int(phone[3:])
            first = seen.get(key)
            if first is None:
                seen[key] = rownum
            else:
                raise FieldError("phone", f"duplicate phone: the same number as row {first}", raw)
        except FieldError as exc:
            errors = [RowError(rownum, "phone", show(raw), exc.reason)]
            phone = None

        raw = get("name")
        try:
            name = check_name(raw)
            if name == EXAMPLE_NAME:
                raise FieldError("name", "this is the template's example row; delete it before importing", raw)
        except FieldError as exc:
            (errors := errors or []).append(RowError(rownum, "name", show(raw), exc.reason))
            name = None

        raw = get("points")
        if raw.__class__ is int and 0 <= raw <= MAX_POINTS:
            points = raw
        elif exported and raw is None:
            points = 0
        elif default_points is not None and _blank(raw):
            points = default_points
        else:
            try:
                points = check_points(raw)
            except FieldError as exc:
                (errors := errors or []).append(RowError(rownum, "points", show(raw), exc.reason))
                points = None

        gender = birthday = email = None
        raw = get("gender")
        if raw is not None:
            try:
                gender = check_gender(raw)
            except FieldError as exc:
                (errors := errors or []).append(RowError(rownum, "gender", show(raw), exc.reason))
        raw = get("birthday")
        if raw is not None:
            # Birthdays repeat (a few tens of thousands of distinct days): cache the verdict.
            # (a date or None, or the reason as a str; exceptions are not kept: their tracebacks would be)
            verdict = cache.get(raw, cache)
            if verdict is cache:
                try:
                    verdict = check_birthday(raw, today=today)
                except FieldError as exc:
                    verdict = exc.reason
                if len(cache) < 65536:
                    cache[raw] = verdict
            if verdict.__class__ is str:
                (errors := errors or []).append(RowError(rownum, "birthday", show(raw), verdict))
            else:
                birthday = verdict
        raw = get("email")
        if raw is not None:
            try:
                email = check_email(raw)
            except FieldError as exc:
                (errors := errors or []).append(RowError(rownum, "email", show(raw), exc.reason))

        if errors:
            yield from errors
        else:
            yield _member_row(rownum, phone, name, points, gender, birthday, email)


def validate_rows(
    rows: Iterable[tuple[int, dict]],
    *,
    today: date,
    max_rows: int = DEFAULT_MAX_ROWS,
    default_points: int | None = None,
    info: ReadInfo | None = None,
    skipped: list[int] | None = None,
) -> ValidationResult:
    """Validate every row; return all good rows and all errors (every problem in
    the file, not just the first). ``today`` (the Bangkok day of the import) bounds
    birthdays. Raises :class:`BadFile` for file-level problems, including more than
    ``max_rows`` rows (reading stops at row ``max_rows + 1``)."""
    result = ValidationResult()
    good = result.rows.append
    bad = result.errors.append
    counted = 0
    last_row = None
    for item in iter_validated(rows, max_rows=max_rows, today=today, default_points=default_points, info=info,
                               skipped=skipped):
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
