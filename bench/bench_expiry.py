"""Benchmark: the nightly expiry run does not grow with the expired history.

Two ledgers that differ only in how much expired history they hold, 1 year and 5 years,
built on SQLite and on PostgreSQL through the migrations (the production indexes and the
``lot_expiry`` trigger), then the same night's run on each:

* N members (default 40,000), each with one lot a month over the history (12 or 60 lots),
  every one expired and handled by earlier runs (its expire entry and allocation written,
  its ``lot_expiry`` row gone, as the nightly runs leave them);
* 12 current lots per member, earned over the last 12 months, expiring over the next 12
  (queued, not due);
* tonight: every 5th member has a lot that expired 2 hours before the run (N/5 lots due),
  half of them partly spent.

Measured side by side, round-robin, each run rolled back (so every repetition sees the
same night): ``ledger.expire`` as ``crm points expire`` calls it (wall, and CPU: this
process for SQLite, the server backend's for PostgreSQL), and for contrast the previous
design's due query (every lot that ever expired, checked for points left; counted).
Goal: 5 years / 1 year <= 1.2x for the run.

Usage:
    .venv/bin/python bench/bench_expiry.py              # 40,000 members, SQLite and PostgreSQL
    .venv/bin/python bench/bench_expiry.py --quick      # 10,000 members
    .venv/bin/python bench/bench_expiry.py --members 100000 --repeat 7 --no-pg
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402

#: tonight's run: 2030-06-15 10:00 Bangkok; the last run was a day earlier
NIGHT = datetime(2030, 6, 15, 3, 0, tzinfo=timezone.utc)
NIGHT_SQL = "2030-06-15 03:00:00"
STORE = ("INSERT INTO store (id, slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
         "expiry_months, tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES "
         "(1, 'bench', 'Bench', 'https://crm.example.com', 1, 2500, 50, 'rolling', 12, FALSE, 12, 5000, "
         "'2020-01-01 00:00:00')")
PTS = "(10 + (m * 7 + k * 13) % 90)"

# the previous design's due query: every lot that ever expired, with its remainder checked
OLD_DUE = """
    SELECT COUNT(*) FROM ledger_entry e
    WHERE e.points > 0 AND e.expires_at IS NOT NULL AND e.expires_at <= :now AND e.store_id = 1
      AND e.points > COALESCE((SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0)"""


def _ts_sqlite(days: str, hours: str = "0") -> str:
    return (f"strftime('%Y-%m-%d %H:%M:%S', '{NIGHT_SQL}', printf('%d days', -({days})), "
            f"printf('%d hours', -({hours}))) || '.000000'")


def _ts_pg(days: str, hours: str = "0") -> str:
    return f"(TIMESTAMP '{NIGHT_SQL}' - make_interval(days => ({days})::int, hours => ({hours})::int))"


def _statements(n: int, months: int, ts, series) -> list[str]:
    """The set-based load, in order. ``series(name, lo, hi)`` is a row source of one integer column."""
    cols = "store_id, member_id, kind, points, debt, expires_at, created_at, channel"
    last_run = ts("1")
    return [
        f"""INSERT INTO member (id, store_id, phone, registered_at, name, source, created_at)
            SELECT m, 1, '+668' || {'printf(' + "'%08d'" + ', m)' if ts is _ts_sqlite else "lpad(m::text, 8, '0')"},
                   {ts('3700')}, 'Member ' || m, 'form', {ts('3700')} FROM {series('m', 1, n)}""",
        # history: one lot a month, earned 13..(12 + months) months ago, so all expired before the last run
        f"""INSERT INTO ledger_entry ({cols})
            SELECT 1, m, 'earn', {PTS}, 0, {ts('30 * k + 2')}, {ts('30 * k + 367')}, 'counter'
            FROM {series('k', 1, months)}, {series('m', 1, n)} ORDER BY k DESC, m""",
        # what the earlier runs wrote for them
        f"""INSERT INTO ledger_entry ({cols}, reason, idem_source, idem_key, ref_entry_id, actor)
            SELECT e.store_id, e.member_id, 'expire', -e.points, 0, NULL, e.expires_at, 'system', 'points expired',
                   'expire', CAST(e.id AS VARCHAR(20)), e.id, 'bench'
            FROM ledger_entry e WHERE e.kind = 'earn' ORDER BY e.expires_at, e.id""",
        "INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points) "
        "SELECT id, ref_entry_id, -points FROM ledger_entry WHERE kind = 'expire'",
        # current lots: earned over the last 12 months, not due
        f"""INSERT INTO ledger_entry ({cols})
            SELECT 1, m, 'earn', {PTS}, 0, {ts('30 * k - 363')}, {ts('30 * k + 2')}, 'counter'
            FROM {series('k', 0, 11)}, {series('m', 1, n)} ORDER BY k DESC, m""",
        # tonight's lots: every 5th member, expired 2 hours before the run
        f"""INSERT INTO ledger_entry ({cols})
            SELECT 1, m, 'earn', 100, 0, {ts('0', '2')}, {ts('365', '2')}, 'counter'
            FROM {series('m', 1, n)} WHERE m % 5 = 0""",
        # half of them partly spent (a redemption of 40 points taken from that lot)
        f"""INSERT INTO ledger_entry ({cols}, ref_entry_id)
            SELECT 1, member_id, 'redeem', -40, 0, NULL, {ts('30')}, 'reward', id FROM ledger_entry
            WHERE kind = 'earn' AND points = 100 AND member_id % 10 = 0""",
        "INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points) "
        "SELECT id, ref_entry_id, 40 FROM ledger_entry WHERE kind = 'redeem'",
        # the earlier runs handled (and removed) every queued lot due by the last run
        f"DELETE FROM lot_expiry WHERE expires_at <= {last_run}",
    ]


def build_sqlite(path: Path, n: int, months: int) -> float:
    c.sqlite_migrated_database(path)
    t = time.perf_counter()
    conn = c.sqlite_bulk_connection(path)
    conn.execute("BEGIN")
    creates = c.sqlite_drop_indexes(conn, ["member", "ledger_entry", "lot_allocation"])
    conn.execute(STORE)

    def series(name: str, lo: int, hi: int) -> str:
        return (f"(WITH RECURSIVE s(v) AS (SELECT {lo} UNION ALL SELECT v + 1 FROM s WHERE v < {hi}) "
                f"SELECT v AS {name} FROM s)")

    for sql in _statements(n, months, _ts_sqlite, series):
        conn.execute(sql)
    c.sqlite_finish_bulk(conn, creates)
    return time.perf_counter() - t


def build_pg(admin_url: str, db: str, n: int, months: int) -> tuple[str, float]:
    from sqlalchemy import text


    url, engine = c.pg_migrated_database(admin_url, db)
    t = time.perf_counter()

    def series(name: str, lo: int, hi: int) -> str:
        return f"generate_series({lo}, {hi}) AS {name}"

    with engine.begin() as conn:
        c.pg_bulk_load(conn)  # no FK checks, no triggers
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        idx = c.pg_index_definitions(conn, ["member", "ledger_entry", "lot_allocation"])
        for name, _ in idx:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.execute(text(STORE))
        for sql in _statements(n, months, _ts_pg, series):
            conn.execute(text(sql))
        # replica mode skipped the trigger: queue the lots with an expiry that are still open
        conn.execute(text(
            f"""INSERT INTO lot_expiry (lot_entry_id, store_id, expires_at)
                SELECT e.id, e.store_id, e.expires_at FROM ledger_entry e
                WHERE e.points > 0 AND e.expires_at > {_ts_pg('1')}"""))
        for _, sql in idx:
            conn.exec_driver_sql(sql)
        # ... and the per-member summary the job keeps (migration 0011; on SQLite the triggers fill it)
        from crm_cli.services import ledger_summary

        ledger_summary.rebuild(conn)
        for table in ("store", "member", "ledger_entry", "lot_allocation"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        c.pg_bulk_load(conn, done=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url, time.perf_counter() - t


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        out = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar_one()
               for t in ("ledger_entry", "lot_allocation", "lot_expiry")}
        conn.rollback()
    return out


def run_job(engine, is_pg: bool) -> tuple[float, float, int, int]:
    """One run of the job, rolled back: (wall, CPU, lots, points)."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import ledger

    with unit_of_work(engine, write=True, dry_run=True) as s:
        cpu0 = c.pg_backend_cpu(s) if is_pg else time.process_time()
        t = time.perf_counter()
        r = ledger.expire(s, now=NIGHT, store_id=1, actor="bench")
        wall = time.perf_counter() - t
        cpu = (c.pg_backend_cpu(s) if is_pg else time.process_time()) - cpu0
    return wall, cpu, r.lots_expired, r.points_expired


def run_old_due(engine, is_pg: bool) -> tuple[float, float, int]:
    from sqlalchemy import bindparam, text

    from crm_cli.db.types import UTCDateTime

    with engine.connect() as conn:
        cpu0 = c.pg_backend_cpu(conn) if is_pg else time.process_time()
        t = time.perf_counter()
        n = conn.execute(text(OLD_DUE).bindparams(bindparam("now", type_=UTCDateTime())), {"now": NIGHT}).scalar_one()
        wall = time.perf_counter() - t
        cpu = (c.pg_backend_cpu(conn) if is_pg else time.process_time()) - cpu0
        conn.rollback()
    return wall, cpu, int(n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=None, help="members (default 40,000; --quick 10,000)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None, help="runs of each (default 7; --quick 5)")
    c.add_pg_options(ap)
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args(argv)
    n = a.members or (10_000 if a.quick else 40_000)
    repeat = a.repeat or (5 if a.quick else 7)
    from crm_cli.db.engine import DbTarget, make_engine

    histories = [("1 year", 12), ("5 years", 60)]
    rows, builds, data = [], [], {"members": n, "repeat": repeat, "databases": {}}
    dbs = ["SQLite"] + ([] if a.no_pg else ["PostgreSQL"])
    tmp = Path(tempfile.gettempdir())
    for db in dbs:
        is_pg = db == "PostgreSQL"
        engines, cleanup = {}, []
        try:
            for label, months in histories:
                if is_pg:
                    name = f"crm_bench_expiry_{months}"
                    url, took = build_pg(a.pg_url, name, n, months)
                    cleanup.append(name)
                else:
                    path = tmp / f"crm_bench_expiry_{months}.sqlite3"
                    took = build_sqlite(path, n, months)
                    cleanup.append(path)
                    url = f"sqlite:///{path}"
                engines[label] = make_engine(DbTarget(url=url, embedded_default=False))
                k = counts(engines[label])
                builds.append(f"{db}, {label}: {k['ledger_entry']:,} ledger rows, {k['lot_allocation']:,} "
                              f"allocations, {k['lot_expiry']:,} queued lots, built in {took:.0f} s")
                print("  " + builds[-1], flush=True)
            fig = {label: {"wall": [], "cpu": [], "old_wall": [], "old_cpu": []} for label, _ in histories}
            lots = {}
            for label, _ in histories:  # warm-up: page cache, statement caches
                run_job(engines[label], is_pg)
            load0 = c.load_average()
            for _ in range(repeat):
                for label, _ in histories:
                    w, cpu, nl, pts = run_job(engines[label], is_pg)
                    fig[label]["wall"].append(w)
                    fig[label]["cpu"].append(cpu)
                    lots[label] = (nl, pts)
            for _ in range(max(2, repeat // 3)):
                for label, _ in histories:
                    w, cpu, old_n = run_old_due(engines[label], is_pg)
                    fig[label]["old_wall"].append(w)
                    fig[label]["old_cpu"].append(cpu)
                    fig[label]["old_due_lots"] = old_n
            load1 = c.load_average()
            med = {label: {k: statistics.median(v) for k, v in f.items() if isinstance(v, list)}
                   for label, f in fig.items()}
            one, five = med["1 year"], med["5 years"]
            same = lots["1 year"] == lots["5 years"]
            for label, _ in histories:
                m = med[label]
                rows.append([db, label, f"{lots[label][0]:,} / {lots[label][1]:,}", c.fmt_s(m["wall"]),
                             c.fmt_s(m["cpu"]), c.fmt_s(m["old_wall"]), c.fmt_s(m["old_cpu"])])
            wall_ratio, cpu_ratio = five["wall"] / one["wall"], five["cpu"] / one["cpu"]
            old_ratio = five["old_cpu"] / one["old_cpu"] if one["old_cpu"] else float("nan")
            verdict = c.verdict(cpu_ratio, 1.2) + ("" if same else " (lots differ!)")
            rows.append([db, "**5 y / 1 y**", "same" if same else "DIFFERENT", f"{wall_ratio:.2f}x",
                         f"**{cpu_ratio:.2f}x** ({verdict})", f"{five['old_wall'] / one['old_wall']:.2f}x",
                         f"{old_ratio:.2f}x"])
            data["databases"][db] = {
                "runs": fig, "medians": med, "lots_due": {k: list(v) for k, v in lots.items()},
                "ratio_5y_1y": {"wall": wall_ratio, "cpu": cpu_ratio, "old_query_cpu": old_ratio},
                "goal": "cpu ratio <= 1.2", "met": cpu_ratio <= 1.2 and same, "load": [load0, load1],
            }
            print(f"  {db}: job 1 y {c.fmt_s(one['wall'])} (CPU {c.fmt_s(one['cpu'])}), 5 y {c.fmt_s(five['wall'])} "
                  f"(CPU {c.fmt_s(five['cpu'])}): {cpu_ratio:.2f}x CPU, {wall_ratio:.2f}x wall; previous due query "
                  f"{old_ratio:.2f}x; load {load0} -> {load1}", flush=True)
        finally:
            for e in engines.values():
                e.dispose()
            for x in cleanup:
                if is_pg:
                    c.pg_drop_database(a.pg_url, x)
                else:
                    for p in (x, Path(f"{x}-wal"), Path(f"{x}-shm")):
                        p.unlink(missing_ok=True)
    data["builds"] = builds
    md = "\n\n".join([
        "## Nightly expiry against the expired history",
        f"{n:,} members; the same night's `ledger.expire` (as `crm points expire` runs it) on a ledger with 1 year "
        "and with 5 years of expired, already handled history (one lot a month per member, each with its "
        "expire entry), plus 12 current lots per member (queued, not due) and one lot due tonight for every 5th "
        f"member. Median of {repeat} runs each, round-robin, each rolled back. CPU: this process (SQLite runs "
        "in it) or the PostgreSQL backend serving the run with its parallel workers (from /proc); it is steadier than wall time on the "
        "shared machine. \"Previous due query\": the due set as the job read it before `lot_expiry` "
        "(every lot that ever expired, remainder checked), counted, for contrast.",
        "Data: " + "; ".join(builds) + ".",
        c.table(["database", "history", "lots / points expired", "job (wall)", "job (CPU)",
                 "previous due query (wall)", "previous due query (CPU)"], rows),
        f"Load average during the runs: {c.load_average()} (2 cores, shared). Goal: 5 years / 1 year <= 1.2x.",
    ])
    print()
    print(md)
    if not a.no_write:
        c.write_section("expiry", md)
        c.write_json("expiry", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
