"""Benchmark: `points give` and `points expire` on a 1,000,000-member store.

Builds a store with N members and 10 ledger rows each (default 1,000,000 / 10,000,000)
through the migrations (so the indexes are production's), bulk-loaded with set-based
SQL (recursive CTE on SQLite, generate_series on PostgreSQL), then measures:

* give   — `crm --db URL --store bench points give PHONE --spend 350` as a process,
           median of --gives runs, half existing members and half new phones (goal < 0.3 s
           per command, process start included); beside it the same service call in
           process (the database part) and `python -c "import sqlmodel"` (the start-up floor);
* expire — the expiry job against the single raw SQL statement computing the same
           thing, on the same data in the same run (goal: job <= 2x the raw statement):
             raw SELECT : per expired lot with points left, its remainder (counted);
             raw INSERT : the one INSERT ... SELECT writing those expire entries;
             job        : `points.run_expiry` in process (rolled back, like the raw runs);
             command    : `crm points expire --as-of ...` as a process, committed.
           Once for the backlog (about a quarter of all lots due) and once for the next
           night (a day's worth due), on SQLite and on PostgreSQL.

The ledger (per member m, 10 rows, dated over 2025-01-01 .. 2026-10, time-ordered ids):
8 lots (a welcome lot, earn lots, every 10th member a never-expiring adjustment), one
redemption that used up the two oldest lots and part of the third (every third member:
the oldest and half the second), and for every second member a redemption just before
the fourth lot expired (all of it and half the fifth); the others earned a ninth lot.
Lots expire 12 months after they were earned. `lot_allocation` holds ~3.7 rows per
member, as the ledger writes them.

Usage:
    .venv/bin/python bench/bench_points.py                      # 1,000,000 members, SQLite and PostgreSQL
    .venv/bin/python bench/bench_points.py --quick              # 100,000 members
    .venv/bin/python bench/bench_points.py --members 1000000 --pg-members 500000 --no-write
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402

PG_DB = "crm_bench_points"
ROWS_PER_MEMBER = 10
BASE = "2025-01-01"
#: the backlog run: 10:00 Bangkok on 2026-11-23; the nightly run one day later
AS_OF = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
NIGHT = AS_OF + timedelta(days=1)
AS_OF_ARG = "2026-11-23 10:00"
NIGHT_ARG = "2026-11-24 10:00"
TIERS = [("Bronze", 200), ("Silver", 400), ("Gold", 600)]

# ---------------------------------------------------------------- the generated ledger
# m = member id 1..N, k = 0..9. Day numbers count from BASE; id = day * (N + 1) + m, so ids
# follow time (rows of many members interleave, as in a real ledger) and any row's id can be
# computed from (m, k), which is how the allocations find their lots without a join.

X = "((m * 37) % 60)"


def _p(j: int) -> str:
    """Points of lot j of member m."""
    return "50" if j == 0 else f"((m * 7 + {j} * 13) % 200 + 20)"


def _lot_day(j: int) -> str:
    return f"({j} * 80 + {X})"


DAY = f"(CASE WHEN k <= 7 THEN k * 80 + {X} WHEN k = 8 THEN 161 + {X} WHEN m % 2 = 0 THEN 561 + {X} ELSE 590 + {X} END)"
IS_REDEEM = "(k = 8 OR (k = 9 AND m % 2 = 0))"
KIND = (f"CASE WHEN k = 0 THEN 'welcome' WHEN {IS_REDEEM} THEN 'redeem' WHEN k = 7 AND m % 10 = 0 THEN 'adjust' "
        "ELSE 'earn' END")
POINTS = (
    f"CASE WHEN k = 0 THEN 50 WHEN k <= 7 THEN (m * 7 + k * 13) % 200 + 20 "
    f"WHEN k = 8 THEN CASE WHEN m % 3 = 0 THEN -(50 + {_p(1)} / 2) ELSE -(50 + {_p(1)} + {_p(2)} / 2) END "
    f"WHEN m % 2 = 0 THEN -({_p(3)} + {_p(4)} / 2) ELSE {_p(9)} END"
)
NO_EXPIRY = f"({IS_REDEEM} OR (k = 7 AND m % 10 = 0))"
CHANNEL = (f"CASE WHEN k = 0 THEN 'system' WHEN {IS_REDEEM} THEN 'reward' WHEN k = 7 AND m % 10 = 0 THEN 'admin' "
           "ELSE 'counter' END")
# allocation slots j = 0..4: (debit day, lot index, points)
ALLOC = [
    ("161", 0, "50"),
    ("161", 1, f"CASE WHEN m % 3 = 0 THEN {_p(1)} / 2 ELSE {_p(1)} END"),
    ("161", 2, f"{_p(2)} / 2"),  # m % 3 <> 0
    ("561", 3, _p(3)),  # m even
    ("561", 4, f"{_p(4)} / 2"),  # m even
]
ALLOC_WHERE = "(j < 2 OR (j = 2 AND m % 3 <> 0) OR (j >= 3 AND m % 2 = 0))"


def _case_j(parts: list[str]) -> str:
    return "CASE j " + " ".join(f"WHEN {i} THEN {p}" for i, p in enumerate(parts)) + " END"


def _ts_sqlite(day: str, hours: str) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%S', '{BASE}', '+' || ({day}) || ' days', '+' || ({hours}) || ' hours') || '.000000'"


def _ts_pg(day: str, hours: str) -> str:
    return f"(TIMESTAMP '{BASE}' + make_interval(days => ({day})::int, hours => ({hours})::int))"


def _ledger_select(n: int, ts) -> str:
    hour = f"(2 + (m * 12) / {n + 1})"
    expires = f"CASE WHEN {NO_EXPIRY} THEN NULL ELSE {ts(f'{DAY} + 365', '17')} END"
    return (
        f"SELECT {DAY} * {n + 1} + m, 1, m, {KIND}, {POINTS}, 0, {expires}, {ts(DAY, hour)}, {CHANNEL}"
    )


def _alloc_select(n: int) -> str:
    debit = _case_j([f"({d} + {X}) * {n + 1} + m" for d, _, _ in ALLOC])
    lot = _case_j([f"{_lot_day(j)} * {n + 1} + m" for _, j, _ in ALLOC])
    pts = _case_j([p for _, _, p in ALLOC])
    return f"SELECT {debit}, {lot}, {pts}"


LEDGER_COLS = "id, store_id, member_id, kind, points, debt, expires_at, created_at, channel"


def _store_sql() -> list[str]:
    out = [
        "INSERT INTO store (id, slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
        "expiry_months, tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES "
        "(1, 'bench', 'Bench', 'https://crm.example.com', 1, 2500, 50, 'rolling', 12, TRUE, 12, 5000, "
        "'2024-12-01 00:00:00')"
    ]
    for i, (name, th) in enumerate(TIERS, 1):
        out.append(f"INSERT INTO tier (id, store_id, name, threshold, created_at) VALUES "
                   f"({i}, 1, '{name}', {th}, '2024-12-01 00:00:00')")
    return out


def build_sqlite(path: Path, n: int) -> float:
    c.sqlite_migrated_database(path)
    t = time.perf_counter()
    conn = c.sqlite_bulk_connection(path)
    conn.execute("BEGIN")
    creates = c.sqlite_drop_indexes(conn, ["member", "ledger_entry", "lot_allocation"])
    for sql in _store_sql():
        conn.execute(sql)
    conn.execute(
        f"""INSERT INTO member (id, store_id, phone, registered_at, name, source, created_at)
        WITH RECURSIVE s(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM s WHERE m < {n})
        SELECT m, 1, '+668' || printf('%08d', m), '2024-12-20 03:00:00.000000', 'Member ' || m, 'form',
               '2024-12-20 03:00:00.000000' FROM s"""
    )
    conn.execute(
        f"""INSERT INTO ledger_entry ({LEDGER_COLS})
        WITH RECURSIVE ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < {ROWS_PER_MEMBER - 1}),
             ms(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM ms WHERE m < {n})
        {_ledger_select(n, _ts_sqlite)} FROM ms, ks ORDER BY 1"""
    )
    conn.execute(
        f"""INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points)
        WITH RECURSIVE js(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM js WHERE j < {len(ALLOC) - 1}),
             ms(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM ms WHERE m < {n})
        {_alloc_select(n)} FROM ms, js WHERE {ALLOC_WHERE} ORDER BY 1, 2"""
    )
    c.sqlite_finish_bulk(conn, creates)
    return time.perf_counter() - t


def build_pg(admin_url: str, n: int, name: str = PG_DB) -> tuple[str, float]:
    """(Re)create database ``name`` with the generated store; returns its URL and the load time."""
    from sqlalchemy import text

    url, engine = c.pg_migrated_database(admin_url, name)
    t = time.perf_counter()
    with engine.begin() as conn:
        c.pg_bulk_load(conn)  # no FK checks, no triggers while loading
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        conn.exec_driver_sql("SET LOCAL work_mem = '512MB'")
        idx = c.pg_index_definitions(conn, ["member", "ledger_entry", "lot_allocation"])
        for name, _ in idx:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for sql in _store_sql():
            conn.execute(text(sql))
        conn.execute(text(
            f"""INSERT INTO member (id, store_id, phone, registered_at, name, source, created_at)
            SELECT m, 1, '+668' || lpad(m::text, 8, '0'), '2024-12-20 03:00:00', 'Member ' || m, 'form',
                   '2024-12-20 03:00:00' FROM generate_series(1, {n}) AS m"""
        ))
        conn.execute(text(
            f"""INSERT INTO ledger_entry ({LEDGER_COLS})
            {_ledger_select(n, _ts_pg)}
            FROM generate_series(1, {n}) AS m, generate_series(0, {ROWS_PER_MEMBER - 1}) AS k ORDER BY 1"""
        ))
        conn.execute(text(
            f"""INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points)
            {_alloc_select(n)}
            FROM generate_series(1, {n}) AS m, generate_series(0, {len(ALLOC) - 1}) AS j
            WHERE {ALLOC_WHERE} ORDER BY 1, 2"""
        ))
        for _, sql in idx:
            conn.exec_driver_sql(sql)
        for table in ("store", "tier", "member", "ledger_entry", "lot_allocation"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        # the replica role also silenced the trigger that queues lots for expiry: queue them
        # as migration 0007 does for an existing ledger
        conn.exec_driver_sql(
            "INSERT INTO lot_expiry (lot_entry_id, store_id, expires_at) "
            "SELECT e.id, e.store_id, e.expires_at FROM ledger_entry e "
            "WHERE e.points > 0 AND e.expires_at IS NOT NULL AND e.points - COALESCE("
            "(SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0) > 0")
        # ... and the per-member summary, as migration 0011 does (on SQLite the triggers fill it)
        from crm_cli.services import ledger_summary

        ledger_summary.rebuild(conn)
        c.pg_bulk_load(conn, done=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url, time.perf_counter() - t


# ---------------------------------------------------------------- points give


@dataclass
class GiveFigures:
    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: int = 0
    floor: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)
    inproc: list[float] = field(default_factory=list)
    existing: int = 0
    new: int = 0


def bench_give(url: str, n: int, gives: int, rng: random.Random) -> GiveFigures:
    """`crm points give` as a process, alternating existing members and new phones."""
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import points as svc

    env = dict(os.environ, CRM_ACTOR="bench")
    env.pop("CRM_DATABASE_URL", None)
    env.pop("CRM_STORE", None)
    f = GiveFigures()
    used: set[str] = set()

    def phone(existing: bool) -> str:
        while True:
            p = f"08{rng.randint(1, n):08d}" if existing else f"09{rng.randint(0, 99_999_999):08d}"
            if p not in used:
                used.add(p)
                return p

    floor = [sys.executable, "-c", "import sqlmodel"]
    for i in range(2):  # warm-up: page cache, bytecode
        c.run_isolated(c.crm_argv("--db", url, "--store", "bench", "points", "give", phone(i == 0), "--spend", "350"), env=env)
        c.run_isolated(floor, env=env)
    for i in range(gives):
        existing = i % 2 == 0
        f.existing += existing
        f.new += not existing
        t, rss, _ = c.run_isolated(
            c.crm_argv("--db", url, "--store", "bench", "points", "give", phone(existing), "--spend", "350"),
            env=env, cpu=f.cpu,
        )
        f.runs.append(t)
        f.rss_kib = max(f.rss_kib, rss)
        t, _, _ = c.run_isolated(floor, env=env, cpu=f.floor_cpu)
        f.floor.append(t)
    engine = make_engine(DbTarget(url=url, embedded_default=False))
    for i in range(gives + 1):
        p = phone(i % 2 == 0)
        t0 = time.perf_counter()
        with unit_of_work(engine, write=True) as s:
            svc.give_for_spend(s, store_id=1, phone=p, spend="350", now=datetime.now(timezone.utc), actor="bench")
        if i:  # the first call pays for imports and mapper configuration
            f.inproc.append(time.perf_counter() - t0)
    engine.dispose()
    return f


# ---------------------------------------------------------------- points expire


def _due_sql(store_cond: str = "AND e.store_id = :sid") -> str:
    return f"""
        FROM ledger_entry e
        WHERE e.points > 0 AND e.expires_at IS NOT NULL AND e.expires_at <= :now {store_cond}
          AND e.points > COALESCE((SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0)"""


RAW_SELECT = f"""
    SELECT COUNT(*), COALESCE(SUM(e.points - COALESCE((SELECT SUM(a.points) FROM lot_allocation a
                                                       WHERE a.lot_entry_id = e.id), 0)), 0)
    {_due_sql()}"""

RAW_INSERT = f"""
    INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel,
                              reason, idem_source, idem_key, ref_entry_id, actor)
    SELECT e.store_id, e.member_id, 'expire',
           -(e.points - COALESCE((SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0)),
           0, NULL, e.expires_at, 'system', 'points expired', 'expire', CAST(e.id AS VARCHAR(20)), e.id, 'bench'
    {_due_sql()}"""


def _text(sql: str):
    from sqlalchemy import bindparam, text

    from crm_cli.db.types import UTCDateTime

    return text(sql).bindparams(bindparam("now", type_=UTCDateTime()))


def raw_select(engine, at: datetime) -> tuple[float, int, int]:
    with engine.connect() as conn:
        t = time.perf_counter()
        n, pts = conn.execute(_text(RAW_SELECT), {"now": at, "sid": 1}).one()
        took = time.perf_counter() - t
        conn.rollback()
    return took, int(n), int(pts)


def raw_insert(engine, at: datetime) -> tuple[float, int]:
    """The single INSERT ... SELECT, timed, then rolled back."""
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(engine, write=True, dry_run=True) as s:
        t = time.perf_counter()
        res = s.execute(_text(RAW_INSERT), {"now": at, "sid": 1})
        took = time.perf_counter() - t
        return took, res.rowcount


def job(engine, at: datetime) -> tuple[float, int, int]:
    """`points.run_expiry` as the command calls it, in process, rolled back."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import points as svc

    with unit_of_work(engine, write=True, dry_run=True) as s:
        t = time.perf_counter()
        rows = svc.run_expiry(s, now=at, store_id=1, actor="bench")
        took = time.perf_counter() - t
    return took, rows[0].lots_expired, rows[0].points_expired


@dataclass
class ExpireFigures:
    label: str
    due: int = 0
    points: int = 0
    select: list[float] = field(default_factory=list)
    insert: list[float] = field(default_factory=list)
    job: list[float] = field(default_factory=list)
    cmd: float = 0.0
    cmd_cpu: float = 0.0
    cmd_rss_kib: int = 0
    load: str = ""
    ok: bool = True


def bench_expire(engine, url: str, label: str, at: datetime, at_arg: str, repeat: int) -> ExpireFigures:
    f = ExpireFigures(label, load=c.load_average())
    for _ in range(repeat):
        t, f.due, f.points = raw_select(engine, at)
        f.select.append(t)
    for _ in range(repeat):  # alternate, so drift hits both alike
        t, n = raw_insert(engine, at)
        f.insert.append(t)
        f.ok &= n == f.due
        t, n, pts = job(engine, at)
        f.job.append(t)
        f.ok &= (n, pts) == (f.due, f.points)
    env = dict(os.environ, CRM_ACTOR="bench")
    cpu: list[float] = []
    f.cmd, f.cmd_rss_kib, _ = c.run_isolated(
        c.crm_argv("--db", url, "--store", "bench", "--quiet", "points", "expire", "--as-of", at_arg), env=env, cpu=cpu
    )
    f.cmd_cpu = cpu[0]
    _, left, _ = raw_select(engine, at)  # everything due was written
    f.ok &= left == 0
    print(f"  {label}: due {f.due:,} lots / {f.points:,} points; raw SELECT {c.fmt_s(min(f.select))}, "
          f"raw INSERT {c.fmt_s(min(f.insert))}, job {c.fmt_s(min(f.job))} "
          f"({min(f.job) / min(f.insert):.2f}x INSERT, {min(f.job) / min(f.select):.2f}x SELECT); "
          f"command {c.fmt_s(f.cmd)} ({f.cmd_rss_kib / 1024:.0f} MiB); load {f.load}; "
          f"{'consistent' if f.ok else 'MISMATCH'}", flush=True)
    return f


# ---------------------------------------------------------------- report


def _ms(x: float) -> str:
    return c.fmt_s(x)


def give_rows(label: str, g: GiveFigures) -> list[list[str]]:
    med, cpu = statistics.median(g.runs), statistics.median(g.cpu)
    fmed, fcpu = statistics.median(g.floor), statistics.median(g.floor_cpu)
    return [[
        label, _ms(med), _ms(min(g.runs)), _ms(cpu), f"{g.rss_kib / 1024:.0f} MiB", _ms(fmed), _ms(fcpu),
        f"{med / fmed:.2f}x / {cpu / fcpu:.2f}x", _ms(statistics.median(g.inproc)),
        f"{c.verdict(med, 0.3)} ({med:.2f} s)",
    ]]


def expire_rows(db: str, figs: list[ExpireFigures]) -> list[list[str]]:
    out = []
    for f in figs:
        s, i, j = min(f.select), min(f.insert), min(f.job)
        out.append([
            db, f.label, f"{f.due:,}", f"{f.points:,}", _ms(s), _ms(i), _ms(j), f"{j / i:.2f}x", f"{j / s:.2f}x",
            f"{_ms(f.cmd)} / {f.cmd_rss_kib / 1024:.0f} MiB", f.load,
            c.verdict(j / i, 2.0) + ("" if f.ok else " (MISMATCH)"),
        ])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=None, help="members (10 ledger rows each); default 1,000,000")
    ap.add_argument("--quick", action="store_true", help="100,000 members, fewer runs")
    c.add_pg_options(ap)
    ap.add_argument("--pg-members", type=int, default=None, help="members on PostgreSQL (default: --members)")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--keep-pg", action="store_true", help=f"leave database {PG_DB} in place")
    ap.add_argument("--sqlite-file", type=Path, default=None)
    ap.add_argument("--gives", type=int, default=None, help="points give runs (default 10)")
    ap.add_argument("--repeat", type=int, default=None, help="raw/job repetitions (default 2)")
    ap.add_argument("--no-write", action="store_true", help="print only, leave docs/performance.md alone")
    a = ap.parse_args(argv)
    n = a.members or (100_000 if a.quick else 1_000_000)
    gives = a.gives or (6 if a.quick else 10)
    repeat = a.repeat or 2
    rng = random.Random(20261124)

    from crm_cli.db.engine import DbTarget, make_engine

    give_table: list[list[str]] = []
    expire_table: list[list[str]] = []
    results: list[dict] = []
    builds: list[str] = []
    targets = [] if a.no_sqlite else [("SQLite", n)]
    if not a.no_pg:
        targets.append(("PostgreSQL", a.pg_members or n))
    for db, members in targets:
        print(f"== {db}: {members:,} members / {members * ROWS_PER_MEMBER:,} ledger rows (load {c.load_average()})",
              flush=True)
        if db == "SQLite":
            path = a.sqlite_file or Path(tempfile.gettempdir()) / f"crm_bench_points_{members}.sqlite3"
            took = build_sqlite(path, members)
            url = f"sqlite:///{path}"
            size = f"{path.stat().st_size / 1e9:.2f} GB file"
        else:
            url, took = build_pg(a.pg_url, members)
        engine = make_engine(DbTarget(url=url, embedded_default=False))
        with engine.connect() as conn:
            nl = conn.exec_driver_sql("SELECT COUNT(*) FROM ledger_entry").scalar()
            na = conn.exec_driver_sql("SELECT COUNT(*) FROM lot_allocation").scalar()
            if db != "SQLite":
                size = f"{conn.exec_driver_sql('SELECT pg_database_size(current_database())').scalar() / 1e9:.2f} GB database"
            conn.rollback()
        builds.append(f"{db}: {members:,} members, {nl:,} ledger rows, {na:,} lot allocations, built in "
                      f"{took:.0f} s ({size}, load {c.load_average()})")
        print("  " + builds[-1], flush=True)
        try:
            g = bench_give(url, members, gives, rng)
            print(f"  give: median {_ms(statistics.median(g.runs))} (CPU {_ms(statistics.median(g.cpu))}), "
                  f"import sqlmodel {_ms(statistics.median(g.floor))}, in process {_ms(statistics.median(g.inproc))}",
                  flush=True)
            give_table += give_rows(f"{db}, {members:,} members", g)
            figs = [bench_expire(engine, url, "backlog", AS_OF, AS_OF_ARG, repeat),
                    bench_expire(engine, url, "next night", NIGHT, NIGHT_ARG, repeat)]
            expire_table += expire_rows(db, figs)
            results.append({
                "database": db, "members": members, "ledger_rows": nl, "allocations": na, "build_s": round(took, 1),
                "give": {"wall_s": g.runs, "cpu_s": g.cpu, "peak_rss_kib": g.rss_kib, "import_sqlmodel_wall_s": g.floor,
                         "import_sqlmodel_cpu_s": g.floor_cpu, "in_process_s": g.inproc},
                "expire": [{"run": f.label, "lots_due": f.due, "points": f.points, "raw_select_s": f.select,
                            "raw_insert_s": f.insert, "job_s": f.job, "job_over_insert": round(min(f.job) / min(f.insert), 2),
                            "command_wall_s": f.cmd, "command_cpu_s": f.cmd_cpu, "command_peak_rss_kib": f.cmd_rss_kib,
                            "load_average": f.load, "consistent": f.ok} for f in figs],
            })
        finally:
            engine.dispose()
            if db != "SQLite" and not a.keep_pg:
                c.pg_drop_database(a.pg_url, PG_DB)
    md = "\n\n".join([
        "## Points: give and expire on a 1,000,000-member store" if n >= 1_000_000 else "## Points: give and expire",
        "Data: " + "; ".join(builds) + ". Each member has 10 ledger rows (8-9 lots earned over "
        "2025-01 .. 2026-10 with 12-month expiry, every 10th member one never-expiring lot, 1-2 redemptions "
        "that consumed parts of the lots through `lot_allocation`). Built through the migrations, "
        "so the indexes are production's.",
        "### `points give` (goal < 0.3 s per command, process start included)",
        f"`crm --db URL --store bench points give PHONE --spend 350` as a process, {gives} runs "
        "(half existing members, half new phones), each followed by `python -c \"import sqlmodel\"`; "
        "in process: the same `give_for_spend` call and commit, without the process start.",
        c.table(["database", "median wall", "best wall", "median CPU", "peak RSS", "import sqlmodel (wall)",
                 "import sqlmodel (CPU)", "give / import sqlmodel (wall / CPU)", "in process (median)", "goal"],
                give_table),
        "### `points expire` against the raw SQL (goal: job <= 2x the raw INSERT ... SELECT)",
        "raw SELECT: the remainder of every expired lot with points left (counted, no rows travel); raw INSERT: "
        "the single INSERT ... SELECT writing those expire entries; job: `points.run_expiry` in process "
        f"(best of {repeat}, each rolled back like the raw runs); command: `crm points expire --as-of ...` as a "
        f"process, committed (wall / peak RSS). Backlog: as of {AS_OF_ARG} Bangkok; next night: one day later, "
        "after the backlog run.",
        c.table(["database", "run", "lots due", "points", "raw SELECT", "raw INSERT", "job", "job / INSERT",
                 "job / SELECT", "command (wall / RSS)", "load avg (1/5/15)", "goal"], expire_table),
    ])
    print()
    print(md)
    if not a.no_write:
        c.write_section("points", md)
        c.write_json("points", {"runs": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
