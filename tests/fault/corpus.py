"""The bad-input corpus: malformed member and order files, built into a directory at test time.

Nothing here is committed as a binary file: every workbook is written by hand with
``zipfile`` (so damaged and hostile ones are easy to make), every CSV as bytes.

``build(directory)`` returns a list of :class:`Case`; each names the file, the command
it is fed to (``member`` for ``crm member import``, ``orders`` for ``crm orders
import``), a word the one-line error must contain (case-insensitive), and whether it
runs in a separate process under a memory cap (the hostile ones: zip bombs, huge
files). ``VALID`` cases are controls built by the same code that must import cleanly,
so a refusal is known to come from the defect and not from the builder.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

HEADER = ["phone", "name", "points", "gender", "birthday", "email"]
TH_HEADER = ["เบอร์โทรศัพท์* / Phone*", "ชื่อ - นามสกุล* / Full name*", "จำนวนพอยท์* / Points*", "เพศ / Gender",
             "วันเกิด / Birthday", "อีเมล / Email"]


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    command: str = "member"  # member | orders
    expect: str = ""  # a word the error line must contain
    isolated: bool = False  # run as its own process under the memory cap
    slow: bool = False  # only with CRM_TEST_ALL=1
    valid: bool = False  # a control: must import


def good_rows(n: int, start: int = 0) -> list[list[str]]:
    return [[f"08{20000000 + i:08d}", f"Member {i}", str(i % 300), "F" if i % 2 else "M", "15/03/1990",
             f"m{i}@example.com"] for i in range(start, start + n)]


# ---------------------------------------------------------------- CSV


def csv_bytes(rows: list[list[str]], *, header: list[str] | None = HEADER, eol: str = "\r\n", bom: bool = False,
              encoding: str = "utf-8") -> bytes:
    lines = ([",".join(header)] if header is not None else []) + [",".join(_csv_cell(c) for c in r) for r in rows]
    text = eol.join(lines) + eol
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def _csv_cell(c: str) -> str:
    if any(ch in c for ch in ',"\r\n'):
        return '"' + c.replace('"', '""') + '"'
    return c


# ---------------------------------------------------------------- XLSX, written by hand


def _col(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def cell_xml(ref: str, v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"><v>{v}</v></c>'
    if isinstance(v, Formula):
        cached = "" if v.cached is None else f"<v>{escape(v.cached)}</v>"
        t = ' t="str"' if v.cached is not None else ""
        return f'<c r="{ref}"{t}><f>{escape(v.text)}</f>{cached}</c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


@dataclass(frozen=True)
class Formula:
    text: str
    cached: str | None = None


def rows_xml(rows: list[list], first_row: int = 1) -> str:
    out = []
    for i, r in enumerate(rows):
        n = first_row + i
        cells = "".join(cell_xml(f"{_col(j)}{n}", v) for j, v in enumerate(r))
        out.append(f'<row r="{n}">{cells}</row>')
    return "".join(out)


def sheet_xml(body: str, *, dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def workbook_parts(sheets: list[tuple[str, bytes]], *, shared: bytes | None = None) -> dict[str, bytes]:
    ns_r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet_els = "".join(f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, (n, _) in enumerate(sheets))
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{ns_r}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheets))
    )
    if shared is not None:
        rels += f'<Relationship Id="rIdS" Type="{ns_r}/sharedStrings" Target="sharedStrings.xml"/>'
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ).encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns_r}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{ns_r}"><sheets>{sheet_els}</sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>"
        ).encode(),
    }
    for i, (_, xml) in enumerate(sheets):
        parts[f"xl/worksheets/sheet{i + 1}.xml"] = xml
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    return parts


def write_zip(path: Path, parts: dict[str, bytes], *, level: int = 6) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def xlsx(path: Path, rows: list[list], *, sheet: str = "Members", header: list | None = HEADER,
         dimension: str | None = None, extra_sheets: list[tuple[str, list[list]]] = ()) -> Path:
    all_rows = ([header] if header is not None else []) + rows
    sheets = [(n, sheet_xml(rows_xml(r))) for n, r in extra_sheets]
    sheets.append((sheet, sheet_xml(rows_xml(all_rows), dimension=dimension)))
    return write_zip(path, workbook_parts(sheets))


def stream_xlsx(path: Path, n_rows: int, *, dimension: str | None = None) -> Path:
    """A workbook with ``n_rows`` member rows, the sheet XML streamed into the zip (no big string in memory)."""
    head = rows_xml([HEADER])
    parts = workbook_parts([("Members", b"")])
    sheet_name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            if name != sheet_name:
                zf.writestr(name, data)
        with zf.open(sheet_name, "w", force_zip64=True) as out:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            out.write(('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                       f'spreadsheetml/2006/main">{dim}<sheetData>{head}').encode())
            buf = []
            for i in range(n_rows):
                n = i + 2
                buf.append(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>08{30000000 + i:08d}</t></is></c>'
                           f'<c r="B{n}" t="inlineStr"><is><t>M{i}</t></is></c><c r="C{n}"><v>{i % 100}</v></c></row>')
                if len(buf) == 5000:
                    out.write("".join(buf).encode())
                    buf = []
            out.write(("".join(buf) + "</sheetData></worksheet>").encode())
    return path


def big_csv(path: Path, n_rows: int) -> Path:
    """``n_rows`` good member rows, written fast (the file is far over the row cap)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("phone,name,points\r\n")
        for start in range(0, n_rows, 10_000):
            fh.write("".join(f"08{40000000 + i:08d},Member {i},{i % 300}\r\n"
                             for i in range(start, min(n_rows, start + 10_000))))
    return path


def zip_bomb(path: Path, *, part: str = "xl/worksheets/sheet1.xml", mb: int = 200) -> Path:
    """A small workbook whose sheet (or shared strings) inflates to ``mb`` MB of whitespace."""
    parts = workbook_parts([("Members", b"")], shared=b"" if "sharedStrings" in part else None)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            if name != part:
                zf.writestr(name, data if data else sheet_xml(rows_xml([HEADER] + good_rows(2))))
        with zf.open(part, "w", force_zip64=True) as out:
            out.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      b"<sheetData>" if "sheet" in part else b'<?xml version="1.0"?><sst>')
            block = b" " * (1 << 20)
            for _ in range(mb):
                out.write(block)
            out.write(b"</sheetData></worksheet>" if "sheet" in part else b"</sst>")
    return path


def lying_sizes(path: Path) -> Path:
    """A workbook whose zip directory claims a tiny sheet while the data inflates to 16 MB."""
    write_zip(path, workbook_parts([("Members", sheet_xml(" " * (16 << 20) + rows_xml([HEADER])))]), level=1)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # patch the uncompressed size in the local header and the central directory to 1,000 bytes
    i = data.find(b"PK\x03\x04")
    while i >= 0:
        n = struct.unpack_from("<H", data, i + 26)[0]
        if data[i + 30:i + 30 + n] == name:
            struct.pack_into("<I", data, i + 22, 1000)
        i = data.find(b"PK\x03\x04", i + 4)
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        n = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46:i + 46 + n] == name:
            struct.pack_into("<I", data, i + 24, 1000)
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------- the corpus


def build(d: Path, *, slow: bool = False) -> list[Case]:
    """The default corpus, or with ``slow`` only the large variants (``make test-all``)."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    want_slow = slow

    def add(name: str, make: Callable[[Path], object], *, command: str = "member", expect: str = "",
            isolated: bool = False, slow: bool = False, valid: bool = False, filename: str | None = None) -> None:
        if slow != want_slow:
            return
        path = d / (filename or name)
        make(path)
        cases.append(Case(name, path, command, expect, isolated, slow, valid))

    def raw(data: bytes):
        return lambda p: p.write_bytes(data)

    rows3 = good_rows(3)

    # ---- controls (must import)
    add("valid.csv", raw(csv_bytes(rows3)), valid=True)
    add("valid.xlsx", lambda p: xlsx(p, rows3), valid=True)
    add("valid-mixed-eol.csv", raw(b"phone,name,points\r\n0820000001,A,1\n0820000002,B,2\r0820000003,C,3\r\n"), valid=True)

    # ---- empty and almost empty
    add("empty.csv", raw(b""), expect="empty")
    add("empty.xlsx", raw(b""), expect="empty")
    add("bom-only.csv", raw(b"\xef\xbb\xbf"), expect="no rows")
    add("blank-lines.csv", raw(b"\r\n\r\n   \r\n,,,\r\n"), expect="header")
    add("headers-only.csv", raw(csv_bytes([])), expect="no member rows")
    add("headers-only.xlsx", lambda p: xlsx(p, []), expect="no member rows")
    add("empty-sheet.xlsx", lambda p: write_zip(p, workbook_parts([("Members", sheet_xml(""))])), expect="header")
    add("no-sheets.xlsx", lambda p: write_zip(p, {k: v for k, v in workbook_parts([]).items()}), expect="no worksheets")
    add("empty-zip.xlsx", lambda p: zipfile.ZipFile(p, "w").close(), expect="empty")

    # ---- wrong sheet / missing or duplicated columns
    add("only-wrong-sheet.xlsx", lambda p: xlsx(p, [["see the other tab"], ["nothing here"]], sheet="Instructions",
                                                header=["How to fill in"]), expect="header")
    add("wrong-sheet-name-missing-cols.xlsx", lambda p: xlsx(p, [["0812345678", "x"]], sheet="Sheet99",
                                                             header=["phone", "name"]), expect="points")
    add("missing-phone.csv", raw(csv_bytes([r[1:] for r in rows3], header=HEADER[1:])), expect="phone")
    add("missing-points.csv", raw(csv_bytes([r[:2] for r in rows3], header=HEADER[:2])), expect="points")
    add("missing-name.xlsx", lambda p: xlsx(p, [[r[0], r[2]] for r in rows3], header=["phone", "points"]), expect="name")
    add("no-header.csv", raw(csv_bytes(rows3, header=None)), expect="header")
    add("unknown-headers.csv", raw(csv_bytes(rows3, header=["a", "b", "c", "d", "e", "f"])), expect="header")
    add("duplicate-headers.csv", raw(csv_bytes([r + [r[0]] for r in rows3], header=HEADER + ["phone"])), expect="twice")
    add("duplicate-headers-thai.xlsx", lambda p: xlsx(p, [r + [r[0]] for r in rows3], header=TH_HEADER + ["เบอร์โทร"]),
        expect="twice")

    # ---- wrong types and bad values (row errors: every one reported, nothing written)
    add("points-text.csv", raw(csv_bytes([["0812345678", "A", "many"]], header=HEADER[:3])), expect="problem")
    add("points-negative.csv", raw(csv_bytes([["0812345678", "A", "-5"]], header=HEADER[:3])), expect="problem")
    add("points-fraction.xlsx", lambda p: xlsx(p, [["0812345678", "A", 10.5]], header=HEADER[:3]), expect="problem")
    add("points-bool.xlsx", lambda p: xlsx(p, [["0812345678", "A", True]], header=HEADER[:3]), expect="problem")
    add("points-huge.csv", raw(csv_bytes([["0812345678", "A", "9" * 30]], header=HEADER[:3])), expect="problem")
    add("phone-bad.csv", raw(csv_bytes([["12", "A", "1"], ["abc", "B", "2"]], header=HEADER[:3])), expect="problem")
    add("phone-numeric-cell.xlsx", lambda p: xlsx(p, [[12, "A", 1]], header=HEADER[:3]), expect="problem")
    add("birthday-bad.csv", raw(csv_bytes([["0812345678", "A", "1", "M", "31/02/1990", ""]])), expect="problem")
    add("birthday-future.csv", raw(csv_bytes([["0812345678", "A", "1", "M", "01/01/2999", ""]])), expect="problem")
    add("gender-bad.csv", raw(csv_bytes([["0812345678", "A", "1", "robot", "", ""]])), expect="problem")
    add("email-bad.csv", raw(csv_bytes([["0812345678", "A", "1", "", "", "not-an-email"]])), expect="problem")
    add("duplicate-phones.csv", raw(csv_bytes([["0812345678", "A", "1"], ["081-234-5678", "B", "2"]],
                                              header=HEADER[:3])), expect="problem")
    add("one-bad-row-of-many.csv", raw(csv_bytes(good_rows(300) + [["0800", "Bad", "1", "", "", ""]])), expect="problem")
    add("mixed-eol-with-duplicate.csv",
        raw(b"phone,name,points\r\n0820000001,A,1\n0820000002,B,2\r0820000001,C,3\r\n"), expect="1 of 3 row")
    add("template-example-row.csv", raw(csv_bytes(
        [["0812345678", "ตัวอย่าง สมชาย ใจดี (ลบแถวนี้ / delete this row)", "1"]], header=HEADER[:3])), expect="problem")

    # ---- formulas
    add("formula-text-name.csv", raw(csv_bytes([["0812345678", '=HYPERLINK("http://evil.example","x")', "1"]],
                                               header=HEADER[:3])), expect="problem")
    add("formula-text-email.csv", raw(csv_bytes([["0812345678", "A", "1", "", "", "=1+1"]])), expect="problem")
    add("formula-cells-no-value.xlsx", lambda p: xlsx(p, [["0812345678", Formula("CONCAT(\"a\",\"b\")"),
                                                           Formula("SUM(1,2)")]], header=HEADER[:3]), expect="problem")
    add("formula-inline-text.xlsx", lambda p: xlsx(p, [["0812345678", '=cmd|" /C calc"!A0', 1]], header=HEADER[:3]),
        expect="problem")

    # ---- too many rows, huge cells
    add("rows-5001.csv", raw(csv_bytes(good_rows(5001))), expect="5,000")
    add("rows-5001.xlsx", lambda p: xlsx(p, [r[:3] for r in good_rows(5001)], header=HEADER[:3]), expect="5,000")
    add("rows-200k.csv", lambda p: big_csv(p, 200_000), expect="5,000", isolated=True)
    add("rows-100k-streamed.xlsx", lambda p: stream_xlsx(p, 100_000), expect="5,000", isolated=True)
    add("dimension-1048576.xlsx", lambda p: xlsx(p, rows3, dimension="A1:F1048576"), expect="1,048,576", isolated=True)
    add("rows-1048576.xlsx", lambda p: stream_xlsx(p, 1_048_575), expect="5,000", isolated=True, slow=True)
    add("huge-cell-name.csv", raw(csv_bytes([["0812345678", "x" * 50_000, "1"]], header=HEADER[:3])), expect="problem")
    add("huge-cell-name.xlsx", lambda p: xlsx(p, [["0812345678", "x" * 50_000, 1]], header=HEADER[:3]), expect="problem")
    add("huge-line.csv", raw(b"phone,name,points\n0812345678," + b"y" * (3 << 20) + b",1\n"), expect="", isolated=True)
    add("huge-unterminated-quote.csv", raw(b'phone,name,points\n0812345678,"' + b"z" * (2 << 20)), expect="",
        isolated=True)

    # ---- encodings and bytes
    thai = "phone,name,points\n0812345678,สมชาย ใจดี,10\n0812345679,สมหญิง รักไทย,20\n"
    add("thai-cp874.csv", raw(thai.encode("cp874")), expect="utf-8")
    add("latin1.csv", raw("phone,name,points\n0812345678,José Müller,10\n".encode("latin-1")), expect="utf-8")
    add("utf16.csv", raw(thai.encode("utf-16")), expect="utf-16")
    add("utf16-no-bom.csv", raw(thai.encode("utf-16-le")), expect="")
    add("nul-bytes.csv", raw(b"phone,name,points\n0812345678,A\x00B,10\n"), expect="nul")
    add("nul-in-header.csv", raw(b"ph\x00one,name,points\n0812345678,A,10\n"), expect="nul")
    add("binary-garbage.csv", raw(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16), expect="")
    add("binary-garbage.xlsx", raw(bytes(range(256)) * 16), expect="zip")

    # ---- not what the name says
    add("text-renamed.xlsx", raw(csv_bytes(rows3)), expect="xlsx")
    add("html-renamed.xlsx", raw(b"<html><body><table><tr><td>phone</td></tr></table></body></html>"), expect="web page")
    add("xls-ole.xlsx", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096), expect="xls")
    add("workbook-renamed.csv", lambda p: xlsx(p, rows3), expect="rename")
    add("members.xls", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512), expect=".xls")
    add("members.ods", lambda p: write_zip(p, {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
        expect="not supported")
    add("members-no-extension", raw(csv_bytes(rows3)), expect="unsupported")
    add("a-directory.csv", lambda p: p.mkdir(), expect="directory")
    add("missing-file.csv", lambda p: None, expect="not found")
    add("unreadable.csv", lambda p: (p.write_bytes(csv_bytes(rows3)), p.chmod(0)), expect="permission",
        isolated=True)

    # ---- damaged and hostile zips
    add("truncated.xlsx", lambda p: p.write_bytes(xlsx(d / "_full.xlsx", rows3).read_bytes()[:700]), expect="damaged")
    add("bad-central-directory.xlsx", lambda p: _corrupt(xlsx(p, rows3), -30), expect="")
    add("bad-deflate-data.xlsx", lambda p: _corrupt_member(xlsx(p, good_rows(200))), expect="damaged")
    add("zip-not-workbook.xlsx", lambda p: write_zip(p, {"readme.txt": b"hello"}), expect="not an excel workbook")
    add("malformed-sheet-xml.xlsx", lambda p: write_zip(p, workbook_parts([("Members", b"<worksheet><sheetData><row r=\"1\">"
                                                                                   b"<c r=\"A1\" t=\"inlineStr\"><is><t>phone</t")])),
        expect="damaged")
    add("malformed-workbook-xml.xlsx", lambda p: write_zip(p, {**workbook_parts([("M", sheet_xml(rows_xml([HEADER])))]),
                                                                "xl/workbook.xml": b"<workbook><sheets><sheet"}),
        expect="not valid xml")
    add("entity-expansion.xlsx", lambda p: write_zip(p, {**workbook_parts([("M", sheet_xml(rows_xml([HEADER] + rows3)))]),
                                                         "xl/workbook.xml": _billion_laughs()}), expect="entities")
    add("external-entity.xlsx", lambda p: write_zip(p, {**workbook_parts([("M", sheet_xml(rows_xml([HEADER] + rows3)))]),
                                                        "xl/workbook.xml": _xxe()}), expect="entities")
    add("encrypted-flag.xlsx", lambda p: _set_encrypted(xlsx(p, rows3)), expect="encrypted")
    add("too-many-parts.xlsx", lambda p: write_zip(p, {**workbook_parts([("M", sheet_xml(rows_xml([HEADER] + rows3)))]),
                                                       **{f"xl/media/x{i}.bin": b"" for i in range(10_001)}}, level=1),
        expect="parts")
    add("zip-bomb-sheet.xlsx", lambda p: zip_bomb(p, mb=200), expect="zip bomb", isolated=True)
    add("zip-bomb-shared-strings.xlsx", lambda p: zip_bomb(p, part="xl/sharedStrings.xml", mb=100), expect="zip bomb",
        isolated=True)
    add("zip-bomb-lying-sizes.xlsx", lying_sizes, expect="", isolated=True)
    add("zip-bomb-3gb.xlsx", lambda p: zip_bomb(p, mb=3 << 10), expect="", isolated=True, slow=True)

    # ---- orders feeds (crm orders import)
    order_head = "order_id,phone,paid_at,amount,status,refund_amount\n"
    add("orders-valid.csv", raw((order_head + "LS-1,0812345678,2026-11-10T09:15:42+07:00,100.00,paid,\n").encode()),
        command="orders", valid=True)
    add("orders-empty.csv", raw(b""), command="orders")
    add("orders-not-utf8.csv", raw((order_head + "LS-1,0812345678,2026-11-10T09:15:42+07:00,100.00,จ่ายแล้ว,\n")
                                   .encode("cp874")), command="orders", expect="utf-8")
    add("orders-nul.csv", raw(order_head.encode() + b"LS-1,08123\x0045678,2026-11-10T09:15:42+07:00,100.00,paid,\n"),
        command="orders")
    add("orders-missing-columns.csv", raw(b"order_id,phone\nLS-1,0812345678\n"), command="orders")
    add("orders-bad-amount.csv", raw((order_head + "LS-1,0812345678,2026-11-10T09:15:42+07:00,lots,paid,\n").encode()),
        command="orders")
    add("orders-broken.json", raw(b'[{"order_id": "LS-1", "phone": '), command="orders")
    add("orders-not-a-list.json", raw(b'{"order_id": "LS-1"}'), command="orders")
    add("orders-garbage.json", raw(bytes(range(256)) * 8), command="orders")
    add("orders.txt", raw(order_head.encode()), command="orders", expect="csv")
    add("orders-directory.csv", lambda p: p.mkdir(), command="orders")
    add("orders-unreadable.csv", lambda p: (p.write_bytes(order_head.encode()), p.chmod(0)), command="orders",
        expect="permission", isolated=True)
    return cases


def _corrupt(path: Path, offset: int) -> Path:
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _corrupt_member(path: Path) -> Path:
    """Flip bytes inside the compressed sheet data (the directory stays intact)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    for i in range(mid, mid + 16):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _set_encrypted(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        flags = struct.unpack_from("<H", data, i + 8)[0]
        struct.pack_into("<H", data, i + 8, flags | 1)
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))
    return path


def _billion_laughs() -> bytes:
    ents = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    return (f'<?xml version="1.0"?><!DOCTYPE workbook [{ents}]>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol9;</workbook>').encode()


def _xxe() -> bytes:
    return ('<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&x;</workbook>').encode()
