"""Member import files: streaming readers (.xlsx, .csv), header matching, file-level
refusals (BadFile) and row validation (every problem reported in one run)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook, load_workbook

from crm_cli.domain.errors import InvalidInput
from crm_cli.fileio import member_rows as mr
from crm_cli.fileio import xlsx_stream
from crm_cli.fileio.member_rows import (
    BadFile,
    MemberRow,
    ReadInfo,
    RowError,
    iter_validated,
    match_header,
    read_rows,
    validate_rows,
)
from crm_cli.fileio.spreadsheet import write_member_template

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
TODAY = date(2026, 1, 15)
HEADER = ["เบอร์โทรศัพท์*", "ชื่อ - นามสกุล*", "จำนวนพอยท์*", "เพศ", "วันเกิด", "อีเมล"]


# =============================================================================
# helpers
# =============================================================================

def xlsx(path: Path, rows: list[list], *, sheet: str = "members", header=HEADER, extra_sheets=()) -> Path:
    """A workbook written by openpyxl: first sheet(s) from extra_sheets, then ours."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, content in extra_sheets:
        ws = wb.create_sheet(name)
        for r in content:
            ws.append(r)
    ws = wb.create_sheet(sheet)
    if header is not None:
        ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def csv_file(path: Path, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def validate(path, **kw):
    return validate_rows(read_rows(path), today=TODAY, **kw)


def cells(path: Path) -> dict[int, dict]:
    return {n: row for n, row in read_rows(path)}


_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="[$-th-TH]d mmm bbbb"/></numFmts>'
    '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="49"/><xf numFmtId="14"/><xf numFmtId="165"/></cellXfs>'
    "</styleSheet>"
)


def raw_xlsx(path: Path, sheets: list[tuple[str, str]], *, sst: list[str] | str | None = None,
             date1904: bool = False, styles: str = _STYLES, compress=zipfile.ZIP_DEFLATED) -> Path:
    """A workbook from hand-written sheet XML (for layouts other writers produce)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    wbxml = f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns}>'
    if date1904:
        wbxml += '<workbookPr date1904="1"/>'
    wbxml += "<sheets>" + "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, (name, _) in enumerate(sheets, 1)
    ) + "</sheets></workbook>"
    rels = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    for i in range(1, len(sheets) + 1):
        rels += (f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                 f'Target="worksheets/sheet{i}.xml"/>')
    rels += ('<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
             '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
             "</Relationships>")
    with zipfile.ZipFile(path, "w", compress) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", wbxml)
        z.writestr("xl/_rels/workbook.xml.rels", rels)
        z.writestr("xl/styles.xml", styles)
        for i, (_, xml) in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if sst is not None:
            if isinstance(sst, list):
                sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{escape(s)}</t></si>" for s in sst) + "</sst>")
            z.writestr("xl/sharedStrings.xml", sst)
    return path


def sheet_xml(rows_xml: str, *, prefix: str = "", dimension: str | None = None) -> str:
    p = prefix + ":" if prefix else ""
    decl = f'xmlns:{prefix}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' if prefix else \
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}worksheet {decl}>{dim}'
            f"<{p}sheetData>{rows_xml}</{p}sheetData></{p}worksheet>")


def inline_header(prefix: str = "") -> str:
    p = prefix + ":" if prefix else ""
    cells_ = "".join(
        f'<{p}c r="{col}1" t="inlineStr"><{p}is><{p}t>{escape(h)}</{p}t></{p}is></{p}c>'
        for col, h in zip("ABCDEF", HEADER)
    )
    return f'<{p}row r="1">{cells_}</{p}row>'


# =============================================================================
# headers
# =============================================================================

@pytest.mark.parametrize(
    "text,field",
    [
        ("เบอร์โทรศัพท์*", "phone"), ("เบอร์โทรศัพท์ *", "phone"), ("Phone", "phone"), ("PHONE NUMBER*", "phone"),
        ("ชื่อ - นามสกุล*", "name"), ("ชื่อ-นามสกุล", "name"), ("Full name", "name"), ("name", "name"),
        ("fullname *", "name"),
        ("จำนวนพอยท์*", "points"), ("พอยท์", "points"), ("Points", "points"), (" points ", "points"),
        ("เพศ", "gender"), ("Gender", "gender"),
        ("วันเกิด", "birthday"), ("Birthday", "birthday"), ("date of birth", "birthday"),
        ("อีเมล", "email"), ("E-mail", "email"), ("EMAIL", "email"),
        ("เบอร์โทรศัพท์* / Phone*", "phone"), ("ชื่อ - นามสกุล* / Full name*", "name"),
        ("จำนวนพอยท์* (Points*)", "points"),
        ("notes", None), ("", None), (None, None), (123, None), ("phone / email", None),
    ],
)
def test_header_aliases(text, field):
    assert match_header(text) == field


def test_english_headers_in_any_order_with_extra_columns(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["x", "a@example.com", 5, "0812345678", "สมชาย ใจดี"]],
             header=["Note", "Email", "POINTS *", " phone ", "Full Name"])
    info = ReadInfo()
    rows = list(read_rows(p, info=info))
    assert rows == [(2, {"email": "a@example.com", "points": 5, "phone": "0812345678", "name": "สมชาย ใจดี"})]
    assert info.kind == "xlsx" and info.sheet == "members" and info.header_row == 1
    assert info.columns == {"email": "Email", "points": "POINTS *", "phone": "phone", "name": "Full Name"}
    assert info.ignored == ["Note"]


def test_title_rows_above_the_header(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["รายชื่อสมาชิก ร้านกาแฟ"], [], HEADER, ["0812345678", "ก ข", 1]], header=None)
    res = validate(p)
    assert [r.row for r in res.rows] == [4] and res.ok


def test_missing_required_column_is_one_file_error(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["0812345678", "ก ข"]], header=["phone", "name", "gender"])
    with pytest.raises(BadFile) as exc:
        validate(p)
    msg = str(exc.value)
    assert "จำนวนพอยท์" in msg and "Points" in msg and "\n" not in msg
    assert "phone" not in msg.split("has no")[1].split("column")[0]


def test_no_header(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["0812345678", "ก ข", 1]], header=None)
    with pytest.raises(BadFile, match="no header row"):
        validate(p)


def test_column_named_twice(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [], header=["phone", "name", "points", "เบอร์โทร"])
    with pytest.raises(BadFile, match="phone column twice"):
        validate(p)


def test_first_sheet_whose_header_matches_is_read(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["0812345678", "ก ข", 7]],
             extra_sheets=[("Sheet1", [["hello"], ["world"]]), ("notes", [["phone", "name"], ["x", "y"]])])
    info = ReadInfo()
    res = validate_rows(read_rows(p, info=info), today=TODAY)
    assert info.sheet == "members"
    assert res.rows == [MemberRow(2, "+66812345678", "ก ข", 7)]


def test_wrong_sheets_only_reports_best_partial_header(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["x"]], header=["phone", "note"],
             extra_sheets=[("a", [["nothing here"]]), ("b", [["phone", "name"]])])
    with pytest.raises(BadFile, match="sheet 'b'.*Points"):
        validate(p)


# =============================================================================
# template round trip and samples
# =============================================================================

def test_template_round_trip(tmp_path):
    path = tmp_path / "member-template.xlsx"
    write_member_template(path)
    wb = load_workbook(path)
    ws = wb["members"]
    filled = [
        ["0812345678", "สมชาย ใจดี", 120, "ชาย", "15/03/2533", "Somchai@Example.COM"],
        [898765432, "สมหญิง รักไทย", 0, "หญิง", date(1985, 7, 1), None],         # number cell, zero lost
        ["+66 61 234 5678", "วิชัย ศรีสุข", 35.0, "อื่นๆ", None, ""],
        ["02-123-4567", "ร้าน ก", 10, None, datetime(2530, 1, 2), None],        # BE year typed into a date cell
        ["66 91 234 5678", "Mali S.", 1, "F", "1990-02-03", "mali@example.com"],
    ]
    for r, values in enumerate(filled, start=2):
        for c, v in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=v)
    wb.save(path)

    info = ReadInfo()
    res = validate_rows(read_rows(path, info=info), today=TODAY)
    assert res.errors == []
    assert info.sheet == "members" and info.header_row == 1 and len(info.columns) == 6
    assert res.rows == [
        MemberRow(2, "+66812345678", "สมชาย ใจดี", 120, "male", date(1990, 3, 15), "Somchai@example.com"),
        MemberRow(3, "+66898765432", "สมหญิง รักไทย", 0, "female", date(1985, 7, 1), None),
        MemberRow(4, "+66612345678", "วิชัย ศรีสุข", 35, "other", None, None),
        MemberRow(5, "+6621234567", "ร้าน ก", 10, None, date(1987, 1, 2), None),
        MemberRow(6, "+66912345678", "Mali S.", 1, "female", date(1990, 2, 3), "mali@example.com"),
    ]
    assert res.row_count == 5 and res.points_total == 166


def test_template_example_row_is_refused(tmp_path):
    path = write_member_template(tmp_path / "t.xlsx")
    res = validate(path)
    assert res.rows == []
    assert [(e.row, e.column) for e in res.errors] == [(2, "name")]
    assert "example row" in res.errors[0].message


def test_demo_sample_is_clean():
    res = validate(SAMPLES / "members-demo.xlsx")
    assert res.errors == []
    assert 250 <= len(res.rows) <= 400
    assert len({r.phone for r in res.rows}) == len(res.rows)
    assert all(r.phone.startswith("+66") for r in res.rows)
    assert any(r.birthday for r in res.rows) and any(r.birthday is None for r in res.rows)
    assert any(r.email is None for r in res.rows) and any(r.gender is None for r in res.rows)


def test_demo_sample_has_the_promised_variety():
    raw = cells(SAMPLES / "members-demo.xlsx")
    phones = [r["phone"] for r in raw.values()]
    assert any(isinstance(p, int) for p in phones), "number cells that lost the zero"
    assert any(isinstance(p, str) and p.startswith("0") and "-" in p for p in phones)
    assert any(isinstance(p, str) and p.startswith("+66") for p in phones)
    bdays = [r.get("birthday") for r in raw.values()]
    assert any(isinstance(b, str) and b.endswith(tuple(str(y) for y in range(2490, 2560))) for b in bdays), "BE years"
    assert any(isinstance(b, date) for b in bdays), "date cells"


def test_broken_sample_reports_exactly_the_expected_errors():
    expected = list(csv.DictReader(open(SAMPLES / "members-broken.expected.csv", encoding="utf-8")))
    res = validate_rows(read_rows(SAMPLES / "members-broken.xlsx"), today=TODAY)  # the future row is 2099
    got = [(e.row, e.column) for e in res.errors]
    assert len(got) == len(set(got))
    assert sorted(got) == sorted((int(x["row"]), x["column"]) for x in expected)
    by_key = {(e.row, e.column): e.message for e in res.errors}
    for x in expected:
        assert x["reason_contains"] in by_key[(int(x["row"]), x["column"])], x
    kinds = {x["reason_contains"] for x in expected}
    assert len(kinds) >= 10
    assert {r.row for r in res.rows} == {2, 23, 27}


def test_samples_are_reproducible(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    for name in ("members-demo.xlsx", "members-broken.xlsx", "members-broken.expected.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


# =============================================================================
# every problem in one run
# =============================================================================

def test_all_errors_reported_in_one_run(tmp_path):
    rows = [
        ["0812345678", "ok one", 1],
        ["0812", "short", 1],
        ["0812345679", "", 1],
        ["0812345680", "neg", -1],
        ["081-234-5678", "dup", 1],
        ["bad", None, "x", "?", "99/99/9999", "nope"],
        ["0812345681", "ok two", 2, "หญิง", "01/02/2530", "b@example.com"],
    ]
    res = validate(xlsx(tmp_path / "m.xlsx", rows))
    assert [(e.row, e.column) for e in res.errors] == [
        (3, "phone"), (4, "name"), (5, "points"), (6, "phone"),
        (7, "phone"), (7, "name"), (7, "points"), (7, "gender"), (7, "birthday"), (7, "email"),
    ]
    assert "row 2" in res.errors[3].message
    assert [r.row for r in res.rows] == [2, 8]
    assert res.row_count == 7 and res.bad_rows == 5 and not res.ok


def test_iter_validated_streams_in_file_order(tmp_path):
    rows = [(2, {"phone": "0812345678", "name": "a", "points": 1}),
            (3, {"phone": "x", "name": "b", "points": 1}),
            (5, {"phone": "0812345679", "name": "c", "points": 2})]
    out = list(iter_validated(iter(rows), today=TODAY))
    assert [type(x).__name__ for x in out] == ["MemberRow", "RowError", "MemberRow"]
    assert [x.row for x in out] == [2, 3, 5]


def test_duplicate_phone_after_normalization_names_first_row():
    rows = [(2, {"phone": "0812345678", "name": "a", "points": 1}),
            (3, {"phone": "+66 81 234 5678", "name": "b", "points": 1}),
            (9, {"phone": 812345678, "name": "c", "points": 1})]
    res = validate_rows(rows, today=TODAY)
    assert [r.row for r in res.rows] == [2]
    assert [(e.row, e.column, e.message) for e in res.errors] == [
        (3, "phone", "duplicate phone: the same number as row 2"),
        (9, "phone", "duplicate phone: the same number as row 2"),
    ]


# =============================================================================
# field rules
# =============================================================================

def one(values: dict, **kw):
    base = {"phone": "0812345678", "name": "สมชาย ใจดี", "points": 10}
    base.update(values)
    return validate_rows([(2, base)], today=TODAY, **kw)


@pytest.mark.parametrize("raw,points", [
    (0, 0), (10, 10), (10.0, 10), ("10", 10), (" 10 ", 10), ("1,000", 1000), ("10.00", 10),
    ("๑๐๐", 100), ("+5", 5), (1_000_000_000, 1_000_000_000),
])
def test_points_accepted(raw, points):
    res = one({"points": raw})
    assert res.errors == [] and res.rows[0].points == points


@pytest.mark.parametrize("raw,reason", [
    (-1, "negative"), (-0.5, "whole number"), ("-5", "negative"), (10.5, "whole number"),
    ("10.5", "whole number"), ("abc", "whole number"), ("1,00", "whole number"), (True, "TRUE/FALSE"),
    (date(2020, 1, 1), "date"), (float("inf"), "not a number"), (10**10, "too many"), ("", "required"),
    (None, "required"), ("   ", "required"), ("1" * 1001, "too long"),
])
def test_points_rejected(raw, reason):
    res = one({"points": raw})
    assert res.rows == [] and len(res.errors) == 1
    assert res.errors[0].column == "points" and reason in res.errors[0].message


@pytest.mark.parametrize("raw,gender", [
    ("ชาย", "male"), ("หญิง", "female"), ("อื่นๆ", "other"), ("อื่น ๆ", "other"), ("ไม่ระบุ", "unspecified"),
    ("male", "male"), ("Female", "female"), ("OTHER", "other"), ("M", "male"), ("f", "female"),
    (" ชาย ", "male"), ("unspecified", "unspecified"), ("", None), (None, None),
])
def test_gender_accepted(raw, gender):
    res = one({"gender": raw})
    assert res.errors == [] and res.rows[0].gender == gender


@pytest.mark.parametrize("raw", ["x", "ชายหญิง", 1, True, "mail"])
def test_gender_rejected(raw):
    res = one({"gender": raw})
    assert [(e.column, "ชาย" in e.message) for e in res.errors] == [("gender", True)]


@pytest.mark.parametrize("raw,expected", [
    (date(1990, 3, 15), date(1990, 3, 15)),
    (datetime(1990, 3, 15, 12, 30), date(1990, 3, 15)),
    (date(2533, 3, 15), date(1990, 3, 15)),             # BE year in a date cell
    ("15/03/1990", date(1990, 3, 15)),
    ("5/3/1990", date(1990, 3, 5)),
    ("15-03-1990", date(1990, 3, 15)),
    ("15.03.1990", date(1990, 3, 15)),
    ("15/03/2533", date(1990, 3, 15)),                  # Buddhist Era
    ("29/02/2543", date(2000, 2, 29)),                  # BE leap day (2000 CE)
    ("1990-03-15", date(1990, 3, 15)),
    ("2533-03-15", date(1990, 3, 15)),
    ("1990-03-15 00:00:00", date(1990, 3, 15)),
    ("15 มี.ค. 2533", date(1990, 3, 15)),
    ("15 มีนาคม 2533", date(1990, 3, 15)),
    ("15 Mar 1990", date(1990, 3, 15)),
    ("๑๕/๐๓/๒๕๓๓", date(1990, 3, 15)),
    ("15/01/2026", date(2026, 1, 15)),                  # today is fine
    ("", None),
])
def test_birthday_accepted(raw, expected):
    res = one({"birthday": raw})
    assert res.errors == [] and res.rows[0].birthday == expected


@pytest.mark.parametrize("raw,reason", [
    ("31/02/2025", "not a real date"),
    ("29/02/2542", "not a real date"),                  # 1999 CE is not a leap year
    ("32/01/1990", "not a real date"),
    ("16/01/2026", "future"),
    ("01/01/2570", "future"),                            # BE 2570 = 2027
    (date(2030, 1, 1), "future"),
    ("1899-12-31", "before 1900"),
    ("15/03/90", "4-digit year"),
    ("yesterday", "not a date"),
    ("15/03", "not a date"),
    (32874, "a number, not a date"),
    (True, "not a date"),
    ("1990/15/03/01", "not a date"),
])
def test_birthday_rejected(raw, reason):
    res = one({"birthday": raw})
    assert len(res.errors) == 1 and res.errors[0].column == "birthday"
    assert reason in res.errors[0].message


def test_today_is_an_argument_not_a_hidden_clock():
    row = [(2, {"phone": "0812345678", "name": "a", "points": 1, "birthday": "02/03/2026"})]
    assert validate_rows(row, today=date(2026, 3, 2)).errors == []
    assert "future" in validate_rows(row, today=date(2026, 3, 1)).errors[0].message
    with pytest.raises(TypeError):
        validate_rows(row)  # no default: the caller passes the Bangkok day of the import


@pytest.mark.parametrize("raw,expected", [
    ("a@example.com", "a@example.com"),
    (" First.Last+tag@Example.CO.TH ", "First.Last+tag@example.co.th"),
    ("o'brien@example.com", "o'brien@example.com"),
    ("", None),
])
def test_email_accepted(raw, expected):
    res = one({"email": raw})
    assert res.errors == [] and res.rows[0].email == expected


@pytest.mark.parametrize("raw,reason", [
    ("plain", "not a valid"), ("a@b", "not a valid"), ("a@@b.com", "not a valid"), ("a b@c.com", "not a valid"),
    (".a@b.com", "not a valid"), ("a..b@c.com", "not a valid"), ("a@b..com", "not a valid"),
    ("a@-b.com", "not a valid"), ("a@b.com, c@d.com", "not a valid"), ("=a@b.com", "formula"),
    ("x" * 65 + "@example.com", "64"), ("a@" + "b" * 250 + ".com", "too long"), (5, "not an email"),
    ("a" * 1001, "too long"),
])
def test_email_rejected(raw, reason):
    res = one({"email": raw})
    assert len(res.errors) == 1 and res.errors[0].column == "email" and reason in res.errors[0].message


@pytest.mark.parametrize("raw,expected", [
    ("  สมชาย   ใจดี ", "สมชาย ใจดี"), ("สมชาย\u200bใจดี", "สมชายใจดี"), ("A-B Shop", "A-B Shop"),
    ("@somchai", "@somchai"), ("ก" * 200, "ก" * 200),
])
def test_name_accepted(raw, expected):
    res = one({"name": raw})
    assert res.errors == [] and res.rows[0].name == expected


@pytest.mark.parametrize("raw,reason", [
    ("", "required"), (None, "required"), ("   ", "required"), ("=1+2", "formula"),
    ("=HYPERLINK(\"http://evil\",\"x\")", "formula"), ("ก" * 201, "too long"), ("ก" * 1001, "cell too long"),
    (12345, "a number"), ("a\x01b", "control"), (date(2020, 1, 1), "not a name"),
])
def test_name_rejected(raw, reason):
    res = one({"name": raw})
    assert len(res.errors) == 1 and res.errors[0].column == "name" and reason in res.errors[0].message


def test_phone_errors_keep_the_reason():
    res = one({"phone": "0812"})
    assert res.errors[0].message.startswith("invalid phone number: too short")
    res = one({"phone": "9" * 1500})
    assert "cell too long (1,500 characters" in res.errors[0].message
    assert len(res.errors[0].value) <= 80
    res = one({"phone": None})
    assert "required" in res.errors[0].message


def test_error_values_are_shown_as_text():
    res = validate_rows([(2, {"phone": 8.5, "name": 7.0, "points": True, "birthday": datetime(2099, 1, 2, 3, 4)})],
                        today=TODAY)
    assert {e.column: e.value for e in res.errors} == {
        "phone": "8.5", "name": "7", "points": "TRUE", "birthday": "2099-01-02 03:04:00"}
    assert all(isinstance(e, RowError) for e in res.errors)


def test_member_rows_are_frozen():
    r = one({}).rows[0]
    with pytest.raises(Exception):
        r.points = 5  # type: ignore[misc]
    assert r == MemberRow(2, "+66812345678", "สมชาย ใจดี", 10)


# =============================================================================
# row limit
# =============================================================================

def _limited(n_yielded: list, total: int):
    for i in range(total):
        n_yielded[0] += 1
        yield i + 2, {"phone": f"08{i:08d}", "name": "x", "points": 1}


def test_5000_rows_is_fine_and_5001_is_a_file_error(tmp_path):
    assert validate_rows(_limited([0], 5000), today=TODAY).row_count == 5000
    seen = [0]
    with pytest.raises(BadFile, match="more than 5,000 member rows") as exc:
        validate_rows(_limited(seen, 1_000_000), today=TODAY)
    assert seen[0] == 5001, "reading stops at max_rows + 1"
    assert "--max-rows" in str(exc.value)


def test_max_rows_can_be_raised_or_lowered():
    assert validate_rows(_limited([0], 7000), max_rows=10000, today=TODAY).row_count == 7000
    with pytest.raises(BadFile, match="more than 3 member rows"):
        validate_rows(_limited([0], 4), max_rows=3, today=TODAY)


def test_5001_row_xlsx_and_csv(tmp_path):
    rows = [[f"08{i:08d}", "x", 1] for i in range(5001)]
    p = xlsx(tmp_path / "big.xlsx", rows)
    with pytest.raises(BadFile, match="row 5002 is member 5,001"):
        validate(p)
    text = "phone,name,points\n" + "".join(f"08{i:08d},x,1\n" for i in range(5001))
    with pytest.raises(BadFile, match="more than 5,000"):
        validate(csv_file(tmp_path / "big.csv", text))
    assert validate(p, max_rows=5001).row_count == 5001


def test_blank_rows_do_not_count(tmp_path):
    rows = [["0812345678", "a", 1], [None, None, None], ["", "  ", None], ["0812345679", "b", 2]]
    p = xlsx(tmp_path / "m.xlsx", rows)
    wb = load_workbook(p)
    ws = wb["members"]
    for r in range(6, 60):                      # trailing rows that were formatted, never filled
        ws.cell(row=r, column=1).number_format = "@"
        ws.cell(row=r, column=4).value = None
    ws.cell(row=70, column=2, value="   ")      # a stray space far below
    wb.save(p)
    res = validate(p, max_rows=2)
    assert [r.row for r in res.rows] == [2, 5] and res.errors == []


# =============================================================================
# CSV
# =============================================================================

CSV_TEXT = "phone,ชื่อ-นามสกุล,พอยท์,เพศ,วันเกิด,email\n0812345678,สมชาย ใจดี,100,ชาย,15/03/2533,a@example.com\n"


@pytest.mark.parametrize("bom", [True, False])
def test_csv_utf8_with_or_without_bom(tmp_path, bom):
    info = ReadInfo()
    res = validate_rows(read_rows(csv_file(tmp_path / "m.csv", CSV_TEXT, bom=bom), info=info), today=TODAY)
    assert res.errors == [] and info.kind == "csv" and info.columns["phone"] == "phone"
    assert res.rows == [MemberRow(2, "+66812345678", "สมชาย ใจดี", 100, "male", date(1990, 3, 15), "a@example.com")]


def test_csv_mixed_line_endings_and_quoted_newlines(tmp_path):
    text = ("phone,name,points\r\n0812345678,a,1\n0812345679,b,2\r0812345680,\"multi\nline\",3\r\n\r\n"
            "0812345681,d,4")
    res = validate(csv_file(tmp_path / "m.csv", text))
    assert [(r.row, r.name) for r in res.rows] == [(2, "a"), (3, "b"), (6, "d")]
    # a line break inside a name is refused (names are one line), on the row it starts in
    assert [(e.row, e.column) for e in res.errors] == [(4, "name")] and "line break" in res.errors[0].message


def test_csv_semicolons_tabs_and_sep_line(tmp_path):
    for i, text in enumerate([
        "phone;name;points\n0812345678;a;1\n",
        "phone\tname\tpoints\n0812345678\ta\t1\n",
        "sep=;\nphone;name;points\n0812345678;a;1\n",
        "\n\nphone,name,points\n0812345678,a,1\n",
    ]):
        res = validate(csv_file(tmp_path / f"m{i}.csv", text))
        assert [r.phone for r in res.rows] == ["+66812345678"], text
    assert validate(csv_file(tmp_path / "s.csv", "sep=;\nphone;name;points\n0812345678;a;1\n")).rows[0].row == 3


def test_csv_keeps_leading_zero_text_and_excel_tricks(tmp_path):
    text = "phone,name,points\n'0812345678,a,1\n\"=\"\"0812345679\"\"\",b,2\n812345680,c,3\n"
    res = validate(csv_file(tmp_path / "m.csv", text))
    assert [r.phone for r in res.rows] == ["+66812345678", "+66812345679", "+66812345680"]


def test_csv_not_utf8(tmp_path):
    p = csv_file(tmp_path / "thai.csv", "phone,name,points\n0812345678,สมชาย ใจดี,1\n", encoding="cp874")
    with pytest.raises(BadFile) as exc:
        validate(p)
    msg = str(exc.value)
    assert "not UTF-8" in msg and "874" in msg and "CSV UTF-8" in msg and "\n" not in msg
    p = tmp_path / "latin.csv"
    p.write_bytes(b"phone,name,points\n0812345678,Jos\xe9,1\n")
    with pytest.raises(BadFile, match="not UTF-8"):
        validate(p)


def test_csv_nul_bytes(tmp_path):
    p = tmp_path / "nul.csv"
    p.write_bytes(b"phone,name,points\n0812345678,a\x00b,1\n")
    with pytest.raises(BadFile, match="NUL bytes"):
        validate(p)
    p.write_bytes(b"phone,name\x00,points\n")
    with pytest.raises(BadFile, match="NUL bytes"):
        validate(p)


def test_csv_utf16_and_empty(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("phone,name,points\n".encode("utf-16"))
    with pytest.raises(BadFile, match="UTF-16"):
        validate(p)
    with pytest.raises(BadFile, match="empty"):
        validate(csv_file(tmp_path / "e.csv", ""))
    with pytest.raises(BadFile, match="no rows"):
        validate(csv_file(tmp_path / "b.csv", "\n\n  \n", bom=True))


def test_csv_huge_cell_and_short_rows(tmp_path):
    text = "phone,name,points,email\n0812345678," + "ก" * 1200 + ",1\n0812345679,b\n"
    res = validate(csv_file(tmp_path / "m.csv", text))
    assert [(e.row, e.column) for e in res.errors] == [(2, "name"), (3, "points")]
    p = csv_file(tmp_path / "huge.csv", "phone,name,points\n0812345678," + "x" * 200_000 + ",1\n")
    with pytest.raises(BadFile, match="larger than"):
        validate(p)


def test_csv_that_is_really_a_workbook(tmp_path):
    src = xlsx(tmp_path / "m.xlsx", [])
    p = tmp_path / "m.csv"
    p.write_bytes(src.read_bytes())
    with pytest.raises(BadFile, match="rename it to .xlsx"):
        list(read_rows(p))


# =============================================================================
# XLSX cell types and layouts
# =============================================================================

def test_xlsx_typed_cells(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [
        [812345678, "a & <b>", 10.0, "M", date(1990, 1, 2), "x@example.com"],
        [812345679.0, "tab\tin", 3, None, datetime(1991, 2, 3, 4, 5, 6), None],
        ["0812345680", True, 1.5, None, "15/03/2533", None],
    ])
    got = cells(p)
    assert got[2] == {"phone": 812345678, "name": "a & <b>", "points": 10, "gender": "M",
                      "birthday": date(1990, 1, 2), "email": "x@example.com"}
    assert got[3]["phone"] == 812345679 and got[3]["birthday"] == datetime(1991, 2, 3, 4, 5, 6)
    assert got[4] == {"phone": "0812345680", "name": True, "points": 1.5, "birthday": "15/03/2533"}


def test_shared_strings_rich_text_phonetic_and_escapes(tmp_path):
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + "".join(f"<si><t>{escape(h)}</t></si>" for h in HEADER)
           + '<si><t xml:space="preserve"> 0812345678 </t></si>'                                  # 6
           + "<si><r><rPr><b/></rPr><t>สมชาย</t></r><r><t xml:space=\"preserve\"> ใจดี</t></r></si>"  # 7
           + "<si><t>A&amp;B_x000D_</t></si>"                                                       # 8
           + "<si><t>漢字</t><rPh sb=\"0\" eb=\"2\"><t>かんじ</t></rPh><phoneticPr fontId=\"1\"/></si>"  # 9
           + "<si><t/></si>"                                                                        # 10
           + "<si><t>&#3594;&#3634;&#3618;</t></si>"                                                # 11 ชาย
           + "</sst>")
    rows = ('<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDEF")) + "</row>"
            '<row r="2"><c r="A2" t="s"><v>6</v></c><c r="B2" t="s"><v>7</v></c><c r="C2"><v>5</v></c>'
            '<c r="D2" t="s"><v>11</v></c></row>'
            '<row r="3"><c r="A3"><v>812345679</v></c><c r="B3" t="s"><v>8</v></c><c r="C3"><v>1</v></c>'
            '<c r="F3" t="s"><v>10</v></c></row>'
            '<row r="4"><c r="A4"><v>812345670</v></c><c r="B4" t="s"><v>9</v></c><c r="C4"><v>1</v></c></row>')
    p = raw_xlsx(tmp_path / "s.xlsx", [("Sheet1", sheet_xml(rows))], sst=sst)
    got = cells(p)
    assert got[2] == {"phone": " 0812345678 ", "name": "สมชาย ใจดี", "points": 5, "gender": "ชาย"}
    assert got[3]["name"] == "A&B\r" and "email" not in got[3]
    assert got[4]["name"] == "漢字"
    res = validate(p)
    assert [r.phone for r in res.rows] == ["+66812345678", "+66812345679", "+66812345670"]


def test_formulas_booleans_errors_iso_dates_and_1904(tmp_path):
    rows = (inline_header()
            + '<row r="2"><c r="A2" t="str"><f>"0"&amp;"812345678"</f><v>0812345678</v></c>'
            '<c r="B2" t="str"><f>UPPER("x")</f><v>X &amp; Y</v></c><c r="C2"><f>2*5</f><v>10</v></c>'
            '<c r="D2" t="e"><v>#N/A</v></c><c r="E2" t="d"><v>1990-03-15T00:00:00</v></c>'
            '<c r="F2" t="b"><v>1</v></c></row>'
            '<row r="3"><c r="A3"><v>812345679</v></c><c r="B3" t="inlineStr"><is><t>n</t></is></c>'
            '<c r="C3"><f>1/0</f></c><c r="E3" s="1"><v>31486</v></c></row>')
    p = raw_xlsx(tmp_path / "f.xlsx", [("s", sheet_xml(rows))])
    got = cells(p)
    assert got[2] == {"phone": "0812345678", "name": "X & Y", "points": 10, "gender": "#N/A",
                      "birthday": date(1990, 3, 15), "email": True}
    assert got[3] == {"phone": 812345679, "name": "n", "birthday": date(1986, 3, 15)}
    p1904 = raw_xlsx(tmp_path / "f1904.xlsx", [("s", sheet_xml(rows))], date1904=True)
    assert cells(p1904)[3]["birthday"] == date(1990, 3, 16)


@pytest.mark.parametrize("code,is_date", [
    ("dd/mm/yyyy", True), ("d mmm yy", True), ("[$-th-TH]d mmm bbbb", True), ("[$-D07041E]d/m/yyyy", True),
    ("h:mm AM/PM", True), ("[h]:mm:ss", True), ("yyyy\\-mm\\-dd", True), ("ว/ด/ปปปป", True),
    ("General", False), ("0", False), ("0.00", False), ("#,##0", False), ("0.00E+00", False),
    ("@", False), ('"day" 0', False), ("[Red]0.00", False), ("#,##0;[Red]-#,##0", False),
])
def test_date_format_detection(code, is_date):
    assert xlsx_stream._is_date_format(code) is is_date


def test_builtin_date_styles(tmp_path):
    rows = inline_header() + '<row r="2"><c r="A2"><v>812345678</v></c><c r="E2" s="3"><v>32874</v></c>' \
                             '<c r="C2" s="2"><v>7</v></c><c r="B2" s="4"><v>32874</v></c></row>'
    got = cells(raw_xlsx(tmp_path / "b.xlsx", [("s", sheet_xml(rows))]))
    assert got[2] == {"phone": 812345678, "birthday": date(1990, 1, 1), "points": 7, "name": date(1990, 1, 1)}


def test_prefixed_namespace_and_missing_cell_refs_use_the_generic_parser(tmp_path):
    rows = (inline_header("x")
            + '<x:row r="2"><x:c t="inlineStr"><x:is><x:t>0812345678</x:t></x:is></x:c>'
              '<x:c t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c><x:v>3</x:v></x:c></x:row>'
            + '<x:row><x:c r="A3" t="inlineStr"><x:is><x:t><![CDATA[0812345679]]></x:t></x:is></x:c>'
              '<x:c r="B3" t="inlineStr"><x:is><x:t>b &amp; c</x:t></x:is></x:c><x:c r="C3"><x:v>4</x:v></x:c></x:row>')
    p = raw_xlsx(tmp_path / "x.xlsx", [("s", sheet_xml(rows, prefix="x"))])
    assert cells(p) == {2: {"phone": "0812345678", "name": "a", "points": 3},
                        3: {"phone": "0812345679", "name": "b & c", "points": 4}}


def test_cells_the_scanner_cannot_account_for_fall_back_per_chunk(tmp_path):
    rows = (inline_header()
            + '<row r="2"><c s="0" r="A2" t="inlineStr"><is><t>0812345678</t></is></c>'   # r not first
              '<c r="B2" t="inlineStr"><is><t>a</t></is></c><c r="C2"><v>3</v></c></row>'
            + '<row r="3">\n  <c r="A3">\n    <v>812345679</v>\n  </c>\n'                  # pretty-printed
              '  <c r="B3" t="inlineStr"><is><t><![CDATA[x <c r="Z9"> y]]></t></is></c><c r="C3"><v>4</v></c>\n</row>')
    p = raw_xlsx(tmp_path / "odd.xlsx", [("s", sheet_xml(rows))])
    assert cells(p) == {2: {"phone": "0812345678", "name": "a", "points": 3},
                        3: {"phone": 812345679, "name": 'x <c r="Z9"> y', "points": 4}}


def test_reader_matches_calamine_on_the_samples():
    calamine = pytest.importorskip("python_calamine")
    for name in ("members-demo.xlsx", "members-broken.xlsx"):
        path = SAMPLES / name
        sheet = calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        expected = {}
        for i, row in enumerate(sheet.to_python(skip_empty_area=False)[1:], start=2):
            d = {f: _norm(v) for f, v in zip(mr.FIELDS, row) if _norm(v) is not None}
            if d:
                expected[i] = d
        got = {n: {k: _norm(v) for k, v in row.items()} for n, row in read_rows(path)}
        assert got == expected


def _norm(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, datetime) and v.time() == datetime.min.time():
        return v.date()
    return None if v == "" else v


def test_large_sheet_streams_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_stream, "CHUNK", 4096)
    rows = [[f"08{i:08d}", f"ชื่อ {i}", i] for i in range(3000)]
    p = xlsx(tmp_path / "m.xlsx", rows)
    res = validate(p)
    assert res.errors == [] and len(res.rows) == 3000
    assert res.rows[-1] == MemberRow(3001, "+66800002999", "ชื่อ 2999", 2999)


def test_shared_strings_are_loaded_lazily(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_stream, "CHUNK", 4096)
    n = 20000
    sst = HEADER + [f"08{i:08d}" for i in range(n)]
    rows = ('<row r="1">' + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDEF")) + "</row>"
            + "".join(f'<row r="{i + 2}"><c r="A{i + 2}" t="s"><v>{i + 6}</v></c><c r="B{i + 2}" t="inlineStr">'
                      f'<is><t>n</t></is></c><c r="C{i + 2}"><v>1</v></c></row>' for i in range(n)))
    p = raw_xlsx(tmp_path / "lazy.xlsx", [("s", sheet_xml(rows))], sst=sst)
    it = read_rows(p)
    first = [next(it) for _ in range(10)]
    assert first[-1] == (11, {"phone": "0800000009", "name": "n", "points": 1})
    loaded = _loaded_strings(it)
    assert 0 < loaded < n // 2
    it.close()
    with pytest.raises(BadFile, match="more than 100"):
        validate(p, max_rows=100)


def _loaded_strings(gen) -> int:
    wb = gen.gi_frame.f_locals["wb"]
    return len(wb.sst.offs) - 1


def test_shared_string_index_out_of_range(tmp_path):
    rows = inline_header() + '<row r="2"><c r="A2" t="s"><v>99</v></c></row>'
    p = raw_xlsx(tmp_path / "bad.xlsx", [("s", sheet_xml(rows))], sst=["x"])
    with pytest.raises(BadFile, match="damaged"):
        validate(p)


def test_sparse_cells_far_apart_do_not_blow_up(tmp_path):
    """One cell in A1 and one in XFD1048576 make grid-building readers allocate
    hundreds of GB; the streaming reader keeps only the known columns."""
    rows = inline_header() + ('<row r="2"><c r="A2"><v>812345678</v></c><c r="B2" t="inlineStr"><is><t>a</t></is></c>'
                              '<c r="C2"><v>1</v></c></row><row r="1048575"><c r="XFD1048575"><v>1</v></c></row>')
    p = raw_xlsx(tmp_path / "sparse.xlsx", [("s", sheet_xml(rows, dimension="A1:C2"))])
    res = validate(p)
    assert [r.row for r in res.rows] == [2] and res.errors == []


def test_dimension_claiming_every_row_is_refused(tmp_path):
    rows = inline_header() + '<row r="2"><c r="A2"><v>812345678</v></c></row>'
    p = raw_xlsx(tmp_path / "dim.xlsx", [("s", sheet_xml(rows, dimension="A1:F1048576"))])
    with pytest.raises(BadFile, match="1,048,576 rows") as exc:
        validate(p)
    assert "new sheet" in str(exc.value)


def test_empty_sheets(tmp_path):
    p = raw_xlsx(tmp_path / "e.xlsx", [("s", sheet_xml("").replace("<sheetData></sheetData>", "<sheetData/>"))])
    with pytest.raises(BadFile, match="no header"):
        validate(p)
    p = raw_xlsx(tmp_path / "h.xlsx", [("s", sheet_xml(inline_header()))])
    res = validate(p)
    assert res.rows == [] and res.errors == [] and res.row_count == 0


# =============================================================================
# broken files and zip bombs
# =============================================================================

def test_broken_zip(tmp_path):
    good = xlsx(tmp_path / "good.xlsx", [["0812345678", "a", 1]]).read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(BadFile, match="damaged|cannot be opened") as exc:
        validate(truncated)
    assert "save it again" in str(exc.value)
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    with pytest.raises(BadFile):
        validate(garbage)


def test_corrupted_sheet_data_inside_a_valid_zip(tmp_path):
    src = xlsx(tmp_path / "good.xlsx", [["0812345678", "a", 1]])
    out = tmp_path / "flipped.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, data)
    raw = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + 40):
        raw[i] ^= 0x5A
    out.write_bytes(bytes(raw))
    with pytest.raises(BadFile, match="damaged|not valid XML"):
        validate(out)


@pytest.mark.parametrize("name,data,match", [
    ("empty.xlsx", b"", "empty"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "97-2003"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "97-2003"),
    ("page.xlsx", b"<html><body>table</body></html>", "web page"),
    ("text.xlsx", b"phone,name,points\n", "not a zip"),
    ("members.ods", b"PK\x03\x04whatever", "not supported"),
    ("members.pdf", b"%PDF-1.4", "unsupported file type"),
    ("members", b"phone,name,points\n", "unsupported file type"),
])
def test_not_a_member_file(tmp_path, name, data, match):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(BadFile, match=match) as exc:
        list(read_rows(p))
    assert "\n" not in str(exc.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BadFile, match="not found"):
        read_rows(tmp_path / "nope.xlsx")
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(BadFile, match="directory"):
        read_rows(d)


def test_zip_that_is_not_a_workbook(tmp_path):
    p = tmp_path / "z.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(BadFile, match="not an Excel workbook"):
        validate(p)
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("xl/workbook.bin", b"\0")
    with pytest.raises(BadFile, match="xlsb"):
        validate(p)


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    """200 MB of XML that compresses ~1000:1 is refused from the zip directory alone."""
    p = tmp_path / "bomb.xlsx"
    good = xlsx(tmp_path / "good.xlsx", [["0812345678", "a", 1]])
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with zout.open(info.filename, "w", force_zip64=True) as fh:
                    fh.write(zin.read(info.filename).replace(b"</worksheet>", b""))
                    block = b"<!--" + b" " * (1 << 20) + b"-->"
                    for _ in range(200):
                        fh.write(block)
                    fh.write(b"</worksheet>")
            else:
                zout.writestr(info, zin.read(info.filename))
    assert p.stat().st_size < 2_000_000
    with pytest.raises(BadFile, match="zip bomb") as exc:
        validate(p)
    assert "times its size" in str(exc.value)


def test_declared_sizes_over_the_limits_are_refused(tmp_path, monkeypatch):
    p = xlsx(tmp_path / "m.xlsx", [["0812345678", "a", 1]])
    monkeypatch.setattr(xlsx_stream, "MAX_PART_BYTES", 500)
    with pytest.raises(BadFile, match="would unpack to"):
        validate(p)
    monkeypatch.setattr(xlsx_stream, "MAX_PART_BYTES", 1 << 30)
    monkeypatch.setattr(xlsx_stream, "MAX_TOTAL_BYTES", 2000)
    with pytest.raises(BadFile, match="would unpack to"):
        validate(p)
    monkeypatch.setattr(xlsx_stream, "MAX_TOTAL_BYTES", 2 << 30)
    monkeypatch.setattr(xlsx_stream, "MAX_ZIP_ENTRIES", 3)
    with pytest.raises(BadFile, match="parts"):
        validate(p)


def test_lying_zip_directory_is_caught(tmp_path):
    """An entry that inflates to more than its directory entry declares is cut off
    at the declared size and then fails the CRC check: refused, not trusted."""
    good = xlsx(tmp_path / "good.xlsx", [["0812345678", "a", 1]] * 3)
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        central = z.start_dir
    header = raw.find(b"xl/worksheets/sheet1.xml", central) - 46      # central directory record
    assert raw[header:header + 4] == b"PK\x01\x02" and info.file_size > 100
    raw[header + 24:header + 28] = (100).to_bytes(4, "little")        # declared uncompressed size
    p = tmp_path / "liar.xlsx"
    p.write_bytes(bytes(raw))
    with pytest.raises(BadFile, match="damaged"):
        validate(p)


def test_bad_file_is_an_invalid_input_value_error():
    assert issubclass(BadFile, ValueError) and issubclass(BadFile, InvalidInput)
    assert BadFile("x").exit_code == InvalidInput.exit_code


def test_row_larger_than_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_stream, "MAX_ROW_BYTES", 50_000)
    monkeypatch.setattr(xlsx_stream, "CHUNK", 8192)
    big = "".join(f'<c r="{xlsx_stream._col_letters(i)}2"><v>1</v></c>' for i in range(1, 8000))
    rows = inline_header() + f'<row r="2">{big}</row>'
    p = raw_xlsx(tmp_path / "wide.xlsx", [("s", sheet_xml(rows))])
    with pytest.raises(BadFile, match="larger than"):
        validate(p)


def test_huge_cells_are_row_errors(tmp_path):
    p = xlsx(tmp_path / "m.xlsx", [["0812345678", "x" * 5000, 1, "y" * 2000, "z" * 3000, "w" * 1500]])
    res = validate(p)
    assert [(e.column, "too long" in e.message) for e in res.errors] == [
        ("name", True), ("gender", True), ("birthday", True), ("email", True)]
    assert all(len(e.value) <= 80 for e in res.errors)


def test_csv_and_xlsx_give_the_same_result(tmp_path):
    rows = [["0812345678", "สมชาย ใจดี", "100", "ชาย", "15/03/2533", "a@example.com"],
            ["812345679", "b", "1,000", "", "", ""],
            ["x", "", "-1", "?", "31/02/2020", "bad"]]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    a = validate(csv_file(tmp_path / "m.csv", buf.getvalue(), bom=True))
    b = validate(xlsx(tmp_path / "m.xlsx", rows))
    assert a.rows == b.rows and a.errors == b.errors and len(a.errors) == 6


def test_excel_style_sheet_with_extension_namespaces(tmp_path):
    """The layout Excel itself writes: mc/x14ac namespaces on the root and rows,
    shared strings, styled date cells; one odd row sends its chunk to the generic
    parser, which must know the root's namespace prefixes."""
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            "xmlns:r='http://schemas.openxmlformats.org/officeDocument/2006/relationships' "
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac xr" '
            'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
            'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" xr:uid="{00000000-0001}">'
            '<dimension ref="A1:F3"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/><cols><col min="1" max="1" width="15" style="2"/></cols>'
            "<sheetData>")
    rows = ('<row r="1" spans="1:6" x14ac:dyDescent="0.25">'
            + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDEF")) + "</row>"
            '<row r="2" spans="1:6" x14ac:dyDescent="0.25"><c r="A2" s="2" t="s"><v>6</v></c>'
            '<c r="B2" t="s"><v>7</v></c><c r="C2"><v>120</v></c><c r="E2" s="3"><v>32947</v></c></row>'
            '<row r="3" spans="1:6" x14ac:dyDescent="0.25"><c s="2" r="A3" t="s"><v>8</v></c>'
            '<c r="B3" t="s"><v>7</v></c><c r="C3"><v>5</v></c></row>')
    tail = ('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>")
    p = raw_xlsx(tmp_path / "excel.xlsx", [("Sheet1", head + rows + tail)],
                 sst=HEADER + ["0812345678", "สมชาย ใจดี", "0812345679"])
    res = validate(p)
    assert res.errors == []
    assert res.rows == [MemberRow(2, "+66812345678", "สมชาย ใจดี", 120, None, date(1990, 3, 15)),
                        MemberRow(3, "+66812345679", "สมชาย ใจดี", 5)]
