"""Reading an order feed file: the format from the extension, the bytes to the pure parser."""

from __future__ import annotations

import json

import pytest

from crm_cli.fileio.order_feed import read_order_feed
from tests.domain.test_orders_feed import GOOD


def test_reads_csv_and_json_files_by_extension(tmp_path):
    path = tmp_path / "orders.JSON"
    path.write_text(json.dumps({"orders": [GOOD]}), encoding="utf-8")
    orders, errors = read_order_feed(path)
    assert errors == [] and len(orders) == 1
    assert read_order_feed(str(path)) == (orders, [])
    csv_path = tmp_path / "orders.csv"
    csv_path.write_text("order_id,phone,paid_at,amount,status\n" + ",".join(
        str(GOOD[k]) for k in ("order_id", "phone", "paid_at", "amount", "status")) + "\n", encoding="utf-8")
    assert read_order_feed(csv_path) == (orders, [])


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="name it .csv or .json"):
        read_order_feed(tmp_path / "orders.xlsx")
    with pytest.raises(FileNotFoundError):
        read_order_feed(tmp_path / "missing.csv")
