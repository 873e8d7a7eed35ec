"""Benchmark: `tier recalc` against the single raw SQL aggregate of per-member window sums.

Builds a store with N members and 10 ledger rows per member (default 1,000,000 members /
10,000,000 rows) on SQLite, and optionally on PostgreSQL, using set-based bulk generation
(INSERT ... SELECT from a recursive CTE / generate_series). Then times:

* raw   — one SELECT computing every member's earned points in the tier window
          (the same filter the service uses), reduced to a count so no rows travel; on
          PostgreSQL with the recalc's own ``work_mem`` (64MB: one hash aggregate; with
          the default 4MB it spills to disk and runs on parallel workers);
* recalc (first)  — `tiers.recalc`: everyone gets a tier (N moves: history + update);
* recalc (again)  — the idempotent re-run (nothing moves): the nightly steady state;
* recalc (+1 month) — as of a month later (some members move down or up); on PostgreSQL
                      after ``VACUUM ANALYZE member_tier, tier_history``, as autovacuum does
                      in the month between (``--no-vacuum`` leaves it out);
* dry run — the same query, listing who would move.

The ratios printed are recalc / raw (goal: within 2x), by wall time and by CPU time: the
CPU of this process on SQLite; on PostgreSQL the server backend's CPU, its parallel
workers' (``_common.pg_backend_cpu``) and this process's (read from /proc, so the server
must run on this machine). CPU ratios hold up better on
a loaded machine. The service is timed as the command calls it for a table: complete
counts and the first 20 moves (only printing is left out); ``--list-all`` adds a first
placement that returns every move (``--all``, ``--format json``). Each database is first
reset (nobody holds a tier, no history; on PostgreSQL ``member`` is rewritten by
``VACUUM FULL``, as a freshly loaded table with its fillfactor), so a reused database
gives the same runs.

Both databases are measured (PostgreSQL: the local server unless --pg-url or
CRM_BENCH_PG_URL names another; --no-pg for SQLite alone), and the figures are written to
bench/results/tiers.json (--no-write leaves it alone; figures of databases not run this
time are kept from the earlier file).

Usage:
    .venv/bin/python bench/bench_tiers.py                       # 1,000,000 members on both
    .venv/bin/python bench/bench_tiers.py --quick               # 100,000 on SQLite, 20,000 on PostgreSQL
    # again on the databases built above:
    .venv/bin/python bench/bench_tiers.py --members 200000 --reuse --pg-members 200000 --pg-reuse
    # with the first placement's statements timed one by one (rolled back):
    .venv/bin/python bench/bench_tiers.py --members 200000 --reuse --pg-members 200000 --pg-reuse --breakdown
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common  # noqa: E402

from crm_cli.cli.tier import SHOWN_MOVES  # noqa: E402 - what `crm tier recalc` lists in a table

AS_OF = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
ROWS_PER_MEMBER = 10
TIERS = [("Bronze", 200), ("Silver", 400), ("Gold", 600), ("Platinum", 800), ("Diamond", 1000)]

# (m, k) -> one ledger row; m = member id (1..N), k = 0..9
#   k = 0: welcome 50 points at registration; k = 9: a redemption (negative)
#   k = 8: a refund for every 20th member (positive, but not "earned"); otherwise earn 1..200
#   dates spread over 540 days from 2025-06-01 (a 12-month window holds about 2/3)
KIND_SQL = "CASE WHEN k = 0 THEN 'welcome' WHEN k = 9 THEN 'redeem' WHEN k = 8 AND m % 20 = 0 THEN 'refund' ELSE 'earn' END"
POINTS_SQL = "CASE WHEN k = 0 THEN 50 WHEN k = 9 THEN -((m * 7) % 90 + 10) ELSE (m * 7 + k * 13) % 200 + 1 END"
DAY_SQL = "((m * 31 + k * 37) % 540)"
HOUR_SQL = "((m + k) % 12 + 2)"
# refunds are keyed like the rewards service writes them (source 'refund')
IDEM_SQL = ("CASE WHEN k = 8 AND m % 20 = 0 THEN 'refund' END, "
            "CASE WHEN k = 8 AND m % 20 = 0 THEN 'redemption:' || CAST(m AS VARCHAR(12)) END")


def fmt(s: float) -> str:
    return f"{s:8.2f} s"


def _store_and_tiers(conn, text):
    conn.execute(text(
        "INSERT INTO store (id, slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
        "tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES "
        "(1, 'bench', 'Bench', 'https://crm.example.com', 1, 2500, 50, 'never', TRUE, 12, 5000, :now)"
    ), {"now": "2025-01-01 00:00:00"})
    for i, (name, th) in enumerate(TIERS, 1):
        conn.execute(text("INSERT INTO tier (id, store_id, name, threshold, created_at) VALUES (:i, 1, :n, :t, :now)"),
                     {"i": i, "n": name, "t": th, "now": "2025-01-01 00:00:00"})


def build_sqlite(path: Path, members: int) -> None:
    from sqlalchemy import text

    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    if path.exists():
        path.unlink()
    engine = make_engine(DbTarget(url=f"sqlite:///{path}", embedded_default=False))
    upgrade(engine)
    t = time.perf_counter()
    with engine.connect() as conn:
        idx = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('ledger_entry', 'member') "
            "AND sql IS NOT NULL"
        ).all()
        conn.commit()
        with conn.begin():
            for name, _ in idx:  # bulk load without indexes, then build them once
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            _store_and_tiers(conn, text)
            conn.exec_driver_sql(
                f"""
                INSERT INTO member (id, store_id, phone, registered_at, name, source, created_at)
                WITH RECURSIVE s(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM s WHERE m < {members})
                SELECT m, 1, '+668' || printf('%08d', m), '2025-05-01 03:00:00.000000', 'Member ' || m, 'form',
                       '2025-05-01 03:00:00.000000'
                FROM s
                """
            )
            # time-ordered like a real ledger: rows of many members interleave
            conn.exec_driver_sql(
                f"""
                INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel,
                                          idem_source, idem_key)
                WITH RECURSIVE ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < {ROWS_PER_MEMBER - 1}),
                     ms(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM ms WHERE m < {members})
                SELECT 1, m, {KIND_SQL}, {POINTS_SQL}, 0, NULL,
                       strftime('%Y-%m-%d %H:%M:%S', '2025-06-01', '+' || {DAY_SQL} || ' days',
                                '+' || {HOUR_SQL} || ' hours') || '.000000', 'counter', {IDEM_SQL}
                FROM ms, ks
                ORDER BY {DAY_SQL}, {HOUR_SQL}, m
                """
            )
            for _, sql in idx:
                conn.exec_driver_sql(sql)
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    print(f"sqlite: built {members:,} members / {members * ROWS_PER_MEMBER:,} ledger rows in {time.perf_counter() - t:.1f} s "
          f"({path.stat().st_size / 1e9:.2f} GB)")


def build_pg(url: str, members: int, reuse: bool = False) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    name = f"crm_bench_tiers_{members}"
    if reuse:  # bring an earlier run's database to the current schema
        burl = make_url(url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(DbTarget(url=burl, embedded_default=False))
        upgrade(engine)
        engine.dispose()
        return burl
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    burl = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(DbTarget(url=burl, embedded_default=False))
    upgrade(engine)
    t = time.perf_counter()
    with engine.begin() as conn:
        _store_and_tiers(conn, text)
        conn.exec_driver_sql(
            f"""
            INSERT INTO member (id, store_id, phone, registered_at, name, source, created_at)
            SELECT m, 1, '+668' || lpad(m::text, 8, '0'), '2025-05-01 03:00:00', 'Member ' || m, 'form',
                   '2025-05-01 03:00:00'
            FROM generate_series(1, {members}) AS m
            """
        )
        conn.execute(text(
            f"""
            INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel,
                                      idem_source, idem_key)
            SELECT 1, m, {KIND_SQL}, {POINTS_SQL}, 0, NULL,
                   TIMESTAMP '2025-06-01' + make_interval(days => {DAY_SQL}, hours => {HOUR_SQL}), 'counter', {IDEM_SQL}
            FROM generate_series(1, {members}) AS m, generate_series(0, {ROWS_PER_MEMBER - 1}) AS k
            ORDER BY {DAY_SQL}, {HOUR_SQL}, m
            """
        ))
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('member', 'id'), (SELECT MAX(id) FROM member))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"postgresql: built {members:,} members / {members * ROWS_PER_MEMBER:,} ledger rows in {time.perf_counter() - t:.1f} s")
    return burl


COVERING_SQL = """
        SELECT COUNT(*), COALESCE(SUM(s), 0) FROM (
            SELECT member_id, SUM(points) AS s FROM ledger_entry INDEXED BY ix_ledger_member_lots
            WHERE points > 0 AND created_at >= :ws AND created_at <= :asof
            GROUP BY member_id
        ) a
"""


def raw_aggregate(engine, as_of: datetime, covering: bool = False) -> tuple[float, int, int]:
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(engine, write=False) as s:
        return raw_aggregate_in(s, as_of, covering=covering)


def _cpu(s) -> float:
    """CPU seconds so far of whoever does the work: this process (SQLite) or the backend (PostgreSQL)."""
    from _common import pg_backend_cpu

    return pg_backend_cpu(s) if s.get_bind().dialect.name == "postgresql" else time.process_time()


def timed_recalc(engine, as_of: datetime, *, dry_run: bool = False, limit: int | None = SHOWN_MOVES):
    """(wall seconds, CPU seconds, result, HOT): CPU of this process on SQLite; on PostgreSQL
    the backend's CPU plus this process's (the command's own Python work: ``limit`` moves
    are returned, all when None). HOT: on PostgreSQL, (member_tier rows updated, of
    which in place) in the run's transaction, read after the timing; None on SQLite."""
    from sqlalchemy import text

    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import tiers

    t = time.perf_counter()
    p0 = time.process_time()
    with unit_of_work(engine, write=True, dry_run=dry_run) as s:
        is_pg = s.get_bind().dialect.name == "postgresql"
        b0 = _cpu(s) if is_pg else 0.0
        res = tiers.recalc(s, store_id=1, as_of=as_of, now=as_of, dry_run=dry_run, limit=limit)
        s.flush()
        b1 = _cpu(s) if is_pg else 0.0
        cpu = (b1 - b0) + (time.process_time() - p0)
        hot = tuple(s.execute(text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                                   "WHERE relname = 'member_tier'")).one()) if is_pg else None
    return time.perf_counter() - t, cpu, res, hot


def reset(engine) -> None:
    """Back to the state before the first placement: nobody holds a tier, no history."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM member_tier"))
        conn.execute(text("DELETE FROM tier_history"))
        conn.execute(text("UPDATE store SET tier_last_recalc = NULL"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL ANALYZE member")  # pages filled to the table's fillfactor
            conn.exec_driver_sql("VACUUM ANALYZE tier_history")
            conn.exec_driver_sql("VACUUM ANALYZE member_tier")


def raw_timed(engine, as_of: datetime) -> tuple[float, float, int, int]:
    """(wall, CPU, members, points) of the raw aggregate, the best of two runs (CPU as in timed_recalc)."""
    from crm_cli.db.uow import unit_of_work

    best = None
    for _ in range(2):
        with unit_of_work(engine, write=False) as s:
            is_pg = s.get_bind().dialect.name == "postgresql"
            b0 = _cpu(s) if is_pg else 0.0
            p0 = time.process_time()
            w, n, total = raw_aggregate_in(s, as_of)
            cpu = (_cpu(s) - b0 if is_pg else 0.0) + time.process_time() - p0
        if best is None or cpu < best[1]:
            best = (w, cpu, n, total)
    return best


def raw_aggregate_in(s, as_of: datetime, covering: bool = False) -> tuple[float, int, int]:
    """(seconds, members, points) of the tier window's earned points, read in session ``s``;
    ``covering``: SQLite's covering index (all positive entries, refunds included)."""
    from sqlalchemy import bindparam, text

    from crm_cli.db.models import Store
    from crm_cli.db.types import UTCDateTime
    from crm_cli.domain.tiers import window_start
    from crm_cli.services.tiers import EARNED_KINDS

    kinds = ", ".join(f"'{k}'" for k in EARNED_KINDS)
    sql = text(
        f"""
        SELECT COUNT(*), COALESCE(SUM(s), 0) FROM (
            SELECT member_id, SUM(points) AS s FROM ledger_entry
            WHERE store_id = :sid AND points > 0 AND kind IN ({kinds})
              AND created_at >= :ws AND created_at <= :asof
            GROUP BY member_id
        ) a
        """
    ).bindparams(bindparam("ws", type_=UTCDateTime()), bindparam("asof", type_=UTCDateTime()))
    if covering:
        sql = text(COVERING_SQL).bindparams(bindparam("ws", type_=UTCDateTime()), bindparam("asof", type_=UTCDateTime()))
    ws = window_start(s.get(Store, 1).tier_cycle_months, as_of)
    if s.get_bind().dialect.name == "postgresql":  # the recalc's own setting: with the default 4MB
        from crm_cli.services.tiers import SET_WORK_MEM  # the hash spills and the plan goes parallel

        s.execute(text(SET_WORK_MEM))
    t = time.perf_counter()
    n, total = s.execute(sql, {"sid": 1, "ws": ws, "asof": as_of}).one()
    return time.perf_counter() - t, int(n), int(total)


RUNS = (  # (name, days after AS_OF, dry run, moves returned)
    ("recalc dry run (first)", 0, True, SHOWN_MOVES),
    ("recalc (first: everyone placed)", 0, False, SHOWN_MOVES),
    ("recalc (again: idempotent)", 0, False, SHOWN_MOVES),
    ("recalc (+1 month)", 30, False, SHOWN_MOVES),
)
#: with --list-all, after a reset: the first placement returning every move (--all, --format json)
LIST_ALL = ("recalc (first, every move returned)", 0, False, None)


def vacuum(engine) -> None:
    """VACUUM ANALYZE member_tier and tier_history (PostgreSQL), as autovacuum would after a
    run that placed most members (the benchmark server may run with autovacuum off)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE member_tier")
        conn.exec_driver_sql("VACUUM ANALYZE tier_history")


def breakdown(engine) -> dict:
    """The first placement's statements, each timed by CPU (as timed_recalc) in one
    rolled-back transaction after a reset: where the time goes beside the raw aggregate.
    PostgreSQL: the moves query alone, staging it, the member_tier inserts (plain, and with
    ON CONFLICT in a rolled-back savepoint), the history inserts. SQLite: the history
    INSERT fed by the moves query, then the member_tier upsert."""
    from sqlalchemy import text

    from crm_cli.db.models import Store
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import tiers

    reset(engine)
    out: dict = {}
    with unit_of_work(engine, write=True, dry_run=True) as s:
        pg = s.get_bind().dialect.name == "postgresql"

        def timed(name: str, sql: str | None = None, params: dict | None = None, call=None) -> None:
            c0, p0 = _cpu(s) if pg else 0.0, time.process_time()
            rows = call() if call else tiers._exec(s, sql, params or {}).rowcount
            out[name] = (_cpu(s) - c0 if pg else 0.0) + time.process_time() - p0
            print(f"  {name:58s} {out[name]:6.3f} s CPU" + (f"   rows {rows:,}" if isinstance(rows, int) else ""))

        store, params = s.get(Store, 1), {}
        ts = tiers._tiers(s, 1)
        moves = tiers._moves_select(s, store, ts, AS_OF, params)
        placed = "FROM crm_tier_moves mv WHERE mv.old_id IS NULL AND mv.new_id IS NOT NULL"
        hist = ("INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at) "
                "SELECT 1, mv.member_id, mv.old_name, mv.new_name, mv.earned, 'recalc', :now ")
        if pg:
            s.execute(text(tiers.SET_WORK_MEM))
            timed("the moves query (counted)", f"SELECT COUNT(*) FROM ({moves}) x", params)
            timed("the moves query staged in the temporary table",
                  call=lambda: tiers._stage_moves(s, store, ts, AS_OF, {}))
            with s.begin_nested() as sp:
                timed("member_tier inserts with ON CONFLICT DO NOTHING",
                      f"INSERT INTO member_tier SELECT mv.member_id, mv.new_id {placed} ON CONFLICT DO NOTHING")
                sp.rollback()
            timed("member_tier inserts (plain)", f"INSERT INTO member_tier SELECT mv.member_id, mv.new_id {placed}")
            timed("tier_history inserts", f"{hist}{placed} ORDER BY mv.member_id", {"now": AS_OF})
        else:
            timed("tier_history INSERT fed by the moves query",
                  hist.replace("mv.earned", "MAX(mv.earned, 0)") + f"FROM ({moves}) mv ORDER BY mv.member_id",
                  {**params, "now": AS_OF})
            cases = " ".join(f"WHEN '{t.name}' THEN {t.id}" for t in ts)
            timed("member_tier upsert from the history rows",
                  f"INSERT INTO member_tier (member_id, tier_id) SELECT h.member_id, CASE h.new_tier {cases} END "
                  "FROM tier_history h WHERE h.new_tier IS NOT NULL "
                  "ON CONFLICT (member_id) DO UPDATE SET tier_id = excluded.tier_id")
    return out


def run(label: str, engine, *, list_all: bool = False, no_vacuum: bool = False, split: bool = False) -> dict:
    print(f"\n== {label}   (load average {os.getloadavg()[0]:.1f})")
    reset(engine)
    raw_w, raw_cpu, n, total = raw_timed(engine, AS_OF)
    print(f"raw aggregate (per-member window sums)  {fmt(raw_w)} wall {fmt(raw_cpu)} CPU   "
          f"members with earnings {n:,}, points {total:,}")
    out: dict = {"raw": {"wall": raw_w, "cpu": raw_cpu, "members_with_earnings": n, "points": total}, "runs": {}}
    if engine.dialect.name == "sqlite":
        ct, cn, ctotal = raw_aggregate(engine, AS_OF, covering=True)
        print(f"  (for reference: covering-index scan of all positive entries {fmt(ct).strip()}, points {ctotal:,})")
    for name, days, dry, limit in RUNS + ((LIST_ALL,) if list_all else ()):
        if limit is None:
            reset(engine)
        elif days and engine.dialect.name == "postgresql" and not no_vacuum:
            vacuum(engine)  # the month between: what autovacuum does after the first placement
        w, cpu, res, hot = timed_recalc(engine, AS_OF + timedelta(days=days), dry_run=dry, limit=limit)
        print(f"{name:40s} {fmt(w)} wall {fmt(cpu)} CPU   ratio wall {w / raw_w:5.2f}x CPU {cpu / raw_cpu:5.2f}x   "
              f"moved {res.moved:,} (up {res.upgrades:,}, down {res.downgrades:,}) of {res.members:,}"
              + (f"; in-place (HOT) updates {hot[1]:,} of {hot[0]:,}" if hot and hot[0] else ""))
        out["runs"][name] = {"wall": w, "cpu": cpu, "ratio_wall": w / raw_w, "ratio_cpu": cpu / raw_cpu,
                             "moved": res.moved, "up": res.upgrades, "down": res.downgrades, "members": res.members,
                             "moves_returned": len(res.moves), "member_tier_updates_hot": hot}
    if split:
        print("first placement, statement by statement (rolled back):")
        out["first_placement_statements_cpu"] = breakdown(engine)
    out["load_average_end"] = os.getloadavg()[0]
    out["vacuum_before_month"] = engine.dialect.name == "postgresql" and not no_vacuum
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000, help="SQLite members (10 ledger rows each)")
    ap.add_argument("--sqlite-file", type=Path, default=None, help="where to build the SQLite database")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing --sqlite-file (skip the build)")
    _common.add_pg_options(ap)
    ap.add_argument("--pg-members", type=int, default=None, help="PostgreSQL members (default: same as --members)")
    ap.add_argument("--pg-reuse", action="store_true", help="reuse the PostgreSQL database built by an earlier run")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--json", action="store_true", help="(the default) write bench/results/tiers.json")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/results/tiers.json alone")
    ap.add_argument("--list-all", action="store_true", help="also time a first placement returning every move")
    ap.add_argument("--no-vacuum", action="store_true",
                    help="PostgreSQL: no VACUUM ANALYZE of member and tier_history before the +1 month run")
    ap.add_argument("--quick", action="store_true", help="100,000 members (PostgreSQL: 20,000)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time the first placement's statements one by one (rolled back)")
    a = ap.parse_args(argv)
    a.pg_url = _common.pg_url(a)
    if a.quick:
        a.members = min(a.members, 100_000)
        a.pg_members = min(a.pg_members or 20_000, 20_000)

    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    results: dict = {"load_average_start": os.getloadavg()[0], "databases": {}}
    if not a.no_sqlite:
        path = a.sqlite_file or Path(tempfile.gettempdir()) / f"crm_bench_tiers_{a.members}.sqlite3"
        if not (a.reuse and path.exists()):
            build_sqlite(path, a.members)
        eng = make_engine(DbTarget(url=f"sqlite:///{path}", embedded_default=False))
        upgrade(eng)  # a reused database gets the current schema
        results["databases"][f"SQLite {a.members}"] = run(
            f"SQLite {a.members:,} members / {a.members * ROWS_PER_MEMBER:,} rows", eng, list_all=a.list_all,
            split=a.breakdown)
        eng.dispose()
    if a.pg_url:
        pm = a.pg_members or a.members
        url = build_pg(a.pg_url, pm, reuse=a.pg_reuse)
        eng = make_engine(DbTarget(url=url, embedded_default=False))
        results["databases"][f"PostgreSQL {pm}"] = run(f"PostgreSQL {pm:,} members / {pm * ROWS_PER_MEMBER:,} rows", eng,
                                                        list_all=a.list_all, no_vacuum=a.no_vacuum,
                                                        split=a.breakdown)
        eng.dispose()
    if not a.no_write:
        import json


        old = _common.RESULTS / "tiers.json"  # keep the other databases' figures of an earlier run
        if old.exists():
            prev = json.loads(old.read_text(encoding="utf-8")).get("results", {})
            for k, v in prev.get("databases", {}).items():
                results["databases"].setdefault(k, {**v, "command": prev.get("command_of", {}).get(k)})
        results["command_of"] = {k: v.get("command") or _common.command_text()
                                 for k, v in results["databases"].items()}
        print(_common.write_json("tiers", results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
