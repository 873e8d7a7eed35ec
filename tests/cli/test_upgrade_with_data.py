"""`crm db upgrade` of a database that holds a shop's data, from an older revision.

On SQLite several migrations rebuild tables (copy, drop, rename); with the foreign keys
enforced, dropping `member` while ledger rows reference it was refused, so a shop on an
older schema could not upgrade at all. The upgrade now runs with enforcement off and checks
every key before it commits.
"""

from __future__ import annotations

from sqlalchemy import text

from crm_cli.domain.errors import ExitCode
from tests.support import Cli, fresh_database

OLD = "0003_line"

_ROWS = [
    "INSERT INTO store (slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy,"
    " expiry_months, tiers_enabled, tier_cycle_months, import_max_rows, created_at)"
    " VALUES ('old', 'Old Shop', 'https://old.example', 1, 2500, 0, 'rolling', 12, true, 12, 100000,"
    " '2025-01-01 00:00:00')",
    "INSERT INTO tier (store_id, name, threshold, created_at)"
    " VALUES ((SELECT id FROM store WHERE slug = 'old'), 'Silver', 10, '2025-01-01 00:00:00')",
    "INSERT INTO member (store_id, phone, registered_at, name, tier_id, source, created_at)"
    " VALUES ((SELECT id FROM store WHERE slug = 'old'), '+66812345678', '2025-01-02 00:00:00', 'Somchai',"
    " (SELECT id FROM tier WHERE name = 'Silver'), 'counter', '2025-01-02 00:00:00')",
    # one lot already past its expiry (2026-06-01) and one that never expires
    "INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel)"
    " VALUES ((SELECT id FROM store WHERE slug = 'old'), (SELECT id FROM member WHERE phone = '+66812345678'),"
    " 'earn', 40, 0, '2026-06-01 00:00:00', '2025-06-01 00:00:00', 'counter')",
    "INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, created_at, channel)"
    " VALUES ((SELECT id FROM store WHERE slug = 'old'), (SELECT id FROM member WHERE phone = '+66812345678'),"
    " 'earn', 25, 0, '2025-07-01 00:00:00', 'counter')",
    # a reward whose id the shop has been using as R7
    "INSERT INTO reward (id, store_id, name, kind, cost, hidden, created_at)"
    " VALUES (7, (SELECT id FROM store WHERE slug = 'old'), 'Free latte', 'in-store', 10, false,"
    " '2025-01-01 00:00:00')",
]


def _old_database(url: str, rows: list[str]) -> None:
    from crm_cli.db import schema
    from crm_cli.db.engine import DbTarget, make_engine

    engine = make_engine(DbTarget(url=url, embedded_default=False))
    try:
        schema.upgrade(engine, OLD)
        with engine.begin() as conn:
            for sql in rows:
                conn.execute(text(sql))
    finally:
        engine.dispose()


def _reloptions(url: str, table: str) -> list[str] | None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = :t"), {"t": table}).scalar()
    finally:
        engine.dispose()


def test_upgrade_keeps_a_shops_members_ledger_and_tiers(db_url, isolated_env, tmp_path):
    with fresh_database(db_url, tmp_path, "upgrade") as url:
        _old_database(url, _ROWS)
        cli = Cli(url, store="old")
        assert "crm db upgrade" in cli.fails(ExitCode.DATABASE, "points", "balance", "0812345678")

        out = cli.json("db", "upgrade")
        assert OLD in str(out["before"]), out

        card = cli.json("points", "balance", "0812345678")
        assert card["balance"] == 25  # the lot past its expiry no longer counts
        member = cli.json("member", "show", "0812345678")
        assert member["name"] == "Somchai"
        assert member["tier"] == "Silver"
        if url.startswith("postgresql"):  # moves in place: member_tier pages keep room (migration 0018)
            assert _reloptions(url, "member_tier") == ["fillfactor=70"]

        # the lot that expired before the upgrade was queued by the upgrade and expires now
        expired = cli.json("points", "expire")
        assert [(e["lots_expired"], e["points_expired"]) for e in expired] == [(1, 40)], expired
        assert cli.json("points", "balance", "0812345678")["balance"] == 25
        # the database passes its own check, and the shop goes on working
        cli.ok("db", "check")
        cli.ok("points", "give", "0812345678", "--spend", "25")
        assert cli.json("points", "balance", "0812345678")["balance"] == 26
        # the reward keeps the short id it had; the next one takes the store's next number
        assert cli.json("reward", "show", "R7")["name"] == "Free latte"
        assert cli.json("reward", "create", "Tote bag", "--kind", "delivery", "--cost", "50")["id"] == "R8"


def test_an_upgrade_that_would_break_a_key_changes_nothing(db_url, isolated_env, tmp_path):
    """A row pointing at nothing (possible in a SQLite file written without enforcement) stops
    the upgrade before its commit: the database stays at its old revision, data intact. On
    PostgreSQL such a row cannot exist, and the same upgrade goes through."""
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import HEADS, current_revisions

    sqlite = db_url.startswith("sqlite")
    with fresh_database(db_url, tmp_path, "upgrade_broken") as url:
        _old_database(url, _ROWS)
        if sqlite:
            import sqlite3

            raw = sqlite3.connect(url.removeprefix("sqlite:///"))
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, created_at, channel)"
                        " VALUES (1, 999, 'earn', 5, 0, '2025-07-01 00:00:00', 'counter')")
            raw.commit()
            raw.close()
        cli = Cli(url, store="old")
        engine = make_engine(DbTarget(url=url, embedded_default=False))
        try:
            if sqlite:
                err = cli.fails(ExitCode.DATABASE, "db", "upgrade")
                assert "ledger_entry" in err and "nothing was changed" in err
                assert current_revisions(engine) == {OLD}
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT count(*) FROM ledger_entry")).scalar_one() == 3
                    assert conn.execute(text("SELECT count(*) FROM member")).scalar_one() == 1
            else:
                cli.ok("db", "upgrade")
                assert current_revisions(engine) == set(HEADS)
        finally:
            engine.dispose()


def test_upgrade_drops_the_tiers_of_members_who_may_not_hold_one(db_url, isolated_env, tmp_path):
    """Migration 0019: an erased member's tier (left by erasure until the next recalc before)
    and an unregistered member's are dropped and recorded; a registered member keeps theirs."""
    from crm_cli.db import schema
    from crm_cli.db.engine import DbTarget, make_engine

    with fresh_database(db_url, tmp_path, "holders") as url:
        engine = make_engine(DbTarget(url=url, embedded_default=False))
        try:
            schema.upgrade(engine, "0018_member_tier_fillfactor")
            with engine.begin() as conn:
                conn.execute(text(_ROWS[0]))
                conn.execute(text(_ROWS[1]))
                for phone, registered, erased in (("+66811111111", "'2025-01-02 00:00:00'", "NULL"),
                                                  ("+66822222222", "'2025-01-02 00:00:00'", "'2025-03-01 00:00:00'"),
                                                  ("+66833333333", "NULL", "NULL")):
                    conn.execute(text(
                        "INSERT INTO member (store_id, phone, registered_at, erased_at, source, created_at) "
                        f"VALUES ((SELECT id FROM store WHERE slug = 'old'), '{phone}', {registered}, {erased}, "
                        "'counter', '2025-01-02 00:00:00')"))
                conn.execute(text("INSERT INTO member_tier (member_id, tier_id) SELECT m.id, t.id FROM member m, tier t"))
            schema.upgrade(engine)
            with engine.connect() as conn:
                held = conn.execute(text("SELECT m.phone FROM member_tier t JOIN member m ON m.id = t.member_id")).all()
                hist = conn.execute(text("SELECT m.phone, h.old_tier, h.new_tier, h.reason, h.created_at "
                                         "FROM tier_history h JOIN member m ON m.id = h.member_id ORDER BY m.phone")).all()
        finally:
            engine.dispose()
        assert [r[0] for r in held] == ["+66811111111"]
        assert [tuple(r[:4]) for r in hist] == [("+66822222222", "Silver", None, "erased"),
                                               ("+66833333333", "Silver", None, "not registered")]
        from datetime import datetime, timezone

        at = hist[0][4] if not isinstance(hist[0][4], str) else datetime.fromisoformat(hist[0][4])
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        assert abs((now - at.replace(tzinfo=None)).total_seconds()) < 300, at  # stored as UTC, as every time
        assert all(line["ok"] for line in Cli(url, store="old").json("db", "check"))
