"""Build the member import samples (deterministic: same bytes on every run).

    python sample_data/make_samples.py            # writes next to this script

* ``members-demo.xlsx``: the member template filled with 300 realistic members --
  Thai names, phones in every accepted form (including number cells that lost the
  leading zero), birthdays as text in CE and Buddhist-Era years and as date cells,
  some optional cells left blank. Every row is valid.
* ``members-broken.xlsx``: the same template with deliberately bad rows mixed in
  with good ones, one kind of mistake per row (plus one row with several), and
  ``members-broken.expected.csv`` listing the (row, column) of every error the
  importer must report, with a word its reason must contain.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from crm_cli.domain.phone import normalize_phone  # noqa: E402
from crm_cli.fileio.spreadsheet import write_member_template  # noqa: E402

SEED = 20240801
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)

FIRST_NAMES = [
    "สมชาย", "สมหญิง", "วิชัย", "นภา", "ปิยะ", "อรุณี", "ธนา", "กมล", "สุดา", "ประเสริฐ",
    "พิมพ์ชนก", "ณัฐพล", "กัญญา", "ศิริพร", "ธีรวัฒน์", "วราภรณ์", "อนุชา", "จิราพร", "ชัยวัฒน์", "มาลี",
    "ปวีณา", "สุรชัย", "รัตนา", "เอกชัย", "นันทนา", "ภานุวัฒน์", "ลลิตา", "กิตติพงษ์", "อัญชลี", "ธนพร",
    "ชนิดา", "พงศกร", "ดวงใจ", "ศุภชัย", "เบญจมาศ", "วีระพงษ์", "ปาริชาติ", "อภิชาติ", "สายสุนีย์", "ณัฐธิดา",
]
LAST_NAMES = [
    "ใจดี", "รักไทย", "ศรีสุข", "บุญมา", "แสงทอง", "วงศ์สวัสดิ์", "สุขประเสริฐ", "ทองดี", "เพชรรัตน์", "จันทร์หอม",
    "มั่นคง", "ศรีวงศ์", "พรหมมา", "แก้วมณี", "ชัยมงคล", "สายบุญ", "นาคสวัสดิ์", "อินทร์แก้ว", "ประเสริฐศักดิ์", "ธรรมรักษ์",
    "บุญเรือง", "สมบูรณ์", "กิจเจริญ", "วัฒนกุล", "เจริญผล", "ศักดิ์สิทธิ์", "รุ่งเรือง", "ทองคำ", "มณีวงศ์", "สุวรรณรัตน์",
]
EMAIL_DOMAINS = ["gmail.com", "hotmail.com", "yahoo.co.th", "outlook.com", "icloud.com"]
ROMAN = ["somchai", "somying", "wichai", "napa", "piya", "arunee", "thana", "kamol", "suda", "prasert",
         "pimchanok", "nattapon", "kanya", "siriporn", "teerawat", "waraporn", "anucha", "jiraporn", "chaiwat", "malee"]
MOBILE_PREFIXES = ["061", "062", "063", "064", "065", "080", "081", "082", "083", "084", "085", "086", "087",
                   "088", "089", "090", "091", "092", "093", "094", "095", "096", "097", "098", "099"]
GENDER_SPELLINGS = ["ชาย"] * 6 + ["หญิง"] * 6 + ["อื่นๆ", "ไม่ระบุ", "male", "female", "M", "F"]

DEMO_ROWS = 300


def _phone_forms(national: str, rng: random.Random):
    """One of the accepted ways to write the number: (cell value, is number cell)."""
    n = national[1:]
    form = rng.choices(
        ["plain", "dashes", "spaces", "plus", "cc", "int", "plus_spaced", "text_no_zero"],
        weights=[30, 20, 8, 8, 6, 14, 8, 6],
    )[0]
    if form == "plain":
        return national
    if form == "dashes":
        return f"{national[:3]}-{national[3:6]}-{national[6:]}"
    if form == "spaces":
        return f"{national[:3]} {national[3:6]} {national[6:]}"
    if form == "plus":
        return "+66" + n
    if form == "cc":
        return "66" + n
    if form == "plus_spaced":
        return f"+66 {n[:2]} {n[2:5]} {n[5:]}"
    if form == "text_no_zero":
        return n
    return int(n)  # a number cell that lost its leading zero


def _birthday(rng: random.Random):
    if rng.random() < 0.25:
        return None
    d = date(1950, 1, 1).toordinal() + rng.randrange(0, (date(2008, 12, 31) - date(1950, 1, 1)).days)
    d = date.fromordinal(d)
    form = rng.choices(["ce_text", "be_text", "iso", "cell"], weights=[35, 30, 15, 20])[0]
    if form == "ce_text":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if form == "be_text":
        return f"{d.day:02d}/{d.month:02d}/{d.year + 543}"
    if form == "iso":
        return d.isoformat()
    return d


def _unique_phones(rng: random.Random, n: int) -> list[str]:
    phones, seen = [], set()
    while len(phones) < n:
        national = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(0, 10**7):07d}"
        e164 = normalize_phone(national)
        if e164 not in seen:
            seen.add(e164)
            phones.append(national)
    return phones


def demo_rows(rng: random.Random, n: int = DEMO_ROWS) -> list[list]:
    rows = []
    for i, national in enumerate(_unique_phones(rng, n)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = None
        if rng.random() < 0.6:
            email = f"{rng.choice(ROMAN)}.{i + 1:03d}@{rng.choice(EMAIL_DOMAINS)}"
        rows.append([
            _phone_forms(national, rng),
            f"{first} {last}",
            rng.choice([0, 0, 50, 100, 150, 200, 350, 500, 1200, 2500]) + rng.randrange(0, 50),
            rng.choice(GENDER_SPELLINGS) if rng.random() < 0.8 else None,
            _birthday(rng),
            email,
        ])
    return rows


# (cells, [(column, reason word)...]) -- one kind of mistake per row, and a few good rows
BROKEN_ROWS = [
    (["0812345001", "สมชาย ใจดี", 120, "ชาย", "15/03/2533", "somchai@example.com"], []),
    (["0812345", "วิชัย รักไทย", 50, "ชาย", None, None], [("phone", "too short")]),
    (["0812345003", None, 80, "หญิง", None, None], [("name", "required")]),
    (["0812345004", "นภา ศรีสุข", -20, "หญิง", None, None], [("points", "negative")]),
    (["0812345005", "ปิยะ บุญมา", 10.5, None, None, None], [("points", "whole number")]),
    (["0812345006", "อรุณี แสงทอง", 30, "หญิง", "31/02/2530", None], [("birthday", "not a real date")]),
    (["0812345007", "ธนา ทองดี", 40, "ชาย", None, "thana@@example"], [("email", "not a valid email")]),
    (["081-234-5001", "กมล ใจดี (ซ้ำ)", 60, "ชาย", None, None], [("phone", "duplicate")]),
    (["0812345009", "สุดา มั่นคง", 70, "ผู้หญิงมาก", None, None], [("gender", "ชาย")]),
    (["0812345010", "ประเสริฐ ศรีวงศ์", 90, "ชาย", "01/01/2099", None], [("birthday", "future")]),
    (["0812345011", "ก" * 1500, 10, None, None, None], [("name", "too long")]),
    ([None, "ไม่มี เบอร์", 10, None, None, None], [("phone", "required")]),
    (["08l2345013", "ณัฐพล แก้วมณี", 10, None, None, None], [("phone", "letters")]),
    (["0812345014", "กัญญา ชัยมงคล", "สิบ", None, None, None], [("points", "whole number")]),
    (["0812345015", "=HYPERLINK(\"http://x.example\",\"คลิก\")", 10, None, None, None], [("name", "formula")]),
    (["0812345016", "ศิริพร สายบุญ", None, None, None, None], [("points", "required")]),
    (["+1 650 253 0000", "John Smith", 10, "male", None, None], [("phone", "not a Thai number")]),
    (["0812345018", "ธีรวัฒน์ นาคสวัสดิ์", 10, None, "15/03/33", None], [("birthday", "4-digit year")]),
    (["0812345019", "วราภรณ์ อินทร์แก้ว", 10, None, "29/02/2542", None], [("birthday", "not a real date")]),
    (["0812345020", "อนุชา ธรรมรักษ์", 10, None, "1890-05-01", None], [("birthday", "before 1900")]),
    (["071-234-567", "จิราพร บุญเรือง", 10, None, None, None], [("phone", "not a valid Thai number")]),
    (["812345022", "ชัยวัฒน์ สมบูรณ์", 25.0, "M", date(1988, 7, 9), "chaiwat@example.com"], []),
    (["0812345023", "มาลี กิจเจริญ", 10, None, None, "=cmd|' /C calc'!A0"], [("email", "formula")]),
    ([812345001, "ซ้ำ อีกครั้ง", 10, None, None, None], [("phone", "duplicate")]),
    (["abc", None, -1, "x", "32/13/2020", "no-at-sign"], [
        ("phone", "letters"), ("name", "required"), ("points", "negative"),
        ("gender", "ชาย"), ("birthday", "not a real date"), ("email", "not a valid email"),
    ]),
    (["0812345026", "ปวีณา วัฒนกุล", 15, "อื่นๆ", "2533-03-15", "paweena@example.com"], []),
]


def _fill(path: Path, rows: list[list]) -> None:
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    wb = load_workbook(path)
    ws = wb["members"]
    for r, values in enumerate(rows, start=2):  # row 2 overwrites the example row
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a pasted CSV cell would be
            if r == 2:
                cell.font = Font()  # drop the example row's grey italics
            if isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
            elif c in (1, 5):
                cell.number_format = "General" if isinstance(value, (int, float)) else "@"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = None
    wb.properties.creator = "crm sample_data/make_samples.py"
    wb.save(path)
    _normalize_zip(path)


def _normalize_zip(path: Path) -> None:
    """Rewrite the zip with fixed timestamps and a fixed core-properties date so the
    file is byte-for-byte reproducible."""
    src = zipfile.ZipFile(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    src.close()
    path.write_bytes(buf.getvalue())


def write_demo(path: Path) -> None:
    rng = random.Random(SEED)
    write_member_template(path)
    _fill(path, demo_rows(rng))


def write_broken(path: Path, expected_csv: Path) -> None:
    write_member_template(path)
    _fill(path, [cells for cells, _ in BROKEN_ROWS])
    with open(expected_csv, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["row", "column", "reason_contains"])
        for i, (_, errors) in enumerate(BROKEN_ROWS, start=2):
            for column, reason in errors:
                w.writerow([i, column, reason])


def main(out_dir: Path = HERE) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_demo(out_dir / "members-demo.xlsx")
    write_broken(out_dir / "members-broken.xlsx", out_dir / "members-broken.expected.csv")
    print(f"wrote {out_dir / 'members-demo.xlsx'}, {out_dir / 'members-broken.xlsx'}, "
          f"{out_dir / 'members-broken.expected.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
