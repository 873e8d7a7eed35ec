"""Spreadsheet writers: the member template and typed, formula-safe CSV/XLSX exports."""

from __future__ import annotations

import csv
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from crm_cli.fileio.member_rows import FIELD_LABELS, FIELDS, ReadInfo, read_rows, validate_rows
from crm_cli.fileio.spreadsheet import (
    EXAMPLE_ROW,
    GENDER_CHOICES,
    HELP_SHEET,
    TEMPLATE_SHEET,
    neutralize,
    write_member_template,
    write_table,
)

DANGEROUS = ["=1+2", "+66812345678", "-2+3", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://evil\",\"x\")",
             "=cmd|' /C calc'!A0"]


# =============================================================================
# neutralize
# =============================================================================

@pytest.mark.parametrize("value", DANGEROUS)
def test_neutralize_prefixes_a_quote(value):
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["", "plain", "081-234-5678", "a=b", " =x", "'already", "สมชาย", "1-2"])
def test_neutralize_leaves_safe_text(value):
    assert neutralize(value) == value


@pytest.mark.parametrize("value", [None, -5, 3.5, Decimal("-1.00"), date(2020, 1, 1), True])
def test_neutralize_leaves_non_text(value):
    assert neutralize(value) is value


# =============================================================================
# write_table
# =============================================================================

COLUMNS = ["phone", "name", "points", "birthday", "created", "amount", "note"]
TYPES = {"points": "int", "birthday": "date", "created": "datetime", "amount": "money"}
ROWS = [
    ["+66812345678", "สมชาย ใจดี", 120, date(1990, 3, 15), datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
     Decimal("1250.5"), "=1+2"],
    ["0898765432", "@evil", -50, None, datetime(2026, 1, 2, 9, 0), Decimal("0.005"), "-2+3"],
    ["+6621234567", "\tTab", "7", "not a date", None, 89, None],
]


def test_csv_export_is_utf8_with_bom_and_neutralized(tmp_path):
    p = tmp_path / "out.csv"
    assert write_table(p, COLUMNS, ROWS, TYPES) == 3
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == COLUMNS
    assert rows[1] == ["'+66812345678", "สมชาย ใจดี", "120", "1990-03-15", "2026-01-02 10:04:05", "1250.50", "'=1+2"]
    assert rows[2] == ["0898765432", "'@evil", "-50", "", "2026-01-02 09:00:00", "0.01", "'-2+3"]
    assert rows[3] == ["'+6621234567", "'\tTab", "7", "not a date", "", "89.00", ""]
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r" or cell.lstrip("-").replace(".", "").isdigit()


def test_xlsx_export_has_typed_cells_and_no_formulas(tmp_path):
    p = tmp_path / "out.xlsx"
    assert write_table(p, COLUMNS, ROWS, TYPES, sheet="members") == 3
    wb = load_workbook(p)
    ws = wb["members"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == COLUMNS and ws["A1"].font.b
    r2 = {c.column_letter: c for c in ws[2]}
    assert r2["A"].value == "'+66812345678" and r2["A"].data_type == "s"
    assert r2["C"].value == 120 and r2["C"].data_type == "n"
    assert r2["D"].value == datetime(1990, 3, 15) and r2["D"].is_date and r2["D"].number_format == "yyyy-mm-dd"
    assert r2["E"].value == datetime(2026, 1, 2, 10, 4, 5) and r2["E"].is_date    # UTC shown in Bangkok time
    assert r2["F"].value == 1250.5 and r2["F"].number_format == "0.00"
    assert r2["G"].value == "'=1+2" and r2["G"].data_type == "s"
    r3 = {c.column_letter: c for c in ws[3]}
    assert r3["C"].value == -50 and r3["C"].data_type == "n"
    assert r3["B"].value == "'@evil" and r3["G"].value == "'-2+3"
    assert r3["F"].value == 0.01
    r4 = {c.column_letter: c for c in ws[4]}
    assert r4["A"].value == "'+6621234567" and r4["C"].value == 7 and r4["D"].value == "not a date"
    assert r4["G"].value is None
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", c.coordinate
    sheet_xml = zipfile.ZipFile(p).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml


def test_phones_stay_text_in_xlsx(tmp_path):
    p = tmp_path / "p.xlsx"
    write_table(p, ["phone"], [["0812345678"], ["081-234-5678"]])
    ws = load_workbook(p).active
    assert [c.value for c in ws["A"]][1:] == ["0812345678", "081-234-5678"]
    assert all(c.data_type == "s" for c in ws["A"])


def test_export_round_trips_through_the_importer(tmp_path):
    """Neutralized phones ('+66...) and Thai text read back as the same members."""
    rows = [["+66812345678", "สมชาย ใจดี", 120, date(1990, 3, 15)], ["+6621234567", "ร้าน ก", 0, None]]
    for ext in ("csv", "xlsx"):
        p = tmp_path / f"members.{ext}"
        write_table(p, ["phone", "full name", "points", "birthday"], rows, {"points": "int", "birthday": "date"})
        res = validate_rows(read_rows(p), today=date(2026, 1, 1))
        assert res.errors == []
        assert [(r.phone, r.name, r.points, r.birthday) for r in res.rows] == [
            ("+66812345678", "สมชาย ใจดี", 120, date(1990, 3, 15)), ("+6621234567", "ร้าน ก", 0, None)]


def test_header_cells_are_neutralized_too(tmp_path):
    p = tmp_path / "h.csv"
    write_table(p, ["=evil", "ok"], [])
    assert p.read_text(encoding="utf-8-sig").splitlines()[0] == "'=evil,ok"


def test_streams_a_generator_and_counts_rows(tmp_path):
    def gen():
        for i in range(20000):
            yield (f"08{i:08d}", f"ชื่อ {i}", i, Decimal(i) / 100)

    p = tmp_path / "big.xlsx"
    assert write_table(p, ["phone", "name", "points", "amount"], gen(), {"points": "int", "amount": "money"}) == 20000
    ws = load_workbook(p, read_only=True).active
    last = list(ws.iter_rows(min_row=20001, max_row=20001, values_only=True))[0]
    assert last == ("0800019999", "ชื่อ 19999", 19999, 199.99)


def test_short_rows_and_unknown_values(tmp_path):
    p = tmp_path / "s.csv"
    write_table(p, ["a", "b", "c"], [["x"], ["y", object.__new__(type("T", (), {"__str__": lambda s: "=t"}))]])
    assert p.read_text(encoding="utf-8-sig").splitlines()[1:] == ["x,,", "y,'=t,"]


def test_odd_values_in_typed_columns_become_text(tmp_path):
    p = tmp_path / "odd.csv"
    rows = [[float("nan"), float("inf"), 3.5, "x"], [Decimal("NaN"), "-7", True, "2020-01-01"]]
    write_table(p, ["a", "b", "c", "d"], rows, {"a": "int", "b": "money", "c": "int", "d": "date"})
    assert p.read_text(encoding="utf-8-sig").splitlines()[1:] == ["nan,inf,3.5,x", "NaN,-7.00,True,2020-01-01"]
    write_table(tmp_path / "odd.xlsx", ["a", "b", "c", "d"], rows, {"a": "int", "b": "money", "c": "int", "d": "date"})


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="use .csv or .xlsx"):
        write_table(tmp_path / "x.ods", ["a"], [])
    with pytest.raises(ValueError, match="unknown column type"):
        write_table(tmp_path / "x.csv", ["a"], [], {"a": "float"})
    with pytest.raises(ValueError, match="unknown column"):
        write_table(tmp_path / "x.csv", ["a"], [], {"b": "int"})


def test_failed_write_leaves_no_file(tmp_path):
    def boom():
        yield ["a"]
        raise RuntimeError("db went away")

    for ext in ("csv", "xlsx"):
        p = tmp_path / f"f.{ext}"
        with pytest.raises(RuntimeError):
            write_table(p, ["a"], boom())
        assert not p.exists()
    assert list(tmp_path.iterdir()) == []


# =============================================================================
# the member template
# =============================================================================

def test_template_layout(tmp_path):
    p = write_member_template(tmp_path / "member-template.xlsx")
    wb = load_workbook(p)
    assert wb.sheetnames == [TEMPLATE_SHEET, HELP_SHEET]
    ws = wb[TEMPLATE_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers == [FIELD_LABELS[f] for f in FIELDS]
    assert headers[:3] == ["เบอร์โทรศัพท์* / Phone*", "ชื่อ - นามสกุล* / Full name*", "จำนวนพอยท์* / Points*"]
    assert all("*" not in h for h in headers[3:])
    assert "เพศ" in headers[3] and "วันเกิด" in headers[4] and "อีเมล" in headers[5]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width >= 15 and ws.column_dimensions["B"].width >= 25
    assert [c.value for c in ws[2]] == [EXAMPLE_ROW[f] for f in FIELDS]
    assert ws["A2"].number_format == "@" and ws["A2"].data_type == "s"


def test_template_phone_column_is_text_for_new_cells(tmp_path):
    """The text format is on the whole column (a <col style>), so cells typed later
    keep their leading zero, not just the example cell."""
    import re

    p = write_member_template(tmp_path / "t.xlsx")
    z = zipfile.ZipFile(p)
    sheet = z.read("xl/worksheets/sheet1.xml").decode()
    styles = z.read("xl/styles.xml").decode()
    xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs", 1)[1].split("</cellXfs>")[0])
    col_style = {}
    for col in re.findall(r"<col [^>]*>", sheet):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', col))
        for i in range(int(attrs["min"]), int(attrs["max"]) + 1):
            col_style[i] = int(attrs.get("style", 0))
    for column in (1, 5):                                   # phone, birthday
        assert 'numFmtId="49"' in xfs[col_style[column]], column
    assert 'numFmtId="49"' not in xfs[col_style.get(2, 0)]   # names stay General
    wb = load_workbook(p)
    assert wb[TEMPLATE_SHEET].column_dimensions["A"].number_format == "@"
    assert wb[TEMPLATE_SHEET].column_dimensions["E"].number_format == "@"


def test_template_gender_drop_down_and_points_check(tmp_path):
    ws = load_workbook(write_member_template(tmp_path / "t.xlsx"))[TEMPLATE_SHEET]
    dvs = {dv.type: dv for dv in ws.data_validations.dataValidation}
    gender = dvs["list"]
    assert gender.formula1 == '"' + ",".join(GENDER_CHOICES) + '"'
    assert GENDER_CHOICES == ("ชาย", "หญิง", "อื่นๆ", "ไม่ระบุ")
    assert str(gender.sqref) == "D2:D5001"
    points = dvs["whole"]
    assert points.operator == "greaterThanOrEqual" and points.formula1 == "0" and str(points.sqref) == "C2:C5001"


def test_template_help_sheet_explains_every_column(tmp_path):
    ws = load_workbook(write_member_template(tmp_path / "t.xlsx"))[HELP_SHEET]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for f in FIELDS:
        assert FIELD_LABELS[f] in text
    for needle in ["5,000", "ชาย", "หญิง", "อื่นๆ", "ไม่ระบุ", "15/03/2533", "พ.ศ.", "2400", "0812345678",
                   "CSV UTF-8", "required", "optional"]:
        assert needle in text, needle


def test_template_header_is_recognized(tmp_path):
    p = write_member_template(tmp_path / "t.xlsx")
    info = ReadInfo()
    list(read_rows(p, info=info))
    assert info.sheet == TEMPLATE_SHEET and info.header_row == 1
    assert info.columns == {f: FIELD_LABELS[f] for f in FIELDS} and info.ignored == []


def test_template_can_be_written_anywhere_and_overwritten(tmp_path):
    from crm_cli.domain.errors import InvalidInput

    p = tmp_path / "sub" / "dir" / "member-template.xlsx"
    with pytest.raises(InvalidInput, match="does not exist"):
        write_member_template(p)  # a missing folder is an error, never created behind the operator's back
    assert list(tmp_path.iterdir()) == []
    p.parent.mkdir(parents=True)
    write_member_template(p)
    first = p.stat().st_size
    write_member_template(p, rows=100)
    ws = load_workbook(p)[TEMPLATE_SHEET]
    assert str({dv.type: dv for dv in ws.data_validations.dataValidation}["list"].sqref) == "D2:D101"
    assert first > 0 and [x.name for x in p.parent.iterdir()] == ["member-template.xlsx"]
