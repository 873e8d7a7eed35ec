"""Export -> edit -> import round trip, and import reports that scale (grouped problems,
--default-points, a warning for points about to expire), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json

from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import InvalidInput

NOW = "2026-11-30 03:00:00"  # 30 November, Bangkok


def _sum_points(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COALESCE(SUM(points), 0) FROM ledger_entry")).scalar()


def test_export_edit_import_round_trip(shop, engine, tmp_path):
    from openpyxl import load_workbook

    terms = tmp_path / "TERMS.md"
    terms.write_text("terms\n", encoding="utf-8")
    with freeze_time(NOW):
        shop.ok("form", "terms", "--file", str(terms))
        shop.ok("member", "register", "0812000001", "--name", "สมศรี ใจดี", "--gender", "หญิง", "--birthday",
                "15/03/2533", "--email", "somsri@example.com", "--accept-terms")
        shop.ok("points", "adjust", "0812000001", "--points", "40", "--reason", "opening")
        shop.ok("points", "adjust", "0812000002", "--points", "7", "--reason", "counter")  # phone-only account
        src = tmp_path / "in.csv"
        src.write_text("phone,name,points\n0812000003,Nok,25\n", encoding="utf-8")
        shop.ok("member", "import", str(src), "--branch", "Siam")
        out = tmp_path / "m.xlsx"
        shop.ok("member", "export", "--out", str(out))
    before = _sum_points(engine)

    # unchanged: the export is a valid import file
    with freeze_time(NOW):
        r = shop("member", "import", str(out), "--branch", "Siam", "--on-existing", "update", fmt="json")
    assert r.exit_code == 0, r.stderr + r.stdout
    res = json.loads(r.stdout)
    assert (res["rows"], res["updated"], res["created"], res["points_total"], res["phone_only_skipped"]) == (2, 2, 0, 0, 1)
    assert "1 phone-only row(s) skipped" in r.stderr
    assert _sum_points(engine) == before  # balances are never imported again

    # edited in a spreadsheet, then imported back
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("phone")].value == "0812000003":
            row[header.index("name")].value = "Nok Saetang"
            row[header.index("email")].value = "nok@example.com"
    wb.save(out)
    with freeze_time(NOW):
        res = shop.json("member", "import", str(out), "--branch", "Siam", "--on-existing", "update")
    assert res["updated"] == 2 and res["points_total"] == 0
    nok = shop.json("member", "show", "0812000003")
    assert (nok["name"], nok["email"], nok["points"]) == ("Nok Saetang", "nok@example.com", 25)
    somsri = shop.json("member", "show", "0812000001")
    assert (somsri["name"], somsri["gender"], somsri["birthday"], somsri["points"]) == ("สมศรี ใจดี", "female", "1990-03-15", 40)
    assert shop.json("member", "show", "0812000002")["status"] == "phone-only"


def _file(tmp_path, n_blank: int):
    p = tmp_path / "messy.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["phone", "name", "points", "email"])
        w.writerow(["0812000001", "Good", "5", ""])                      # row 2
        w.writerow(["0812000002", "Bad mail", "5", "a@b.c"])             # row 3
        for i in range(n_blank):                                         # rows 4 .. 3 + n_blank
            w.writerow([f"08130{i:05d}", f"Member {i}", "", ""])
        w.writerow(["0812000004", "Another bad mail", "", "x@y.z"])      # last row
    return p


def test_identical_problems_are_grouped_in_the_table_only(shop, tmp_path):
    f = _file(tmp_path, 60)
    with freeze_time(NOW):
        r = shop("member", "import", str(f), "--branch", "Siam", "--errors", str(tmp_path / "errors.csv"), fmt="plain")
    assert r.exit_code == InvalidInput.exit_code
    lines = [ln for ln in r.stdout.splitlines() if "missing" in ln]
    assert len(lines) == 1 and "4-63, 64" not in lines[0] and "4-64" in lines[0] and "61" in lines[0], r.stdout
    assert sum("not a valid email" in ln for ln in r.stdout.splitlines()) == 1  # rows 3 and 64: one entry
    assert "63 problem(s) in 62 of 63 row(s)" in r.stderr
    # JSON and the --errors file keep one entry per row
    with freeze_time(NOW):
        r = shop("member", "import", str(f), "--branch", "Siam", fmt="json")
    problems = json.loads(r.stdout)
    assert len(problems) == 63 and sum(p["column"] == "points" for p in problems) == 61
    with open(tmp_path / "errors.csv", encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == 63


def test_default_points_fills_blank_cells(shop, tmp_path):
    f = _file(tmp_path, 3)
    with freeze_time(NOW):
        r = shop("member", "import", str(f), "--branch", "Siam", "--default-points", "10", fmt="json")
    problems = json.loads(r.stdout)
    assert [p["column"] for p in problems] == ["email", "email"]  # no points problem left
    f.write_text("phone,name,points\n0812000001,A,\n0812000002,B,3\n", encoding="utf-8")
    with freeze_time(NOW):
        res = shop.json("member", "import", str(f), "--branch", "Siam", "--default-points", "10")
    assert (res["created"], res["points_total"]) == (2, 13)
    assert "--default-points" in shop.fails(InvalidInput.exit_code, "member", "import", str(f), "--branch", "Siam",
                                            "--default-points", "-1")


def test_dry_run_warns_when_imported_points_expire_soon(shop, tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("phone,name,points\n0812000001,A,100\n", encoding="utf-8")
    shop.ok("points", "expiry", "year-end")
    with freeze_time(NOW):  # 30 November: a year-end policy expires them in 31 days
        r = shop("member", "import", str(f), "--branch", "Siam", "--dry-run", fmt="json")
    assert r.exit_code == 0
    assert "warning: the 100 imported points expire at the end of 2026-12-31 (in 31 day(s))" in r.stderr
    shop.ok("points", "expiry", "rolling", "12")
    with freeze_time(NOW):
        r = shop("member", "import", str(f), "--branch", "Siam", "--dry-run", fmt="json")
    assert r.exit_code == 0 and "warning" not in r.stderr
