"""Bulk member import through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone

from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import InvalidInput, NotFound

NOW = "2026-11-24 10:00:00"
HEADER = "เบอร์โทรศัพท์*,ชื่อ - นามสกุล*,จำนวนพอยท์*,เพศ,วันเกิด,อีเมล"


def _sql(engine, sql, **params):
    with engine.begin() as conn:
        res = conn.execute(text(sql), params)
        return res.all() if res.returns_rows else res.rowcount


def _csv(tmp_path, lines, name="members.csv", bom=True):
    p = tmp_path / name
    p.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = [
    HEADER,
    "0812000001,สมชาย ใจดี,100,ชาย,15/03/2533,somchai@example.com",
    "812000002,Jane Doe,0,F,1990-01-31,",
    "+66 81 200 0003,บุญมี มีสุข,25,,,",
]


def _import(cli, path, *args, fmt="json"):
    with freeze_time(NOW):
        return cli.json("member", "import", str(path), "--branch", "Ari", *args) if fmt == "json" else \
            cli("member", "import", str(path), "--branch", "Ari", *args)


def _counts(engine):
    return _sql(engine, "SELECT (SELECT COUNT(*) FROM member), (SELECT COUNT(*) FROM ledger_entry), "
                        "(SELECT COALESCE(SUM(points), 0) FROM ledger_entry)")[0]


def test_import_creates_registered_members_with_import_lots(shop, engine, tmp_path):
    _sql(engine, "UPDATE store SET expiry_policy = 'rolling', expiry_months = 12")
    out = _import(shop, _csv(tmp_path, GOOD))
    assert (out["rows"], out["created"], out["updated"], out["skipped"], out["points_total"]) == (3, 3, 0, 0, 125)
    # a lot expires at the end of the Bangkok day 12 months after the import day
    assert out["expires_at"] == "2027-11-24T17:00:00+00:00"
    rows = _sql(engine, "SELECT m.phone, m.name, m.gender, m.birthday, m.email, m.source, b.name, m.registered_at "
                        "FROM member m JOIN branch b ON b.id = m.registered_branch_id ORDER BY m.phone")
    assert [r[0] for r in rows] == ["+66812000001", "+66812000002", "+66812000003"]
    r = rows[0]
    assert (r[1], r[2], str(r[3]), r[4], r[5], r[6]) == ("สมชาย ใจดี", "male", "1990-03-15", "somchai@example.com", "import", "Ari")
    assert all(x[7] is not None for x in rows)
    pairs = _sql(engine, "SELECT m.phone, e.points, e.idem_key FROM ledger_entry e JOIN member m ON m.id = e.member_id "
                         "ORDER BY m.phone")
    assert [(ph, pts) for ph, pts, _ in pairs] == [("+66812000001", 100), ("+66812000003", 25)]
    ids = dict(_sql(engine, "SELECT phone, id FROM member"))
    assert all(key == str(ids[ph]) for ph, _, key in pairs)  # idempotency key import:<account id>
    lots = _sql(engine, "SELECT kind, points, channel, idem_source FROM ledger_entry ORDER BY points")
    assert lots == [("import", 25, "import", "import"), ("import", 100, "import", "import")]  # 0 points: no lot
    shown = shop.json("member", "show", "0812000001")
    assert shown["status"] == "registered" and shown["points"] == 100 and shown["source"] == "import"
    audit = _sql(engine, "SELECT summary FROM audit_log WHERE command = 'member import'")
    assert len(audit) == 1 and "3 created" in audit[0][0] and "125 points" in audit[0][0]


def test_dry_run_writes_nothing(shop, engine, tmp_path):
    before = _counts(engine)
    out = _import(shop, _csv(tmp_path, GOOD), "--dry-run")
    assert out["dry_run"] is True and out["created"] == 3 and out["points_total"] == 125
    assert _counts(engine) == before
    assert _sql(engine, "SELECT COUNT(*) FROM audit_log WHERE command = 'member import'")[0][0] == 0


def test_every_bad_row_is_reported_and_nothing_written(shop, engine, tmp_path):
    f = _csv(tmp_path, [
        "Phone,Full name,Points,Gender,Birthday,Email",
        "0812000001,Good Row,10,,,",
        "0812000002,,-5,robot,31/02/2533,not-mail",
        "abc,Bad Phone,1.5,,,",
        "0812000001,Dup,3,,,",
        "0812000004,Future,3,,01/01/2099,",
    ], bom=False)
    errors_csv = tmp_path / "errors.csv"
    with freeze_time(NOW):
        r = shop("--format", "json", "member", "import", str(f), "--branch", "Ari", "--errors", str(errors_csv), store="cafe")
    assert r.exit_code == InvalidInput.exit_code
    assert "nothing was imported" in r.stderr and "4 of 5 row(s)" in r.stderr
    import json

    reported = [(e["row"], e["column"]) for e in json.loads(r.stdout)]
    assert reported == [(3, "name"), (3, "points"), (3, "gender"), (3, "birthday"), (3, "email"),
                        (4, "phone"), (4, "points"), (5, "phone"), (6, "birthday")]
    with errors_csv.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "column", "value", "message"]
    assert [(int(x[0]), x[1]) for x in rows[1:]] == reported
    assert any(x[2] == "'-5" and "negative" in x[3] for x in rows[1:])  # neutralized for spreadsheets
    assert _counts(engine) == (0, 0, 0)


def test_on_existing_error_skip_update(shop, engine, tmp_path):
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import points

    store_id = _sql(engine, "SELECT id FROM store")[0][0]
    with unit_of_work(engine) as session:  # a phone-only account that collected 4 points at the counter
        points.give_for_spend(session, store_id=store_id, phone="0812000003", spend="100", branch="Siam",
                              now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    f = _csv(tmp_path, GOOD)
    r = _import(shop, f, fmt="raw")
    assert r.exit_code == InvalidInput.exit_code and "already exists" in r.stdout
    assert _counts(engine) == (1, 1, 4)

    out = _import(shop, f, "--on-existing", "skip")
    assert (out["created"], out["skipped"], out["updated"], out["points_total"]) == (2, 1, 0, 100)
    assert shop.json("member", "show", "0812000003")["status"] == "phone-only"
    # idempotent: running it again with skip changes nothing
    again = _import(shop, f, "--on-existing", "skip")
    assert (again["created"], again["skipped"], again["points_total"]) == (0, 3, 0)
    assert _counts(engine) == (3, 2, 104)  # a 0-point row gets no lot

    changed = _csv(tmp_path, [HEADER, "0812000001,Somchai Jaidee,100,,,new@example.com",
                              "0812000003,บุญมี มีสุข,25,หญิง,2000-05-05,"], name="changed.csv")
    out = _import(shop, changed, "--on-existing", "update")
    assert (out["created"], out["updated"], out["points_total"]) == (0, 2, 25)  # only the account without an import lot
    m1 = shop.json("member", "show", "0812000001")
    assert (m1["name"], m1["email"], m1["gender"], m1["points"]) == ("Somchai Jaidee", "new@example.com", "male", 100)
    m3 = shop.json("member", "show", "0812000003")
    assert (m3["status"], m3["source"], m3["registered_branch"], m3["gender"], m3["points"]) == (
        "registered", "import", "Ari", "female", 29)
    # updating again never doubles points
    assert _import(shop, changed, "--on-existing", "update")["points_total"] == 0
    assert _counts(engine) == (3, 3, 129)


def test_row_cap_and_file_errors(shop, engine, tmp_path):
    f = _csv(tmp_path, GOOD)
    err = shop.fails(InvalidInput.exit_code, "member", "import", str(f), "--branch", "Ari", "--max-rows", "2")
    assert "more than 2" in err and "--max-rows" in err
    shop.ok("store", "edit", "--import-max-rows", "2")  # the store setting is the default cap
    assert "more than 2" in shop.fails(InvalidInput.exit_code, "member", "import", str(f), "--branch", "Ari")
    assert _import(shop, f, "--max-rows", "3")["created"] == 3
    missing = _csv(tmp_path, ["phone,points", "0812000009,5"], name="nocol.csv")
    assert "name" in shop.fails(InvalidInput.exit_code, "member", "import", str(missing), "--branch", "Ari").lower()
    empty = _csv(tmp_path, [HEADER], name="empty.csv")
    assert "no member rows" in shop.fails(InvalidInput.exit_code, "member", "import", str(empty), "--branch", "Ari")
    shop.fails(NotFound.exit_code, "member", "import", str(f), "--branch", "Nowhere")
    shop.fails(InvalidInput.exit_code, "member", "import", str(tmp_path / "nope.xlsx"), "--branch", "Ari")
    shop.fails(InvalidInput.exit_code, "member", "import", str(f), "--branch", "Ari", "--on-existing", "merge")
    assert _counts(engine)[0] == 3


def test_xlsx_numeric_phones_date_cells_and_be_years(shop, engine, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Email", "Birthday", "Gender", "Points", "Full name", "Phone"])  # any order, English
    ws.append(["x@example.com", datetime(1990, 3, 15), "หญิง", 10, "Numeric Phone", 812000011])  # lost its leading 0
    ws.append([None, "15/03/2533", "M", 20.0, "BE Text", "081-200-0012"])
    ws.append([None, date(2533, 3, 15), None, "1,000", "BE Date Cell", "+66812000013"])
    ws.append([None, None, None, None, None, None])  # blank row: skipped
    f = tmp_path / "members.xlsx"
    wb.save(f)
    out = _import(shop, f)
    assert (out["rows"], out["created"], out["points_total"]) == (3, 3, 1030)
    rows = _sql(engine, "SELECT phone, birthday, gender FROM member ORDER BY phone")
    assert [(p, str(b), g) for p, b, g in rows] == [
        ("+66812000011", "1990-03-15", "female"), ("+66812000012", "1990-03-15", "male"),
        ("+66812000013", "1990-03-15", None)]


# ---------------------------------------------------------------- template and sample files

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"


def test_template_round_trip(shop, engine, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "member-template.xlsx"
    assert shop.json("member", "template", "--out", str(out))["file"] == str(out)
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["เบอร์โทรศัพท์* / Phone*", "ชื่อ - นามสกุล* / Full name*", "จำนวนพอยท์* / Points*"]
    assert len(wb.worksheets) == 2 and ws.data_validations.dataValidation  # help sheet, gender drop-down
    # the untouched template is refused: its example row must be deleted
    with freeze_time(NOW):
        r = shop("--format", "json", "member", "import", str(out), "--branch", "Siam")
    assert r.exit_code == InvalidInput.exit_code and "example row" in r.stdout
    # fill it like an operator would: overwrite the example, add rows (phone typed as text)
    ws.delete_rows(2)
    ws.append(["0812000101", "มาลี ศรีสวัสดิ์", 120, "หญิง", "01/12/2535", "malee@example.com"])
    ws.append(["089-000-0102", "Krit Saetang", 0, "ชาย", None, None])
    wb.save(out)
    res = _import(shop, out)
    assert (res["created"], res["points_total"]) == (2, 120)
    m = shop.json("member", "show", "0812000101")
    assert (m["name"], m["gender"], m["birthday"], m["email"], m["points"]) == (
        "มาลี ศรีสวัสดิ์", "female", "1992-12-01", "malee@example.com", 120)


def test_demo_sample_imports_whole(shop, engine):
    res = _import(shop, SAMPLES / "members-demo.xlsx")
    assert res["rows"] >= 200 and res["created"] == res["rows"]
    assert _counts(engine)[0] == res["rows"]


def test_broken_sample_reports_every_expected_error(shop, engine, tmp_path):
    errors_csv = tmp_path / "errors.csv"
    with freeze_time(NOW):
        r = shop("--format", "json", "member", "import", str(SAMPLES / "members-broken.xlsx"), "--branch", "Siam",
                 "--errors", str(errors_csv))
    assert r.exit_code == InvalidInput.exit_code and "nothing was imported" in r.stderr
    import json

    got = json.loads(r.stdout)
    with (SAMPLES / "members-broken.expected.csv").open(encoding="utf-8") as fh:
        expected = list(csv.DictReader(fh))
    assert sorted((e["row"], e["column"]) for e in got) == sorted((int(x["row"]), x["column"]) for x in expected)
    by_key = {(e["row"], e["column"]): e["message"] for e in got}
    for x in expected:
        assert x["reason_contains"].lower() in by_key[(int(x["row"]), x["column"])].lower(), x
    with errors_csv.open(encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == len(got) + 1
    assert _counts(engine) == (0, 0, 0)
