"""Text from outside is stored as sent; every output format neutralizes it on the way out
(tests/hostile.py has the corpus). Stored directly in the database, as a LINE display name
or an older row would be, since the commands refuse such text at the door."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from crm_cli.db.models import Member, Store
from tests.hostile import CORPUS, THAI, assert_terminal_safe

TEXT_FORMATS = ("table", "plain", "markdown", "csv")


def _phone(i: int) -> str:
    return f"08123{i:05d}"


def stored(text: str, backend: str) -> str:
    """What the database can hold: PostgreSQL text never contains NUL (it refuses the row)."""
    return text.replace("\x00", "") if backend == "postgresql" else text


@pytest.fixture
def hostile_members(shop, uow, backend):
    """One member per corpus string, in the name (the column holds 200 characters) and the
    LINE display name; the first member's address and notes (unbounded) hold them all."""
    shop.stored = {label: stored(text, backend) for label, text in CORPUS.items()}
    shop.everything = " | ".join(shop.stored.values())
    now = datetime.now(timezone.utc)
    with uow() as s:
        store_id = s.exec(select(Store.id).where(Store.slug == "cafe")).one()
        for i, text in enumerate(shop.stored.values()):
            s.add(Member(store_id=store_id, phone="+66" + _phone(i)[1:], name=text[:200], line_display_name=text[:200],
                         address=shop.everything if i == 0 else None, notes=shop.everything if i == 0 else None,
                         source="points", created_at=now, last_activity_at=now))
    return shop


def test_member_list_every_format_is_terminal_safe(hostile_members):
    shop = hostile_members
    for fmt in TEXT_FORMATS:
        out = shop.ok("member", "list", "--limit", "100", fmt=fmt).stdout
        assert_terminal_safe(out, f"member list -f {fmt}")
        assert THAI in out, fmt  # Thai, marks and all, unchanged
    out = shop.ok("member", "list", "--limit", "100", fmt="table").stdout
    assert "Evil\\x1b[31mRED\\x1b[0m" in out and "invoice\\u202egpj.exe" in out and "c1\\x9b31mred" in out
    assert "[bold red]not markup[/]" in out  # shown literally, never interpreted
    rows = json.loads(shop.ok("member", "list", "--limit", "100", fmt="json").stdout)
    assert_terminal_safe(shop.ok("member", "list", "--limit", "100", fmt="json").stdout, "member list -f json")
    assert sorted(r["name"] for r in rows) == sorted(t[:200] for t in shop.stored.values())  # JSON gives back what is stored


def test_member_show_every_format_is_terminal_safe(hostile_members):
    shop = hostile_members
    for fmt in TEXT_FORMATS:
        out = shop.ok("member", "show", _phone(0), fmt=fmt).stdout
        assert_terminal_safe(out, f"member show -f {fmt}")
        assert THAI in out, fmt
        if fmt != "markdown":
            assert "N" * 10_000 in out  # whole, never cut
    raw = shop.ok("member", "show", _phone(0), fmt="json").stdout
    assert_terminal_safe(raw, "member show -f json")
    doc = json.loads(raw)  # JSON escapes as JSON does: the stored text comes back exactly
    assert doc["address"] == shop.everything and doc["notes"] == shop.everything
    assert doc["name"] == shop.stored["csi colour"]


def test_member_export_csv_and_xlsx_drop_controls_and_keep_thai(hostile_members, tmp_path):
    from openpyxl import load_workbook

    shop = hostile_members
    out = tmp_path / "members.csv"
    shop.ok("member", "export", "--out", str(out))
    data = out.read_bytes()
    assert_terminal_safe(data, "member export .csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    names = {r["name"] for r in rows}
    assert THAI in names and "EvilRED" not in names and "Evil[31mRED[0m" in names
    assert "'=HYPERLINK(\"https://evil.example\",\"click\")" in names  # formula neutralized
    assert any("N" * 10_000 in r["address"] for r in rows)

    book = tmp_path / "members.xlsx"
    shop.ok("member", "export", "--out", str(book))
    ws = load_workbook(book, read_only=True).worksheets[0]
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    for c in cells:
        assert_terminal_safe(c, "member export .xlsx")
    assert THAI in cells and "invoicegpj.exe" in cells
    assert "'=HYPERLINK(\"https://evil.example\",\"click\")" in cells


def test_stdout_csv_neutralizes_formulas_but_keeps_signed_numbers(hostile_members):
    out = hostile_members.ok("member", "list", "--limit", "100", fmt="csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    names = {r["name"] for r in rows}
    assert "'=HYPERLINK(\"https://evil.example\",\"click\")" in names
    assert all(r["phone"].startswith("+66") for r in rows)  # a phone is not a formula


def test_form_show_prints_terms_text_safely(shop, uow, backend):
    from crm_cli.db.models import FormTerms

    text = "\n".join(stored(t, backend) for t in CORPUS.values() if len(t) < 200)
    with uow() as s:
        store_id = s.exec(select(Store.id).where(Store.slug == "cafe")).one()
        s.add(FormTerms(store_id=store_id, version=1, text=text, created_at=datetime.now(timezone.utc)))
    for fmt in ("table", "plain", "markdown", "csv", "json"):
        out = shop.ok("form", "show", fmt=fmt).stdout
        assert_terminal_safe(out, f"form show -f {fmt}")
    assert THAI in shop.ok("form", "show").stdout
    assert json.loads(shop.ok("form", "show", fmt="json").stdout)["terms"] == text
