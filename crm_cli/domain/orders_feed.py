"""The marketplace order feed (channels ``line-shopping`` and ``myshop``).

Pure parsing and validation: bytes in, orders and a complete list of row errors
out (reading the file is :mod:`crm_cli.fileio.order_feed`'s job). Nothing here
touches the database or the disk; phone numbers are
kept as given and normalized later by the phone module. docs/order-feed.md
describes the format.

Also here: the two pure points rules for orders (points for an amount, and the
proportional clawback for a refund or cancellation).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

CHANNELS = ("line-shopping", "myshop")
FORMATS = ("csv", "json")
STATUSES = ("paid", "cancelled", "refunded")
REQUIRED_FIELDS = ("order_id", "phone", "paid_at", "amount", "status")
OPTIONAL_FIELDS = ("refund_amount",)
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
MAX_AMOUNT = Decimal("100000000.00")
MAX_ORDER_ID_LENGTH = 64
MAX_PHONE_LENGTH = 32

_SATANG = Decimal("0.01")
_NUMBER_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_HEADER_CLEAN_RE = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class FeedOrder:
    """One valid order from a feed.

    ``paid_at`` is an aware UTC datetime. ``refund_amount`` is set for refunded
    orders only: the total refunded so far (equal to ``amount`` for a full
    refund, including a refunded row that gave no refund_amount); None otherwise.
    ``row`` is where the order was in the file (not part of equality).
    """

    order_id: str
    phone_raw: str
    paid_at: datetime
    amount: Decimal
    status: str
    refund_amount: Decimal | None
    row: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RowError:
    """A problem in the feed. ``row`` 0 means the whole file; see docs/order-feed.md for numbering."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        if self.column:
            where += f", {self.column}"
        if self.value:
            where += f" '{self.value}'"
        return f"{where}: {self.message}"


def feed_format_for(path: str | os.PathLike[str]) -> str:
    """'csv' or 'json' from a file name's extension; ValueError otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the feed format of '{path}': name it .csv or .json")
    return suffix


def parse_order_feed(data: bytes, fmt: str) -> tuple[list[FeedOrder], list[RowError]]:
    """Parse a whole feed; return the valid orders and every error found.

    Rows with errors are left out of ``orders``; an order id that appears twice
    with different content is an error and neither copy is returned. Identical
    repeats are returned once.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format '{fmt}': use one of {', '.join(FORMATS)}")
    data = bytes(data)
    errors: list[RowError] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(
            RowError(0, "", "", f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 (\"CSV UTF-8\")")
        )
        return [], errors

    records = _csv_records(text, errors) if fmt == "csv" else _json_records(text, errors)

    seen: dict[str, FeedOrder] = {}
    conflicted: set[str] = set()
    orders: list[FeedOrder] = []
    for row, values in records:
        order = _validate(row, values, errors)
        if order is None:
            continue
        first = seen.get(order.order_id)
        if first is None:
            seen[order.order_id] = order
            orders.append(order)
        elif first != order:
            conflicted.add(order.order_id)
            errors.append(
                RowError(
                    row,
                    "order_id",
                    order.order_id,
                    f"order {order.order_id} already appears at row {first.row} with different content; "
                    "keep one row per order with its latest status",
                )
            )
    orders = [o for o in orders if o.order_id not in conflicted]
    errors.sort(key=lambda e: e.row)
    return orders, errors


# --------------------------------------------------------------------------
# Reading CSV and JSON into (row number, {field: value}) records
# --------------------------------------------------------------------------


def _header_name(cell: str) -> str:
    return _HEADER_CLEAN_RE.sub("_", cell.strip().lower())


def _csv_records(text: str, errors: list[RowError]) -> list[tuple[int, dict[str, object]]]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        errors.append(RowError(0, "", "", f"the CSV cannot be read: {exc}; check quotes and separators"))
        return []
    if not rows or not any(cell.strip() for cell in rows[0]):
        errors.append(
            RowError(1, "", "", f"the header row is missing; the first row must name the columns: {','.join(FIELDS)}")
        )
        return []

    header = [_header_name(cell) for cell in rows[0]]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in FIELDS:
            if name in positions:
                errors.append(RowError(1, name, rows[0][index], f"column {name} appears twice in the header"))
            positions.setdefault(name, index)
    for name in REQUIRED_FIELDS:
        if name not in positions:
            errors.append(
                RowError(1, name, "", f"required column {name} is missing from the header row ({','.join(FIELDS)})")
            )
    if errors:
        return []

    records: list[tuple[int, dict[str, object]]] = []
    for row_number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            errors.append(
                RowError(
                    row_number,
                    "",
                    "",
                    f"the row has {len(cells)} cells but the header has {len(header)}; quote values that contain commas",
                )
            )
            continue
        values: dict[str, object] = {name: (cells[i] if i < len(cells) else "") for name, i in positions.items()}
        records.append((row_number, values))
    return records


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def _json_records(text: str, errors: list[RowError]) -> list[tuple[int, dict[str, object]]]:
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        errors.append(
            RowError(0, "", "", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        )
        return []
    except ValueError as exc:
        errors.append(RowError(0, "", "", f"not valid JSON: {exc}"))
        return []
    if isinstance(doc, dict) and isinstance(doc.get("orders"), list):
        items = doc["orders"]
    elif isinstance(doc, list):
        items = doc
    else:
        errors.append(RowError(0, "", "", 'the JSON must be an array of orders or an object {"orders": [...]}'))
        return []

    records: list[tuple[int, dict[str, object]]] = []
    for row_number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(row_number, "", _show(item), "each order must be a JSON object"))
            continue
        records.append((row_number, {name: item.get(name) for name in FIELDS}))
    return records


# --------------------------------------------------------------------------
# Validating one record
# --------------------------------------------------------------------------


def _show(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(row: int, column: str, value: object, errors: list[RowError], *, allow_int: bool) -> str | None:
    """A cell as stripped text; None (with an error recorded) if it cannot be text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    errors.append(RowError(row, column, _show(value), f"{column} must be text (a JSON string)"))
    return None


def _money_text(row: int, column: str, value: object, errors: list[RowError]) -> str | None:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    errors.append(RowError(row, column, _show(value), f"{column} must be a number such as 1250.50"))
    return None


def _parse_money(row: int, column: str, text: str, errors: list[RowError]) -> Decimal | None:
    if not _NUMBER_RE.fullmatch(text):
        errors.append(
            RowError(row, column, text, f"{column} must be an amount in THB such as 1250.50 (digits, a dot, satang)")
        )
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        errors.append(RowError(row, column, text, f"{column} is not a number"))
        return None
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2:
        errors.append(RowError(row, column, text, f"{column} has more than 2 decimals; THB amounts go to the satang"))
        return None
    if value <= 0:
        errors.append(RowError(row, column, text, f"{column} must be greater than 0"))
        return None
    if value > MAX_AMOUNT:
        errors.append(RowError(row, column, text, f"{column} is larger than {MAX_AMOUNT}; check the value"))
        return None
    return value.quantize(_SATANG)


def _parse_paid_at(row: int, text: str, errors: list[RowError]) -> datetime | None:
    example = "e.g. 2026-11-10T14:05:00+07:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors.append(RowError(row, "paid_at", text, f"paid_at must be an ISO 8601 date and time with offset, {example}"))
        return None
    if value.utcoffset() is None:
        errors.append(
            RowError(row, "paid_at", text, f"paid_at has no UTC offset; add it (+07:00 for Bangkok time), {example}")
        )
        return None
    return value.astimezone(timezone.utc)


def _validate(row: int, values: dict[str, object], errors: list[RowError]) -> FeedOrder | None:
    before = len(errors)

    order_id = _text(row, "order_id", values.get("order_id"), errors, allow_int=True)
    if order_id == "":
        errors.append(RowError(row, "order_id", "", "order_id is required"))
    elif order_id is not None and len(order_id) > MAX_ORDER_ID_LENGTH:
        errors.append(
            RowError(row, "order_id", _show(order_id), f"order_id is longer than {MAX_ORDER_ID_LENGTH} characters")
        )

    phone = _text(row, "phone", values.get("phone"), errors, allow_int=True)
    if phone == "":
        errors.append(RowError(row, "phone", "", "phone (the buyer's phone number) is required"))
    elif phone is not None and len(phone) > MAX_PHONE_LENGTH:
        errors.append(RowError(row, "phone", _show(phone), "phone is too long to be a phone number"))

    paid_at = None
    paid_text = _text(row, "paid_at", values.get("paid_at"), errors, allow_int=False)
    if paid_text == "":
        errors.append(RowError(row, "paid_at", "", "paid_at is required, e.g. 2026-11-10T14:05:00+07:00"))
    elif paid_text is not None:
        paid_at = _parse_paid_at(row, paid_text, errors)

    amount = None
    amount_text = _money_text(row, "amount", values.get("amount"), errors)
    if amount_text == "":
        errors.append(RowError(row, "amount", "", "amount (THB paid) is required"))
    elif amount_text is not None:
        amount = _parse_money(row, "amount", amount_text, errors)

    status = _text(row, "status", values.get("status"), errors, allow_int=False)
    if status is not None:
        status = status.lower()
        if status == "":
            errors.append(RowError(row, "status", "", f"status is required: one of {', '.join(STATUSES)}"))
            status = None
        elif status not in STATUSES:
            errors.append(
                RowError(row, "status", _show(values.get("status")), f"status must be one of {', '.join(STATUSES)}")
            )
            status = None

    refund = None
    refund_text = _money_text(row, "refund_amount", values.get("refund_amount"), errors)
    if refund_text and status in ("paid", "cancelled") and _is_zero(refund_text):
        refund_text = ""  # an explicit 0 on an order that was not refunded means no refund
    if refund_text:
        if status in ("paid", "cancelled"):
            errors.append(
                RowError(
                    row,
                    "refund_amount",
                    refund_text,
                    f"refund_amount is only for status refunded (this order is {status}); leave it empty",
                )
            )
        else:
            refund = _parse_money(row, "refund_amount", refund_text, errors)
            if refund is not None and amount is not None and refund > amount:
                errors.append(
                    RowError(
                        row,
                        "refund_amount",
                        refund_text,
                        f"refund_amount {refund} is more than the order amount {amount}",
                    )
                )
    if status == "refunded" and refund is None and not refund_text and amount is not None:
        refund = amount  # a refunded order without refund_amount is a full refund

    if len(errors) > before:
        return None
    # no new error: every required field was read
    assert order_id is not None and phone is not None and paid_at is not None and amount is not None
    assert status is not None
    return FeedOrder(
        order_id=order_id,
        phone_raw=phone,
        paid_at=paid_at,
        amount=amount,
        status=status,
        refund_amount=refund,
        row=row,
    )


def _is_zero(text: str) -> bool:
    try:
        return Decimal(text.replace(",", "")) == 0
    except InvalidOperation:
        return False


# --------------------------------------------------------------------------
# Points for orders
# --------------------------------------------------------------------------


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal or int, not {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return result


def points_for_amount(amount: Decimal, per_points: int, per_amount: Decimal) -> int:
    """Points for a spend: ``per_points`` for every whole ``per_amount`` THB, rounded down.

    1 point per 25 THB: 74.99 -> 2, 24.99 -> 0. A spend below ``per_amount`` earns nothing.
    """
    spend = _decimal(amount, "amount")
    step = _decimal(per_amount, "per_amount")
    if isinstance(per_points, bool) or not isinstance(per_points, int):
        raise TypeError("per_points must be an int")
    if per_points < 0:
        raise ValueError("per_points must be 0 or more")
    if step <= 0:
        raise ValueError("per_amount must be greater than 0")
    if spend < 0:
        raise ValueError("amount must not be negative")
    return int(spend // step) * per_points


def clawback_points(points_awarded: int, amount: Decimal, refund_amount: Decimal | None) -> int:
    """Points to take back when an order is refunded or cancelled.

    ``refund_amount`` None means the whole order is reversed (cancelled, or a full
    refund): everything awarded comes back. Otherwise the share refund/amount of
    the points, rounded down. ``refund_amount`` is the order's total refunded so
    far; for a later, larger refund take back the difference from what was
    already clawed back (the result never decreases as the refund grows).
    """
    if isinstance(points_awarded, bool) or not isinstance(points_awarded, int):
        raise TypeError("points_awarded must be an int")
    if points_awarded < 0:
        raise ValueError("points_awarded must not be negative")
    total = _decimal(amount, "amount")
    if total <= 0:
        raise ValueError("amount must be greater than 0")
    if refund_amount is None:
        return points_awarded
    refund = _decimal(refund_amount, "refund_amount")
    if refund <= 0 or refund > total:
        raise ValueError(f"refund_amount must be more than 0 and at most the order amount {total}")
    if refund == total:
        return points_awarded
    refund_num, refund_den = refund.as_integer_ratio()
    total_num, total_den = total.as_integer_ratio()
    return (points_awarded * refund_num * total_den) // (refund_den * total_num)
