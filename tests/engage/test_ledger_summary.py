"""ledger_summary (migration 0011) follows the ledger through every writer, on both
databases: import (COPY on PostgreSQL), give, adjust, redeem, order clawback, the expiry
job and erasure. ``crm points check`` compares it with the ledger, and the segment counts
that read it (``--min-points``, ``--max-points``, ``--branch``) give what the ledger gives,
also for lots past their expiry that no expiry run has handled yet."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import bindparam, text

from crm_cli.db.types import UTCDateTime
from crm_cli.domain.errors import ExitCode
from tests.cli.test_import import HEADER, _csv

A, B, C = "0811111111", "0812222222", "0813333333"
ORDERS = "order_id,phone,paid_at,amount,status,refund_amount\n"


def _engine(cli):
    from crm_cli.cli.context import AppState

    return AppState(db_url=cli.db_url).engine()


def _store_id(cli) -> int:
    with _engine(cli).connect() as conn:
        return conn.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()


def _checked(cli) -> dict:
    """``points check`` passes, its summary line included; the summary rows by phone."""
    report = cli.json("points", "check")
    assert report["ok"], report
    assert [c["breaches"] for c in report["checks"] if c["check"] == "summary"] == [0]
    with _engine(cli).connect() as conn:
        rows = conn.execute(text("SELECT m.phone, s.points, b.name FROM ledger_summary s JOIN member m ON m.id = s.member_id "
                                 "LEFT JOIN branch b ON b.id = s.visit_branch_id")).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def _people(cli, name: str, *filters: str) -> list[str]:
    cli.ok("segment", "create", name, *filters)
    return sorted(r["phone"] for r in cli.json("segment", "members", name))


def test_every_writer_keeps_the_summary_equal_to_the_ledger(shop, tmp_path):
    with freeze_time("2026-01-05T10:00:00+07:00"):
        shop.ok("points", "expiry", "rolling", "1")
        # the first import into a store without members (COPY on PostgreSQL)
        shop.ok("member", "import", str(_csv(tmp_path, [HEADER, f"{A},Anong,100,,,", f"{B},Boon,40,,,"])),
                "--branch", "Ari")
        assert _checked(shop) == {"+66811111111": (100, "Ari"), "+66812222222": (40, "Ari")}
    with freeze_time("2026-01-20T10:00:00+07:00"):
        shop.ok("points", "give", A, "--spend", "500", "--branch", "Siam")  # +20, last visit Siam
        shop.ok("points", "adjust", B, "--points", "-15", "--reason", "typo")  # no branch: Ari stays
        shop.ok("points", "adjust", C, "--points", "7", "--reason", "welcome back")
        shop.ok("reward", "create", "Latte", "--kind", "in-store", "--cost", "30", "--stock", "5")
        shop.ok("reward", "redeem", "Latte", "--phone", A, "--branch", "Ari")  # -30 from A's lots, at Ari
        assert _checked(shop) == {"+66811111111": (90, "Ari"), "+66812222222": (25, "Ari"), "+66813333333": (7, None)}
        assert _people(shop, "ari", "--branch", "Ari") == ["+66811111111", "+66812222222"]
        assert _people(shop, "rich", "--min-points", "20") == ["+66811111111", "+66812222222"]
        assert _people(shop, "poor", "--max-points", "10") == ["+66813333333"]
    with freeze_time("2026-01-21T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-01-01")
        feed = tmp_path / "orders.csv"
        feed.write_text(ORDERS + f"O1,{C},2026-01-20T09:00:00+07:00,1000.00,paid,\n", encoding="utf-8")
        shop.ok("orders", "import", str(feed), "--channel", "myshop")
        shop.ok("orders", "sync")
        earned = _checked(shop)["+66813333333"][0]
        assert earned > 7
        feed.write_text(ORDERS + f"O1,{C},2026-01-20T09:00:00+07:00,1000.00,refunded,1000.00\n", encoding="utf-8")
        shop.ok("orders", "import", str(feed), "--channel", "myshop")
        shop.ok("orders", "sync")  # the clawback takes the order's points back from C's lots
        assert _checked(shop)["+66813333333"][0] == 7
    # a month on: the January lots are past their expiry, and no run has handled them yet
    with freeze_time("2026-02-25T10:00:00+07:00"):
        assert _checked(shop)["+66811111111"][0] == 90  # the summary still holds them ...
        assert _people(shop, "still", "--min-points", "1") == []  # ... a count does not
        assert shop.json("segment", "count", "poor")["people"] == 3
        shop.ok("points", "expire")
        assert _checked(shop) == {"+66811111111": (0, "Ari"), "+66812222222": (0, "Ari"), "+66813333333": (0, None)}
        assert shop.json("segment", "count", "still")["people"] == 0
        shop.ok("points", "give", B, "--spend", "250", "--branch", "Siam")
        shop.ok("member", "forget", B, "--yes")  # the ledger stays, under an anonymous id
        report = shop.json("points", "check")
        assert report["ok"] and [c["breaches"] for c in report["checks"] if c["check"] == "summary"] == [0]
        assert shop.json("segment", "count", "rich")["people"] == 0  # erased accounts are nobody's audience


def test_points_check_reports_a_summary_that_left_the_ledger(shop):
    with freeze_time("2026-01-05T10:00:00+07:00"):
        shop.ok("points", "give", A, "--spend", "500", "--branch", "Siam")
        with _engine(shop).begin() as conn:  # a write that bypassed the triggers
            conn.execute(text("UPDATE ledger_summary SET points = points + 5"))
        out = shop.fails(ExitCode.CHECK_FAILED, "points", "check")
        assert "summary" in out
        from crm_cli.db.uow import unit_of_work
        from crm_cli.services import ledger_summary

        with unit_of_work(_engine(shop), write=True) as session:
            rows = ledger_summary.check(session, store_id=_store_id(shop))
            assert [(r[2], r[3]) for r in rows] == [(25, 20)]
            ledger_summary.rebuild(session, _store_id(shop))
        assert shop.json("points", "check")["ok"]


def test_same_instant_visits_take_the_later_entry(shop):
    """Two entries with a branch at the same instant: the one with the larger id is the last
    visit, for the trigger as for the ledger (one multi-row INSERT on PostgreSQL)."""
    with freeze_time("2026-01-05T10:00:00+07:00"):
        shop.ok("points", "give", A, "--spend", "100", "--branch", "Siam")
    now = datetime(2026, 1, 5, 3, 0, tzinfo=timezone.utc)
    with _engine(shop).begin() as conn:
        mid, sid = conn.execute(text("SELECT id, store_id FROM member")).one()
        siam, ari = (conn.execute(text("SELECT id FROM branch WHERE name = :n"), {"n": n}).scalar_one() for n in ("Siam", "Ari"))
        conn.execute(text("INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, created_at, branch_id, channel) "
                          "VALUES (:s, :m, 'earn', 3, 0, :t, :a, 'counter'), (:s, :m, 'earn', 4, 0, :t, :b, 'counter'), "
                          "(:s, :m, 'adjust', 2, 0, :later, NULL, 'admin')")
                     .bindparams(bindparam("t", type_=UTCDateTime()), bindparam("later", type_=UTCDateTime())),
                     {"s": sid, "m": mid, "t": now, "later": now + timedelta(seconds=1), "a": siam, "b": ari})
    # a newer entry without a branch adds its points and leaves the last visit alone
    assert _checked(shop) == {"+66811111111": (13, "Ari")}
