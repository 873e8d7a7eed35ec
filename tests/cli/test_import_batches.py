"""The member import across several write batches (on PostgreSQL a store without members is
written with COPY batch by batch while the file is read; SQLite stages the batches): a bad
row found after batches were written still leaves the database unchanged, and the imported
lots expire through the lot_expiry queue on both databases."""

from __future__ import annotations

from freezegun import freeze_time

from crm_cli.domain.errors import InvalidInput
from crm_cli.services import member_import
from tests.cli.test_import import HEADER, NOW, _counts, _csv, _import, _sql


def _rows(n: int, start: int = 1, points: int = 10) -> list[str]:
    return [f"08120{i:05d},Member {i},{points * i},,," for i in range(start, start + n)]


def test_bad_row_after_written_batches_writes_nothing(shop, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(member_import, "BATCH", 2)  # three batches are written before the bad row
    bad = _csv(tmp_path, [HEADER, *_rows(6), "0812099999,,5,,,", *_rows(1, start=7)], name="bad.csv")
    with freeze_time(NOW):
        r = shop("--format", "json", "member", "import", str(bad), "--branch", "Ari")
    assert r.exit_code == InvalidInput.exit_code and "nothing was imported" in r.stderr
    assert "1 problem(s) in 1 of 8 row(s)" in r.stderr
    assert _counts(engine) == (0, 0, 0)
    assert _sql(engine, "SELECT COUNT(*) FROM ledger_summary")[0][0] == 0
    assert _sql(engine, "SELECT COUNT(*) FROM lot_expiry")[0][0] == 0
    assert _sql(engine, "SELECT COUNT(*) FROM audit_log WHERE command = 'member import'")[0][0] == 0
    # the same file corrected imports whole afterwards
    good = _csv(tmp_path, [HEADER, *_rows(7)], name="good.csv")
    out = _import(shop, good)
    assert (out["rows"], out["created"], out["points_total"]) == (7, 7, sum(10 * i for i in range(1, 8)))
    assert _counts(engine) == (7, 7, out["points_total"])


def test_batched_import_ids_lots_and_summary(shop, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(member_import, "BATCH", 2)
    rows = _rows(5) + ["0812000099,No Points,0,,,"]
    out = _import(shop, _csv(tmp_path, [HEADER, *rows]))
    assert (out["created"], out["points_total"]) == (6, 150)
    lots = _sql(engine, "SELECT m.phone, m.name, e.points, e.idem_key, m.id FROM ledger_entry e "
                        "JOIN member m ON m.id = e.member_id ORDER BY m.id")
    assert [(p, n, pts) for p, n, pts, _, _ in lots] == [
        (f"+6681200000{i}", f"Member {i}", 10 * i) for i in range(1, 6)]
    assert all(key == str(mid) for _, _, _, key, mid in lots)  # import:<member id>
    ids = [r[0] for r in _sql(engine, "SELECT id FROM member ORDER BY phone")]
    assert ids == sorted(ids)  # file order
    summary = dict(_sql(engine, "SELECT member_id, points FROM ledger_summary WHERE points > 0"))
    assert summary == {mid: pts for _, _, pts, _, mid in lots}
    shop.ok("points", "check")
    # importing the same file again with --on-existing skip writes nothing new
    again = _import(shop, _csv(tmp_path, [HEADER, *rows], name="again.csv"), "--on-existing", "skip")
    assert (again["created"], again["skipped"], again["points_total"]) == (0, 6, 0)
    assert _counts(engine) == (6, 5, 150)


def test_imported_lots_are_queued_and_expire(shop, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(member_import, "BATCH", 2)
    _sql(engine, "UPDATE store SET expiry_policy = 'rolling', expiry_months = 12")
    out = _import(shop, _csv(tmp_path, [HEADER, *_rows(5)]))
    assert out["expires_at"] == "2027-11-24T17:00:00+00:00"
    queued = _sql(engine, "SELECT q.lot_entry_id, q.expires_at FROM lot_expiry q ORDER BY q.lot_entry_id")
    lot_ids = [r[0] for r in _sql(engine, "SELECT id FROM ledger_entry WHERE kind = 'import' ORDER BY id")]
    assert [r[0] for r in queued] == lot_ids and len(lot_ids) == 5
    with freeze_time("2027-11-20 00:00:00"):
        assert shop.json("points", "expire")[0]["points_expired"] == 0
        assert shop.json("points", "balance", "0812000003")["balance"] == 30
    with freeze_time("2027-11-25 00:00:00"):
        rows = shop.json("points", "expire")
        assert (rows[0]["lots_expired"], rows[0]["points_expired"]) == (5, 150)
        assert shop.json("points", "balance", "0812000003")["balance"] == 0
        shop.ok("points", "check")
    assert _sql(engine, "SELECT COUNT(*) FROM lot_expiry")[0][0] == 0
