"""Spreadsheet writers: the member import template and typed CSV/XLSX exports.

* :func:`write_member_template` writes ``member-template.xlsx``: the seed's six
  columns with Thai and English headers (required ones marked ``*``), the phone
  and birthday columns formatted as text (so Excel keeps a phone's leading zero
  and does not reinterpret ``15/03/2533`` with the computer's date locale), a
  gender drop-down, a whole-number check on points, one example row, a frozen
  header, column widths, and a second sheet explaining every column.
* :func:`write_table` writes rows to ``.csv`` (UTF-8 with BOM, so Excel shows
  Thai) or ``.xlsx`` (openpyxl write-only mode, streamed: dates as dates, numbers
  as numbers, phones and other text as text, money as numbers with ``0.00``).
* :func:`neutralize` defuses text a spreadsheet would run as a formula: any text
  starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
  single quote ``'``; control and direction characters are dropped. Both formats apply it to every text cell (openpyxl would
  otherwise even *store* ``=...`` strings as live formulas). Numbers, dates and
  money are written as typed values and need no quoting; a negative number in an
  ``int`` or ``money`` column stays a number.

Sheet names cannot contain ``/`` in Excel, so the help sheet is called
``คำอธิบาย (Help)``.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable, Sequence

from crm_cli.domain.safetext import drop
from crm_cli.fileio.member_rows import (
    DEFAULT_MAX_ROWS,
    EXAMPLE_NAME,
    FIELD_LABELS,
    FIELDS,
    REQUIRED_FIELDS,
)

__all__ = [
    "neutralize",
    "write_member_template",
    "write_table",
    "TEMPLATE_SHEET",
    "HELP_SHEET",
    "GENDER_CHOICES",
    "COLUMN_TYPES",
]

TEMPLATE_SHEET = "members"
HELP_SHEET = "คำอธิบาย (Help)"
GENDER_CHOICES = ("ชาย", "หญิง", "อื่นๆ", "ไม่ระบุ")
COLUMN_TYPES = ("text", "int", "date", "datetime", "money")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """Text that a spreadsheet would treat as a formula gets a leading ``'``, and control
    and direction characters are dropped (:func:`crm_cli.domain.safetext.drop`; XLSX cannot
    hold C0 controls at all); anything else (including non-text values) is returned unchanged."""
    if isinstance(value, str):
        value = drop(value)
        if value and value[0] in _FORMULA_START:
            return "'" + value
    return value


# =============================================================================
# The member template
# =============================================================================

#: The example row (phone as text, BE birthday as text).
EXAMPLE_ROW = {
    "phone": "0812345678",
    "name": EXAMPLE_NAME,
    "points": 100,
    "gender": "ชาย",
    "birthday": "15/03/2533",
    "email": "somchai@example.com",
}

_HELP_ROWS = [
    (
        FIELD_LABELS["phone"], "ต้องกรอก / required",
        "เบอร์มือถือหรือเบอร์บ้านในประเทศไทย เช่น 0812345678, 081-234-5678, +66 81 234 5678, 02-123-4567 "
        "(คอลัมน์นี้ตั้งเป็นข้อความไว้แล้วเพื่อไม่ให้เลข 0 ข้างหน้าหาย) / "
        "A Thai mobile or landline number in any common form; the column is formatted as text so the "
        "leading 0 is kept (a number that lost its 0, like 812345678, is also accepted). "
        "Each phone may appear only once in the file.",
        "0812345678",
    ),
    (
        FIELD_LABELS["name"], "ต้องกรอก / required",
        "ชื่อและนามสกุล ไม่เกิน 200 ตัวอักษร / The member's full name, at most 200 characters.",
        "สมชาย ใจดี",
    ),
    (
        FIELD_LABELS["points"], "ต้องกรอก / required",
        "พอยท์ยกมาเป็นจำนวนเต็มตั้งแต่ 0 ขึ้นไป (ไม่มีทศนิยม) / Points carried over: a whole number, "
        "0 or more (no fractions, no negatives). Write 0 for none.",
        "100",
    ),
    (
        FIELD_LABELS["gender"], "ไม่บังคับ / optional",
        "เลือกจากรายการ: ชาย, หญิง, อื่นๆ, ไม่ระบุ (หรือ male, female, other, M, F) / "
        "Pick from the list: ชาย (male), หญิง (female), อื่นๆ (other), ไม่ระบุ (unspecified); "
        "male/female/other/M/F are accepted too.",
        "หญิง",
    ),
    (
        FIELD_LABELS["birthday"], "ไม่บังคับ / optional",
        "วัน/เดือน/ปี เช่น 15/03/1990 หรือปี พ.ศ. 15/03/2533 (ปีที่มากกว่า 2400 ถือเป็น พ.ศ.) "
        "หรือ 1990-03-15 / Day/month/year, e.g. 15/03/1990, or a Buddhist-Era year 15/03/2533 "
        "(a year above 2400 is BE), or 1990-03-15. Date cells work too. No future dates.",
        "15/03/2533",
    ),
    (
        FIELD_LABELS["email"], "ไม่บังคับ / optional",
        "อีเมล เช่น name@example.com / An email address such as name@example.com.",
        "somchai@example.com",
    ),
]

_HELP_NOTES = [
    f"กรอกได้สูงสุด {DEFAULT_MAX_ROWS:,} รายการต่อไฟล์ / At most {DEFAULT_MAX_ROWS:,} members per file "
    "(ask the operator to raise the limit for larger migrations).",
    "ลบแถวตัวอย่างก่อนนำเข้า / Delete the example row before importing (it is refused if left in).",
    "หัวคอลัมน์ภาษาไทยหรืออังกฤษก็ได้ เรียงลำดับใดก็ได้ / Thai or English column headers, in any order.",
    "บันทึกเป็น .xlsx หรือ CSV UTF-8 / Save as .xlsx, or as 'CSV UTF-8 (Comma delimited)'.",
    "ทุกแถวที่ผิดจะถูกแจ้งพร้อมเลขแถวและเหตุผล และจะไม่มีการนำเข้าจนกว่าทุกแถวถูกต้อง / "
    "Every bad row is reported with its row number and reason; nothing is imported until every row is good.",
]

_WIDTHS = {"phone": 18, "name": 34, "points": 16, "gender": 14, "birthday": 18, "email": 32}


def write_member_template(path: str | Path, *, rows: int = DEFAULT_MAX_ROWS) -> Path:
    """Write the member import template (see the module docstring) to ``path``.
    ``rows`` is how many data rows get the gender drop-down and points check."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = TEMPLATE_SHEET

    required_fill = PatternFill("solid", fgColor="FCE4D6")
    optional_fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    header_font = Font(bold=True)
    letters = {f: get_column_letter(i) for i, f in enumerate(FIELDS, start=1)}
    last = rows + 1

    for i, f in enumerate(FIELDS, start=1):
        cell = ws.cell(row=1, column=i, value=FIELD_LABELS[f])
        cell.font = header_font
        cell.fill = required_fill if f in REQUIRED_FIELDS else optional_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
        col = ws.column_dimensions[letters[f]]
        col.width = _WIDTHS[f]
        if f in ("phone", "birthday"):
            col.number_format = "@"           # text: keep the 0, no locale date guessing
        elif f == "points":
            col.number_format = "0"
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"

    for i, f in enumerate(FIELDS, start=1):
        cell = ws.cell(row=2, column=i, value=EXAMPLE_ROW[f])
        if f in ("phone", "birthday"):
            cell.number_format = "@"
        cell.font = Font(italic=True, color="7F7F7F")

    gender = DataValidation(
        type="list",
        formula1='"' + ",".join(GENDER_CHOICES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="เพศ / Gender",
        error="เลือก ชาย, หญิง, อื่นๆ หรือ ไม่ระบุ / Choose ชาย, หญิง, อื่นๆ or ไม่ระบุ",
        promptTitle="เพศ / Gender",
        prompt="ชาย, หญิง, อื่นๆ, ไม่ระบุ",
        showInputMessage=True,
    )
    gender.add(f"{letters['gender']}2:{letters['gender']}{last}")
    points = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=False,
        showErrorMessage=True,
        errorTitle="จำนวนพอยท์ / Points",
        error="จำนวนเต็มตั้งแต่ 0 ขึ้นไป / A whole number, 0 or more",
    )
    points.add(f"{letters['points']}2:{letters['points']}{last}")
    ws.add_data_validation(gender)
    ws.add_data_validation(points)

    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.append(["คอลัมน์ / Column", "จำเป็น / Required", "รูปแบบที่รับ / Accepted formats", "ตัวอย่าง / Example"])
    for c in help_ws[1]:
        c.font = header_font
        c.fill = optional_fill
    for row in _HELP_ROWS:
        help_ws.append(list(row))
    help_ws.append([])
    help_ws.append(["หมายเหตุ / Notes"])
    help_ws.cell(row=help_ws.max_row, column=1).font = header_font
    for note in _HELP_NOTES:
        help_ws.append([note])
    for letter, width in zip("ABCD", (30, 20, 90, 22)):
        help_ws.column_dimensions[letter].width = width
    for row in help_ws.iter_rows(min_row=2, max_row=1 + len(_HELP_ROWS)):
        for c in row:
            c.alignment = Alignment(vertical="top", wrap_text=True)
    help_ws.freeze_panes = "A2"

    _save_atomic(wb, path)
    return path


def _save_atomic(wb, path: Path) -> None:
    _atomic_write(path, wb.save)


def _atomic_write(path: Path, write):
    """The one output-file writer (:func:`crm_cli.fileio.outfile.atomic_write`): a temporary
    file renamed into place; a bad path is one error line and leaves nothing behind."""
    from crm_cli.fileio.outfile import atomic_write

    return atomic_write(path, write)


# =============================================================================
# Typed tables: CSV and XLSX exports
# =============================================================================

_CENT = Decimal("0.01")


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise ValueError("a TRUE/FALSE value in a money column")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    else:
        d = Decimal(str(value).strip())
    return d.quantize(_CENT, rounding=ROUND_HALF_UP)


def _naive(value: datetime) -> datetime:
    """Spreadsheets have no time zones: aware datetimes are shown in Bangkok time."""
    if value.tzinfo is not None:
        from crm_cli.domain.timeutil import BKK

        value = value.astimezone(BKK).replace(tzinfo=None)
    return value


def _typed(value, kind: str):
    """A cell value converted for its column type (shared by both formats)."""
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, bool):
            return neutralize(str(value))
        if isinstance(value, int):
            return value
        if isinstance(value, (float, Decimal)):
            try:
                if value == int(value):
                    return int(value)
            except (ValueError, OverflowError, InvalidOperation):
                pass
            return neutralize(str(value))
        try:
            return int(str(value).strip())
        except ValueError:
            return neutralize(str(value))
    if kind == "money":
        try:
            return _money(value)
        except (InvalidOperation, ValueError):
            return neutralize(str(value))
    if kind == "date":
        if isinstance(value, datetime):
            return _naive(value).date()
        if isinstance(value, date):
            return value
        return neutralize(str(value))
    if kind == "datetime":
        if isinstance(value, datetime):
            return _naive(value).replace(microsecond=0)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        return neutralize(str(value))
    # text (and any unknown type): always text, neutralized
    if isinstance(value, str):
        return neutralize(value)
    if isinstance(value, datetime):
        return _naive(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return neutralize(str(value))


def write_table(
    path: str | Path,
    columns: list[str],
    rows: Iterable[Sequence],
    types: dict[str, str] | None = None,
    *,
    sheet: str = "data",
) -> int:
    """Write ``rows`` under the header ``columns`` to ``path`` -- CSV (UTF-8 with
    BOM) or XLSX, chosen by the extension -- streaming; return the number of data
    rows written. ``types`` maps a column to ``text`` (the default), ``int``,
    ``date``, ``datetime`` or ``money``. Every text cell is :func:`neutralize`\\ d.
    The file appears atomically (written to a temporary name, then renamed)."""
    path = Path(path)
    types = dict(types or {})
    for col, kind in types.items():
        if kind not in COLUMN_TYPES:
            raise ValueError(f"unknown column type {kind!r} for {col!r}; use one of {', '.join(COLUMN_TYPES)}")
        if col not in columns:
            raise ValueError(f"type given for unknown column {col!r}")
    kinds = [types.get(c, "text") for c in columns]
    ext = path.suffix.lower()
    if ext in (".csv", ".xlsx"):
        from crm_cli.fileio.outfile import check_target

        check_target(path)  # before any row is read: a bad path fails at once
    if ext == ".csv":
        return _write_csv(path, columns, rows, kinds)
    if ext == ".xlsx":
        return _write_xlsx(path, columns, rows, kinds, sheet)
    raise ValueError(f"unsupported export file type '{path.suffix or path.name}': use .csv or .xlsx")


def _write_csv(path: Path, columns, rows, kinds) -> int:
    def write(tmp: str) -> int:
        n = 0
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow([neutralize(str(c)) for c in columns])
            width = len(columns)
            for row in rows:
                out = []
                for i in range(width):
                    v = _typed(row[i] if i < len(row) else None, kinds[i])
                    if v is None:
                        out.append("")
                    elif isinstance(v, Decimal):
                        out.append(f"{v:.2f}")
                    elif isinstance(v, datetime):
                        out.append(v.isoformat(sep=" ", timespec="seconds"))
                    elif isinstance(v, date):
                        out.append(v.isoformat())
                    else:
                        out.append(v)
                w.writerow(out)
                n += 1
        return n

    return _atomic_write(path, write)


def _discard(ws) -> None:
    """Close a write-only sheet whose rows failed and remove its temporary file."""
    try:
        ws.close()
    except Exception:
        pass
    try:
        ws._writer.cleanup()
    except Exception:
        pass


_XLSX_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss", "money": "0.00", "int": "0"}


def _write_xlsx(path: Path, columns, rows, kinds, sheet: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31] or "data")
    for i, (col, kind) in enumerate(zip(columns, kinds), start=1):
        width = max(10, min(40, len(str(col)) + 4))
        if kind in ("date",):
            width = max(width, 12)
        elif kind == "datetime":
            width = max(width, 20)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    header = []
    bold = Font(bold=True)
    for col in columns:
        c = WriteOnlyCell(ws, value=neutralize(str(col)))
        c.font = bold
        header.append(c)
    ws.append(header)
    width = len(columns)
    styled = [kind in ("money", "date", "datetime") for kind in kinds]
    n = 0
    try:
        for row in rows:
            out = []
            for i in range(width):
                v = _typed(row[i] if i < len(row) else None, kinds[i])
                if v is not None and styled[i] and not isinstance(v, str):
                    c = WriteOnlyCell(ws, value=v)
                    c.number_format = _XLSX_FORMATS[kinds[i]]
                    v = c
                out.append(v)
            ws.append(out)
            n += 1
    except BaseException:
        _discard(ws)
        raise
    if n:
        ws.auto_filter.ref = f"A1:{get_column_letter(max(width, 1))}{n + 1}"
    try:
        _save_atomic(wb, path)
    except BaseException:
        _discard(ws)
        raise
    return n
