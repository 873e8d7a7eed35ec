"""Engage benchmarks: counting a segment over 1,000,000 members, and sending a
100,000-recipient campaign to the fake LINE platform.

The member database is built with set-based SQL (recursive CTE on SQLite,
generate_series on PostgreSQL): members with tiers, birthdays, last activity, one
earning lot each at a branch, a tag on a third of them and a LINE follower linked to
half. Counting runs the same service `crm segment count` runs (one SELECT count(*)).

The campaign send runs `crm campaign send` as its own process against the fake LINE
platform, itself in another process on loopback (so neither steals the other's
interpreter); it reports requests per second, the sender's CPU per request and its
peak memory.

    .venv/bin/python bench/bench_engage.py                # 1,000,000 members, 100,000 recipients
    .venv/bin/python bench/bench_engage.py --members 100000 --recipients 10000 --no-pg
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402

PG_DB = "crm_bench_engage"
TOKEN = "b" * 64
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)

SPECS = {
    "everyone": {},
    "--tier Gold": {"tier": "Gold"},
    "--tag coffee": {"tags": ("coffee",)},
    "--birthday-month 3 --inactive-days 30": {"birthday_month": 3, "inactive_days": 30},
    "--registered --joined-since 2025-06-01": {"audience": "registered", "joined_since": "2025-06-01"},
    "--min-points 250": {"min_points": 250},
    "--branch Ari": {"branch": "Ari"},
}


def _sql(n: int, series: str, ts, mod: str) -> list[str]:
    """INSERT ... SELECT statements; ``series(name, hi)`` yields 1..hi as ``name``."""
    return [
        "INSERT INTO store (id, slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
        "tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES "
        "(1, 'cafe', 'Cafe', 'https://crm.example.com', 1, 25, 0, 'never', TRUE, 12, 5000, '2024-12-01 00:00:00')",
        "INSERT INTO branch (id, store_id, name, created_at) VALUES (1, 1, 'Siam', '2024-12-01 00:00:00'), "
        "(2, 1, 'Ari', '2024-12-01 00:00:00')",
        "INSERT INTO tier (id, store_id, name, threshold, created_at) VALUES (1, 1, 'Gold', 300, '2024-12-01 00:00:00')",
        f"""INSERT INTO member (id, store_id, phone, registered_at, name, birthday, source, created_at, last_activity_at)
            SELECT m, 1, '+668' || {series[1]}, CASE WHEN {mod}(m, 2) = 0 THEN {ts('2025-01-01', 'm % 700')} END,
                   'Member ' || m, {series[2]}, 'form',
                   {ts('2025-01-01', 'm % 700')}, {ts('2026-01-01', 'm % 330')}
            FROM {series[0].format(name='m', hi=n)}""",
        f"""INSERT INTO member_tier (member_id, tier_id) SELECT m, 1
            FROM {series[0].format(name='m', hi=n)} WHERE {mod}(m, 10) = 0""",
        f"""INSERT INTO ledger_entry (id, store_id, member_id, kind, points, debt, created_at, branch_id, channel)
            SELECT m, 1, m, 'earn', {mod}(m, 500) + 1, 0, {ts('2026-01-01', 'm % 330')}, 1 + {mod}(m, 2), 'counter'
            FROM {series[0].format(name='m', hi=n)}""",
        f"""INSERT INTO member_tag (member_id, tag, kind) SELECT m, 'coffee', 'chat'
            FROM {series[0].format(name='m', hi=n)} WHERE {mod}(m, 3) = 0""",
        f"""INSERT INTO line_follower (id, store_id, user_id, display_name, status, member_id, source, created_at)
            SELECT m, 1, 'U' || {series[3]}, 'Friend ' || m, 'following', m, 'sync', '2025-01-01 00:00:00'
            FROM {series[0].format(name='m', hi=n)} WHERE {mod}(m, 2) = 1""",
    ]


def build_sqlite(path: Path, n: int) -> float:
    c.sqlite_migrated_database(path)
    t = time.perf_counter()
    conn = c.sqlite_bulk_connection(path)
    conn.execute("BEGIN")
    # the ledger_summary rows come from its triggers, row by row, as for any INSERT
    creates = c.sqlite_drop_indexes(conn, ["member", "ledger_entry", "member_tag", "line_follower", "ledger_summary"])
    series = ("(WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < {hi}) SELECT v AS {name} FROM s)",
              "printf('%08d', m)", "date('1990-01-01', '+' || (m % 365) || ' days')", "printf('%032x', m)")

    def ts(base, expr):
        return f"strftime('%Y-%m-%d %H:%M:%f000', '{base}', '+' || ({expr}) || ' days')"

    for sql in _sql(n, series, ts, "mod_"):
        conn.execute(sql.replace("mod_(m, ", "(m % ").replace("mod_(", "("))
    c.sqlite_finish_bulk(conn, creates)
    return time.perf_counter() - t


def pg_existing(admin_url: str, n: int) -> str | None:
    """The URL of the benchmark database when it exists with ``n`` members (``--reuse``)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError, ProgrammingError

    url = make_url(admin_url).set(database=PG_DB).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.exec_driver_sql("SELECT COUNT(*) FROM member").scalar_one()
    except (OperationalError, ProgrammingError):
        return None
    finally:
        engine.dispose()
    return url if have == n else None


def sqlite_existing(path: Path, n: int) -> bool:
    import sqlite3

    if not path.exists():
        return False
    with sqlite3.connect(path) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM member").fetchone()[0] == n
        except sqlite3.Error:
            return False


def build_pg(admin_url: str, n: int) -> tuple[str, float]:
    from sqlalchemy import text


    url, engine = c.pg_migrated_database(admin_url, PG_DB)
    t = time.perf_counter()
    series = ("generate_series(1, {hi}) AS {name}", "lpad(m::text, 8, '0')", "DATE '1990-01-01' + (m % 365)",
              "lpad(to_hex(m), 32, '0')")

    def ts(base, expr):
        return f"TIMESTAMP '{base}' + ({expr}) * INTERVAL '1 day'"

    with engine.begin() as conn:
        c.pg_bulk_load(conn)
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        idx = c.pg_index_definitions(conn, ["member", "ledger_entry", "member_tag", "line_follower", "ledger_summary"])
        for name, _ in idx:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for sql in _sql(n, series, ts, "mod"):
            conn.execute(text(sql))
        for _, sql in idx:
            conn.exec_driver_sql(sql)
        # the replica role silenced the triggers: the summary rows from the ledger, as migration 0011 fills them
        from crm_cli.services import ledger_summary

        conn.exec_driver_sql("ANALYZE")
        ledger_summary.rebuild(conn)
        for table in ("store", "branch", "tier", "member", "ledger_entry", "line_follower"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        c.pg_bulk_load(conn, done=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return url, time.perf_counter() - t


def time_counts(url: str, repeat: int) -> list[tuple[str, int, float, float]]:
    from datetime import date

    from crm_cli.db import dialect
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.uow import unit_of_work
    from crm_cli.domain.segments import SegmentSpec
    from crm_cli.services import segments

    engine = make_engine(DbTarget(url=url, embedded_default=False))
    out = []
    for label, d in SPECS.items():
        d = dict(d)
        if "joined_since" in d:
            d["joined_since"] = date.fromisoformat(d["joined_since"])
        spec = segments.check_spec(SegmentSpec(**d))
        runs, cpus, people = [], [], 0
        for _ in range(repeat + 1):
            with unit_of_work(engine, write=False) as session:
                pg = dialect.is_postgresql(session)
                cpu0 = c.pg_backend_cpu(session) if pg else time.process_time()
                t = time.perf_counter()
                people = segments.count_spec(session, store_id=1, spec=spec, now=NOW).people
                runs.append(time.perf_counter() - t)
                cpus.append((c.pg_backend_cpu(session) if pg else time.process_time()) - cpu0)
        runs, cpus = runs[1:], cpus[1:]  # the first run warms the page cache
        out.append((label, people, min(runs), sorted(runs)[len(runs) // 2], min(cpus)))
        print(f"  count {label:45s} {people:>9,} people  best {c.fmt_s(min(runs))}  CPU {c.fmt_s(min(cpus))}"
              f"  (load {c.load_average()})", flush=True)
    engine.dispose()
    return out


# ---------------------------------------------------------------- campaign send


FAKE = """
import sys, time, json
sys.path.insert(0, {root!r})
from tests.fakeline.server import FakeLine
line = FakeLine().start()
line.add_channel({token!r})
line.quota_value = 10_000_000
print(line.url, flush=True)
sys.stdin.read()
n = len(line.calls("POST"))
print(json.dumps({{"requests": n, "statuses": sorted({{r.status for r in line.requests}})}}), flush=True)
"""


def send_campaign(recipients: int, personalized: bool, workdir: Path) -> dict:
    db = workdir / "send.sqlite3"
    c.sqlite_migrated_database(db)
    conn = c.sqlite_bulk_connection(db)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO store (id, slug, name, link_base, earn_points, earn_per, welcome_points, expiry_policy, "
                 "tiers_enabled, tier_cycle_months, import_max_rows, created_at) VALUES "
                 "(1, 'cafe', 'Cafe', 'https://crm.example.com', 1, 25, 0, 'never', 0, 12, 5000, '2024-12-01 00:00:00')")
    conn.execute(f"""INSERT INTO line_follower (id, store_id, user_id, display_name, status, source, created_at)
        WITH RECURSIVE s(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM s WHERE m < {recipients})
        SELECT m, 1, 'U' || printf('%032x', m), 'Friend ' || m, 'following', 'sync', '2025-01-01 00:00:00.000000' FROM s""")
    conn.execute("COMMIT")
    conn.close()
    root = str(Path(__file__).resolve().parent.parent)
    fake = subprocess.Popen([sys.executable, "-c", FAKE.format(root=root, token=TOKEN)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    url = fake.stdout.readline().strip()
    env = dict(os.environ, CRM_LINE_API_URL=url, CRM_LINE_DATA_API_URL=url, CRM_CONFIG_DIR=str(workdir / "cfg"),
               CRM_ACTOR="bench", PYDANTIC_DISABLE_PLUGINS="__all__")
    base = c.crm_argv("--db", f"sqlite:///{db}", "--store", "cafe", "--quiet")
    subprocess.run(base + ["line", "connect", "--channel-id", "1656000000", "--channel-secret", "0" * 32,
                           "--access-token", TOKEN], env=env, check=True, capture_output=True)
    text = "Hi {display_name}, a treat for you this week" if personalized else "A treat for everyone this week"
    subprocess.run(base + ["campaign", "create", "bench", "--all", "--text", text], env=env, check=True, capture_output=True)
    cpu_used: list[float] = []
    try:  # wait4: the CPU and peak RSS of the sending process alone
        wall, rss_kib, stdout = c.run_once(base + ["--format", "json", "campaign", "send", "bench"], env=env, cpu=cpu_used)
    finally:
        out, _ = fake.communicate("", timeout=60)
    res = json.loads(stdout)
    fake_stats = json.loads(out.strip().splitlines()[-1])
    cpu = cpu_used[0]
    requests = res["requests_sent"]
    return {"recipients": res["accepted"], "requests": requests, "seconds": wall, "requests_per_s": requests / wall,
            "recipients_per_s": res["accepted"] / wall, "cpu_s": cpu, "cpu_ms_per_request": 1000 * cpu / requests,
            "peak_rss_mib": rss_kib / 1024, "platform_requests": fake_stats["requests"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--pushes", type=int, default=5_000, help="personalized recipients (one push each)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sends-only", action="store_true", help="skip the segment counts (no member database)")
    ap.add_argument("--counts-only", action="store_true", help="skip the campaign sends")
    ap.add_argument("--keep", type=Path, help="keep the SQLite member database in this directory (and the "
                    "PostgreSQL one); with --reuse, count on them when they hold --members members")
    ap.add_argument("--reuse", action="store_true", help="reuse the member databases kept by an earlier --keep run")
    c.add_pg_options(ap, "--pg-admin-url")
    ap.add_argument("--no-doc", "--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    ap.add_argument("--quick", action="store_true", help="100,000 members, 10,000 recipients, 1,000 pushes, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.members, args.recipients = min(args.members, 100_000), min(args.recipients, 10_000)
        args.pushes, args.repeat = min(args.pushes, 1_000), 1
    md = [f"Machine: {c.machine_markdown()}", ""]
    results: dict = {"members": args.members}
    with tempfile.TemporaryDirectory(prefix="crm-bench-engage-") as tmp:
        tmp = Path(tmp)
        counts: dict = {}
        keep = args.keep.resolve() if args.keep else None
        if not args.sends_only:
            db = (keep or tmp) / "engage.sqlite3"
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
            if args.reuse and sqlite_existing(db, args.members):
                print(f"reusing {db}", flush=True)
            else:
                print(f"building SQLite with {args.members:,} members ...", flush=True)
                built = build_sqlite(db, args.members)
                print(f"  built in {c.fmt_s(built)}", flush=True)
            counts["SQLite"] = time_counts(f"sqlite:///{db}", args.repeat)
            if not keep:
                db.unlink()
        if not args.no_pg and not args.sends_only:
            url = pg_existing(args.pg_admin_url, args.members) if args.reuse else None
            if url:
                print(f"reusing PostgreSQL database {PG_DB}", flush=True)
            else:
                print(f"building PostgreSQL with {args.members:,} members ...", flush=True)
                url, built = build_pg(args.pg_admin_url, args.members)
                print(f"  built in {c.fmt_s(built)}", flush=True)
            try:
                counts["PostgreSQL"] = time_counts(url, args.repeat)
            finally:
                if not keep:
                    c.pg_drop_database(args.pg_admin_url, PG_DB)
        results["counts"] = {k: [dict(zip(("filters", "people", "best_s", "median_s", "cpu_s"), r)) for r in v] for k, v in counts.items()}
        if counts:
            md.append(f"`crm segment count` on {args.members:,} members (best of {args.repeat} warm runs):")
            md.append("")
        rows = []
        for label, *_ in counts.get("SQLite", []):
            row = [f"`{label}`"]
            for db, vals in counts.items():
                hit = next(v for v in vals if v[0] == label)
                row += [f"{hit[1]:,}", c.fmt_s(hit[2]), c.fmt_s(hit[4])]
            rows.append(row)
        heads = ["filters"] + [h for db in counts for h in (f"{db} people", f"{db} time", f"{db} CPU")]
        if rows:
            md.append(c.table(heads, rows))
        sends = {}
        if not args.counts_only:
            print(f"sending a campaign to {args.recipients:,} followers (multicast) ...", flush=True)
            sends["same text, multicast ≤ 500"] = multi = send_campaign(args.recipients, False, tmp / "m")
            print(f"  {multi}", flush=True)
            (tmp / "p").mkdir()
            print(f"sending a personalized campaign to {args.pushes:,} followers (push) ...", flush=True)
            sends["personalized, push"] = push = send_campaign(args.pushes, True, tmp / "p")
            print(f"  {push}", flush=True)
            results["send"] = {"multicast": multi, "push": push}
    if sends:
        md += ["", "`crm campaign send` against the fake LINE platform on loopback (another process), SQLite:", ""]
        md.append(c.table(["campaign", "recipients", "requests", "wall", "requests/s", "recipients/s", "crm CPU per request",
                           "crm peak RSS"], [
            [k, f"{v['recipients']:,}", f"{v['requests']:,}", c.fmt_s(v["seconds"]), f"{v['requests_per_s']:.0f}",
             f"{v['recipients_per_s']:,.0f}", f"{v['cpu_ms_per_request']:.2f} ms", f"{v['peak_rss_mib']:.0f} MiB"]
            for k, v in sends.items()]))
    md += ["", f"Load average: {c.load_average()}."]
    text = "\n".join(md)
    print(text)
    command = "bench/bench_engage.py " + " ".join(argv if argv is not None else sys.argv[1:])
    c.write_json("engage", results, command=command)
    if not args.no_doc:
        c.write_section("engage", "## Engage: segments and campaigns\n\n" + text,
                        command=command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
