"""Member and points exports: typed XLSX cells, CSV, filters, formula neutralization (both DBs)."""

from __future__ import annotations

import csv
from datetime import date, datetime

from freezegun import freeze_time

from crm_cli.domain.errors import InvalidInput

NOW = "2026-11-24 10:00:00"


def _setup(shop, tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(
        "phone,name,points,gender,birthday,email\n"
        "0812000001,=HYPERLINK(\"http://x\"),100,F,15/03/2533,a@example.com\n"
        "0812000002,Bob,0,M,,\n",
        encoding="utf-8",
    )
    with freeze_time(NOW):
        r = shop("member", "import", str(f), "--branch", "Siam")
    # a name starting with '=' is refused by the importer; register it through the form instead
    assert r.exit_code == InvalidInput.exit_code
    f.write_text("phone,name,points,gender,birthday,email\n0812000001,Somsri,100,F,15/03/2533,a@example.com\n"
                 "0812000002,Bob,0,M,,\n", encoding="utf-8")
    with freeze_time(NOW):
        shop.ok("member", "import", str(f), "--branch", "Siam")
        shop.ok("member", "tag", "0812000001", "=cmd|' /C calc'!A0", "vip")
        shop.ok("member", "note", "0812000002", "+66 called")


def test_member_export_xlsx_typed_and_neutralized(shop, tmp_path):
    from openpyxl import load_workbook

    _setup(shop, tmp_path)
    out = tmp_path / "members.xlsx"
    with freeze_time(NOW):
        res = shop.json("member", "export", "--out", str(out))
    assert res["rows"] == 2 and res["format"] == "xlsx"
    ws = load_workbook(out).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    data = {r[header.index("phone")]: dict(zip(header, r)) for r in rows[1:]}
    m = data["0812000001"]
    assert isinstance(m["balance"], int) and m["balance"] == 100
    assert isinstance(m["birthday"], datetime) and m["birthday"].date() == date(1990, 3, 15)
    assert isinstance(m["registered_at"], datetime) and m["registered_at"] == datetime(2026, 11, 24, 17, 0)  # Bangkok
    assert isinstance(m["phone"], str)
    assert m["tags"].startswith("'=") and "vip" in m["tags"]  # a formula-looking tag is neutralized
    cell = ws.cell(row=2, column=header.index("phone") + 1)
    assert cell.data_type == "s"


def test_member_export_csv_with_filters(shop, tmp_path):
    _setup(shop, tmp_path)
    out = tmp_path / "vip.csv"
    with freeze_time(NOW):
        res = shop.json("member", "export", "--out", str(out), "--tag", "vip")
    assert res["rows"] == 1
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == ["Somsri"] and rows[0]["balance"] == "100"
    shop.fails(InvalidInput.exit_code, "member", "export", "--out", str(tmp_path / "x.pdf"))


def test_points_export(shop, engine, tmp_path):
    from openpyxl import load_workbook

    _setup(shop, tmp_path)
    with freeze_time("2026-11-25 03:00:00"):
        shop.ok("points", "give", "0812000002", "--spend", "250", "--branch", "Ari")
    out = tmp_path / "ledger.xlsx"
    res = shop.json("points", "export", "--out", str(out))
    assert res["rows"] == 2  # the 0-point import row has no lot
    ws = load_workbook(out).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    kinds = [(r[header.index("kind")], r[header.index("points")], r[header.index("branch")]) for r in rows[1:]]
    assert kinds == [("import", 100, "Siam"), ("earn", 10, "Ari")]
    assert all(isinstance(r[header.index("points")], int) for r in rows[1:])
    assert all(isinstance(r[header.index("created_at")], datetime) for r in rows[1:])
    only = tmp_path / "day.csv"
    assert shop.json("points", "export", "--out", str(only), "--from", "2026-11-25", "--to", "2026-11-25")["rows"] == 1
    with only.open(encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["kind"] == "earn" and row["points"] == "10" and row["spend"] == "250.00"
    shop.fails(InvalidInput.exit_code, "points", "export", "--out", str(only), "--from", "2026-11-26", "--to", "2026-11-25")
