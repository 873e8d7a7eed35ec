"""The marketplace order feed: parsing, validation, and the points rules for orders."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_cli.domain.orders_feed import (
    CHANNELS,
    FeedOrder,
    RowError,
    clawback_points,
    feed_format_for,
    parse_order_feed,
    points_for_amount,
)

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
HEADER = "order_id,phone,paid_at,amount,status,refund_amount\n"


def parse_csv(body: str, header: str = HEADER):
    return parse_order_feed((header + body).encode("utf-8"), "csv")


def parse_json(doc):
    return parse_order_feed(json.dumps(doc).encode("utf-8"), "json")


def cols(errors: list[RowError]) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in errors]


# --------------------------------------------------------------------------
# Sample files
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"), [("orders-line-shopping.csv", "csv"), ("orders-myshop.json", "json")]
)
def test_sample_files_parse_cleanly(name, fmt):
    path = ROOT / "sample_data" / name
    orders, errors = parse_order_feed(path.read_bytes(), fmt)
    assert errors == []
    assert len(orders) >= 6
    statuses = {o.status for o in orders}
    assert statuses == {"paid", "cancelled", "refunded"}
    partial = [o for o in orders if o.status == "refunded" and o.refund_amount < o.amount]
    assert partial, "the sample shows a partial refund"
    for order in orders:
        assert order.paid_at.tzinfo == timezone.utc
        assert order.amount == order.amount.quantize(D("0.01"))
    assert any(o.amount != o.amount.to_integral_value() for o in orders), "amounts with satang"


def test_sample_phones_normalize_with_the_phone_module():
    phone = pytest.importorskip("crm_cli.domain.phone")
    for name, fmt in [("orders-line-shopping.csv", "csv"), ("orders-myshop.json", "json")]:
        orders, _ = parse_order_feed((ROOT / "sample_data" / name).read_bytes(), fmt)
        for order in orders:
            assert phone.normalize_phone(order.phone_raw).startswith("+66")


def test_channels_and_format_from_file_name():
    assert CHANNELS == ("line-shopping", "myshop")
    assert feed_format_for("orders.CSV") == "csv"
    assert feed_format_for(Path("x/orders.json")) == "json"
    with pytest.raises(ValueError, match=".csv or .json"):
        feed_format_for("orders.xlsx")
    with pytest.raises(ValueError):
        parse_order_feed(b"", "xml")


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------


def test_csv_basic_row_and_utc_conversion():
    orders, errors = parse_csv("A1,081-234-5678,2026-11-10T09:15:00+07:00,1250.5,PAID,\n")
    assert errors == []
    (o,) = orders
    assert o == FeedOrder("A1", "081-234-5678", datetime(2026, 11, 10, 2, 15, tzinfo=timezone.utc), D("1250.50"), "paid", None)
    assert o.row == 2
    assert str(o.amount) == "1250.50"


def test_csv_with_bom_header_variants_extra_columns_and_no_refund_column():
    data = "\ufeffOrder ID, Phone ,Paid At,AMOUNT,status,note\nA1,0812345678,2026-11-10T09:15:00Z,10.00,paid,gift wrap\n"
    orders, errors = parse_order_feed(data.encode("utf-8"), "csv")
    assert errors == []
    assert orders[0].order_id == "A1" and orders[0].refund_amount is None


def test_csv_missing_required_columns_are_reported_on_the_header_row():
    orders, errors = parse_csv("A1,0812345678,10.00\n", header="order_id,phone,amount\n")
    assert orders == []
    assert cols(errors) == [(1, "paid_at"), (1, "status")]


def test_csv_empty_file_and_duplicate_header():
    assert cols(parse_order_feed(b"", "csv")[1]) == [(1, "")]
    _, errors = parse_csv("", header="order_id,phone,paid_at,amount,status,amount\n")
    assert cols(errors) == [(1, "amount")]


def test_csv_blank_lines_are_skipped_and_rows_keep_file_numbers():
    body = "A1,0812345678,2026-11-10T09:15:00+07:00,10.00,paid,\n\n,,,,,\nA2,,2026-11-10T09:15:00+07:00,10.00,paid,\n"
    orders, errors = parse_csv(body)
    assert [o.order_id for o in orders] == ["A1"]
    assert cols(errors) == [(5, "phone")]


def test_csv_row_with_too_many_cells():
    header = "order_id,phone,paid_at,amount,status\n"
    orders, errors = parse_csv("A1,0812345678,2026-11-10T09:15:00+07:00,1,250.00,paid\n", header=header)
    assert orders == [] and len(errors) == 1
    assert errors[0].row == 2 and "quote" in errors[0].message
    # trailing empty cells are harmless
    orders, errors = parse_csv("A1,0812345678,2026-11-10T09:15:00+07:00,1250.00,paid,,\n", header=header)
    assert errors == [] and len(orders) == 1


def test_csv_all_errors_are_collected_in_one_run():
    body = (
        "A1,0812345678,2026-11-10T09:15:00+07:00,10.00,paid,\n"  # row 2 ok
        ",0812345678,2026-11-10T09:15:00+07:00,10.00,paid,\n"  # row 3 no id
        "A3,,2026-11-10 09:15:00,12.345,shipped,\n"  # row 4: four problems
        "A4,0812345678,yesterday,-5,paid,\n"  # row 5: two problems
        "A5,0812345678,2026-11-10T09:15:00+07:00,100.00,paid,5.00\n"  # row 6: refund on paid
        "A6,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,150.00\n"  # row 7: refund > amount
        "A7,0812345678,2026-11-10T09:15:00+07:00,0,paid,\n"  # row 8: zero amount
    )
    orders, errors = parse_csv(body)
    assert [o.order_id for o in orders] == ["A1"]
    assert cols(errors) == [
        (3, "order_id"),
        (4, "phone"),
        (4, "paid_at"),
        (4, "amount"),
        (4, "status"),
        (5, "paid_at"),
        (5, "amount"),
        (6, "refund_amount"),
        (7, "refund_amount"),
        (8, "amount"),
    ]
    naive = next(e for e in errors if e.row == 4 and e.column == "paid_at")
    assert "offset" in naive.message and naive.value == "2026-11-10 09:15:00"
    assert all("\n" not in e.message for e in errors)
    assert str(naive).startswith("row 4, paid_at '2026-11-10 09:15:00': ")


def test_not_utf8_is_a_file_error():
    orders, errors = parse_order_feed((HEADER + "A1,08123,x,1,paid,\n").encode("cp874") + b"\xff\xfe", "csv")
    assert orders == [] and errors[0].row == 0 and "UTF-8" in errors[0].message


# --------------------------------------------------------------------------
# Field rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1250.50", D("1250.50")),
        ("1250.5", D("1250.50")),
        ("1250", D("1250.00")),
        ("1,250.50", D("1250.50")),
        ("0.01", D("0.01")),
    ],
)
def test_amount_accepted(text, expected):
    orders, errors = parse_csv(f'A1,0812345678,2026-11-10T09:15:00+07:00,"{text}",paid,\n')
    assert errors == [] and orders[0].amount == expected


@pytest.mark.parametrize("text", ["12.345", "0", "0.00", "-10", "abc", "1e3", "NaN", "1,25.00", "฿100", "999999999"])
def test_amount_rejected(text):
    orders, errors = parse_csv(f'A1,0812345678,2026-11-10T09:15:00+07:00,"{text}",paid,\n')
    assert orders == [] and cols(errors) == [(2, "amount")]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-10T09:15:00+07:00", datetime(2026, 11, 10, 2, 15, tzinfo=timezone.utc)),
        ("2026-11-10 09:15:00+07:00", datetime(2026, 11, 10, 2, 15, tzinfo=timezone.utc)),
        ("2026-11-10T02:15:00Z", datetime(2026, 11, 10, 2, 15, tzinfo=timezone.utc)),
        ("2026-11-10T09:15:00.250+07:00", datetime(2026, 11, 10, 2, 15, 0, 250000, tzinfo=timezone.utc)),
    ],
)
def test_paid_at_accepted_and_converted_to_utc(text, utc):
    orders, errors = parse_csv(f"A1,0812345678,{text},10.00,paid,\n")
    assert errors == [] and orders[0].paid_at == utc and orders[0].paid_at.tzinfo == timezone.utc


@pytest.mark.parametrize("text", ["2026-11-10T09:15:00", "2026-11-10", "10/11/2026 09:15", "2026-13-10T09:15:00+07:00"])
def test_paid_at_rejected(text):
    _, errors = parse_csv(f"A1,0812345678,{text},10.00,paid,\n")
    assert cols(errors) == [(2, "paid_at")]


def test_refund_rules():
    rows = (
        "R1,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,\n"  # full refund
        "R2,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,40.10\n"  # partial
        "R3,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,100\n"  # full, explicit
        "R4,0812345678,2026-11-10T09:15:00+07:00,100.00,paid,0.00\n"  # explicit zero: no refund
        "R5,0812345678,2026-11-10T09:15:00+07:00,100.00,cancelled,\n"
    )
    orders, errors = parse_csv(rows)
    assert errors == []
    assert [(o.order_id, o.status, o.refund_amount) for o in orders] == [
        ("R1", "refunded", D("100.00")),
        ("R2", "refunded", D("40.10")),
        ("R3", "refunded", D("100.00")),
        ("R4", "paid", None),
        ("R5", "cancelled", None),
    ]
    bad = (
        "B1,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,0\n"
        "B2,0812345678,2026-11-10T09:15:00+07:00,100.00,cancelled,10\n"
        "B3,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,100.01\n"
        "B4,0812345678,2026-11-10T09:15:00+07:00,100.00,refunded,1.005\n"
    )
    orders, errors = parse_csv(bad)
    assert orders == [] and cols(errors) == [(r, "refund_amount") for r in (2, 3, 4, 5)]


# --------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------


def test_identical_duplicates_are_kept_once():
    row = "A1,0812345678,2026-11-10T09:15:00+07:00,10.00,paid,\n"
    same = "A1,0812345678,2026-11-10T02:15:00Z,10,Paid,\n"  # same content, other spelling
    orders, errors = parse_csv(row + same)
    assert errors == [] and len(orders) == 1


def test_conflicting_duplicates_are_an_error_and_neither_is_kept():
    body = (
        "A1,0812345678,2026-11-10T09:15:00+07:00,10.00,paid,\n"
        "A2,0812345678,2026-11-10T09:15:00+07:00,20.00,paid,\n"
        "A1,0812345678,2026-11-10T09:15:00+07:00,10.00,refunded,5.00\n"
    )
    orders, errors = parse_csv(body)
    assert [o.order_id for o in orders] == ["A2"]
    assert cols(errors) == [(4, "order_id")]
    assert "row 2" in errors[0].message


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------

GOOD = {
    "order_id": "M1",
    "phone": "+66 81 234 5678",
    "paid_at": "2026-11-10T09:15:00+07:00",
    "amount": "99.50",
    "status": "paid",
}


def test_json_array_or_orders_object():
    a, ea = parse_json([GOOD])
    b, eb = parse_json({"orders": [GOOD]})
    assert ea == eb == [] and a == b and a[0].row == 1


def test_json_numbers_are_exact_and_ids_may_be_integers():
    raw = b'[{"order_id": 1001, "phone": 812345678, "paid_at": "2026-11-10T09:15:00+07:00", "amount": 0.1, "status": "refunded", "refund_amount": 0.03}]'
    orders, errors = parse_order_feed(raw, "json")
    assert errors == []
    (o,) = orders
    assert (o.order_id, o.phone_raw, o.amount, o.refund_amount) == ("1001", "812345678", D("0.10"), D("0.03"))


def test_json_errors_per_object_and_file():
    doc = [GOOD, "not an object", {**GOOD, "order_id": "M3", "amount": True, "paid_at": 20261110}, {**GOOD, "order_id": "M4", "phone": None}]
    orders, errors = parse_json(doc)
    assert [o.order_id for o in orders] == ["M1"]
    assert cols(errors) == [(2, ""), (3, "paid_at"), (3, "amount"), (4, "phone")]
    assert cols(parse_order_feed(b"{not json", "json")[1]) == [(0, "")]
    assert cols(parse_order_feed(b'{"items": []}', "json")[1]) == [(0, "")]
    assert cols(parse_order_feed(b'[{"amount": NaN}]', "json")[1]) == [(0, "")]
    assert parse_order_feed(b"[]", "json") == ([], [])


# --------------------------------------------------------------------------
# Round trip property: whatever valid orders we write, we read back
# --------------------------------------------------------------------------

money_st = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2, allow_nan=False, allow_infinity=False)


@st.composite
def feed_orders(draw):
    amount = draw(money_st)
    status = draw(st.sampled_from(["paid", "cancelled", "refunded"]))
    refund = None
    if status == "refunded":
        cents = draw(st.integers(min_value=1, max_value=int(amount * 100)))
        refund = (D(cents) / 100).quantize(D("0.01"))
    minutes = draw(st.integers(min_value=0, max_value=60 * 24 * 3650))
    offset = draw(st.sampled_from([7, 0, -5]))
    paid = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minutes)
    local = paid.astimezone(timezone(timedelta(hours=offset)))
    return {
        "order_id": draw(st.from_regex(r"[A-Z]{2}-[0-9]{4,10}", fullmatch=True)),
        "phone": draw(st.sampled_from(["0812345678", "081-234-5678", "+66 81 234 5678", "66812345678", "812345678"])),
        "paid_at": local.isoformat(),
        "amount": str(amount),
        "status": status,
        "refund_amount": "" if refund is None else str(refund),
    }


@given(st.lists(feed_orders(), min_size=1, max_size=8, unique_by=lambda r: r["order_id"]))
def test_csv_and_json_round_trip(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    from_csv, errors_csv = parse_order_feed(buffer.getvalue().encode("utf-8"), "csv")
    json_rows = [{k: v for k, v in r.items() if v != ""} for r in rows]
    from_json, errors_json = parse_order_feed(json.dumps(json_rows).encode("utf-8"), "json")
    assert errors_csv == errors_json == []
    assert from_csv == from_json
    for row, order in zip(rows, from_csv, strict=True):
        assert order.order_id == row["order_id"]
        assert order.amount == D(row["amount"])
        assert order.paid_at == datetime.fromisoformat(row["paid_at"])
        if row["status"] == "refunded":
            assert order.refund_amount == D(row["refund_amount"])


# --------------------------------------------------------------------------
# Points for orders
# --------------------------------------------------------------------------


def test_points_for_amount_examples():
    assert points_for_amount(D("74.99"), 1, D("25")) == 2
    assert points_for_amount(D("24.99"), 1, D("25")) == 0
    assert points_for_amount(D("25.00"), 1, D("25")) == 1
    assert points_for_amount(D("1250.50"), 2, D("100")) == 24
    assert points_for_amount(D("0"), 1, D("25")) == 0
    assert points_for_amount(100, 1, D("33.33")) == 3


def test_points_for_amount_refuses_bad_input():
    with pytest.raises(TypeError):
        points_for_amount(74.99, 1, D("25"))
    with pytest.raises(ValueError):
        points_for_amount(D("10"), 1, D("0"))
    with pytest.raises(ValueError):
        points_for_amount(D("-1"), 1, D("25"))
    with pytest.raises(ValueError):
        points_for_amount(D("10"), -1, D("25"))


def test_clawback_examples():
    assert clawback_points(50, D("1250.50"), None) == 50  # cancelled or full refund
    assert clawback_points(50, D("1250.50"), D("1250.50")) == 50
    assert clawback_points(95, D("2399.00"), D("600.00")) == 23  # 95 x 600/2399 = 23.76 -> 23
    assert clawback_points(59, D("1999.50"), D("499.50")) == 14  # 14.74 -> 14
    assert clawback_points(3, D("100.00"), D("0.01")) == 0
    assert clawback_points(0, D("100.00"), D("50.00")) == 0


def test_clawback_refuses_bad_input():
    with pytest.raises(ValueError):
        clawback_points(10, D("100"), D("100.01"))
    with pytest.raises(ValueError):
        clawback_points(10, D("100"), D("0"))
    with pytest.raises(ValueError):
        clawback_points(-1, D("100"), None)
    with pytest.raises(TypeError):
        clawback_points(10, 100.0, None)


@given(
    awarded=st.integers(min_value=0, max_value=10**7),
    amount=money_st,
    share=st.integers(min_value=1, max_value=10_000),
)
def test_clawback_properties(awarded, amount, share):
    refund = max(D("0.01"), (amount * share / 10_000).quantize(D("0.01"), rounding="ROUND_DOWN"))
    back = clawback_points(awarded, amount, refund)
    assert 0 <= back <= awarded
    assert clawback_points(awarded, amount, amount) == awarded
    assert clawback_points(awarded, amount, None) == awarded
    # rounded down: never more than the exact proportional share
    assert back * amount <= awarded * refund < (back + 1) * amount


@given(awarded=st.integers(min_value=0, max_value=10**6), amount=money_st, a=st.integers(1, 10**4), b=st.integers(1, 10**4))
def test_clawback_grows_with_the_refund(awarded, amount, a, b):
    low, high = sorted((a, b))
    r1 = max(D("0.01"), (amount * low / 10**4).quantize(D("0.01"), rounding="ROUND_DOWN"))
    r2 = max(D("0.01"), (amount * high / 10**4).quantize(D("0.01"), rounding="ROUND_DOWN"))
    assert clawback_points(awarded, amount, r1) <= clawback_points(awarded, amount, r2)


@given(amount=money_st, per_points=st.integers(0, 100), per_amount=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2))
def test_points_for_amount_properties(amount, per_points, per_amount):
    points = points_for_amount(amount, per_points, per_amount)
    assert points >= 0
    if amount < per_amount:
        assert points == 0
    assert points == (amount // per_amount) * per_points
    assert points_for_amount(amount + per_amount, per_points, per_amount) == points + per_points
