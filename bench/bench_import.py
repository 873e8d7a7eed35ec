"""Member import speed and memory against its floor.

Goals (issue: members, bulk import):
  5,000-row XLSX, `crm member import` end to end, process start included   < 0.6 s
  100,000 and 1,000,000 rows                                              <= 1.5 x the floor
  peak RSS at 1,000,000 rows                                              < 300 MB

The floor is measured in the same run on the same file: the fastest reader
(python-calamine) parsing the sheet + raw ``sqlite3`` ``executemany`` of the same
member rows and their point lots into a fresh database of the same schema, in one
transaction (no validation, no process start). PostgreSQL figures are the same
import against PostgreSQL (``--pg URL``, default the local test server).

Usage: python bench/bench_import.py [--quick] [--sizes 5000 100000 1000000] [--pg URL | --no-pg] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIRST = ["สมชาย", "สมศรี", "บุญมี", "มาลี", "ประยุทธ", "วิไล", "Anan", "Nok", "Ploy", "Krit"]
LAST = ["ใจดี", "มีสุข", "รักไทย", "ศรีสวัสดิ์", "Jaidee", "Saetang", "Wong", "ทองดี"]
GENDERS = ["ชาย", "หญิง", "อื่นๆ", "ไม่ระบุ", "M", "F", None, None]


def make_xlsx(path: Path, n: int, seed: int = 7) -> None:
    """A template-shaped workbook of n members with mixed phone forms, date cells and BE text birthdays."""
    from openpyxl import Workbook

    rnd = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("members")
    ws.append(["เบอร์โทรศัพท์* / Phone*", "ชื่อ - นามสกุล* / Full name*", "จำนวนพอยท์* / Points*",
               "เพศ / Gender", "วันเกิด / Birthday", "อีเมล / Email"])
    for i in range(n):
        digits = f"8{(10_000_000 + i * 7) % 100_000_000:08d}"  # 9 digits after the 0, unique
        form = i % 4
        phone = int(digits) if form == 0 else (f"0{digits[:2]}-{digits[2:5]}-{digits[5:]}" if form == 1 else
                                               (f"+66 {digits}" if form == 2 else f"0{digits}"))
        y = rnd.randint(1950, 2005)
        bday = date(y, rnd.randint(1, 12), rnd.randint(1, 28))
        bcell = bday if i % 3 == 0 else (f"{bday.day:02d}/{bday.month:02d}/{bday.year + 543}" if i % 3 == 1 else None)
        email = f"member{i}@example.com" if i % 2 == 0 else None
        ws.append([phone, f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", rnd.randint(0, 5000), rnd.choice(GENDERS), bcell, email])
    wb.save(path)


def _env(tmp: Path, db_url: str | None) -> dict:
    env = dict(os.environ)
    env.pop("CRM_DATABASE_URL", None)
    env.update(CRM_DATA_DIR=str(tmp / "data"), CRM_CONFIG_DIR=str(tmp / "config"), CRM_ACTOR="bench",
               CRM_STORE="bench")
    if db_url:
        env["CRM_DATABASE_URL"] = db_url
    return env


def fresh_sqlite(tmp: Path) -> tuple[dict, Path]:
    env = _env(tmp, None)
    c.run_once(c.crm_argv("store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(c.crm_argv("branch", "add", "Siam"), env=env)
    db = tmp / "data" / "crm.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return env, db


def fresh_pg(tmp: Path, admin_url: str) -> dict:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "crm_bench_import"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    env = _env(tmp, url)
    c.run_once(c.crm_argv("db", "upgrade"), env=env)
    c.run_once(c.crm_argv("store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(c.crm_argv("branch", "add", "Siam"), env=env)
    return env


def floor(xlsx: Path, db: Path) -> tuple[float, float, float, float]:
    """(parse s, insert s, total s, total CPU s): calamine parse + raw sqlite3 executemany of members and lots,
    one transaction."""
    from python_calamine import CalamineWorkbook

    c0 = time.process_time()
    t0 = time.perf_counter()
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()[1:]
    t1 = time.perf_counter()
    now = datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("BEGIN IMMEDIATE")
    base = con.execute("SELECT COALESCE(MAX(id), 0) FROM member").fetchone()[0]
    con.executemany(
        "INSERT INTO member (store_id, phone, registered_at, name, gender, birthday, email, registered_branch_id, "
        "source, created_at, last_activity_at) VALUES (1, ?, ?, ?, ?, ?, ?, 1, 'import', ?, ?)",
        ((str(r[0]), now, r[1], r[3] or None, str(r[4]) if r[4] else None, r[5] or None, now, now) for r in rows),
    )
    con.executemany(
        "INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, created_at, branch_id, channel, "
        "idem_source, idem_key) VALUES (1, ?, 'import', ?, 0, ?, 1, 'import', 'import', ?)",
        ((base + i + 1, int(r[2]), now, str(base + i + 1)) for i, r in enumerate(rows) if r[2]),
    )
    con.execute("COMMIT")
    con.close()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0, time.process_time() - c0


def reader_cpu(xlsx: Path) -> float:
    """CPU seconds of the import's own reader + validator alone (crm_cli.fileio.member_rows), for the breakdown."""
    from crm_cli.fileio import member_rows as mr

    c0 = time.process_time()
    for _ in mr.iter_validated(mr.read_rows(xlsx), max_rows=10**8, today=date(2026, 1, 1)):
        pass
    return time.process_time() - c0


def _isolated(fn: str, *args: str):
    """Run floor()/reader_cpu() in a child process: the calamine floor holds a whole sheet
    (hundreds of MB at 1M rows), and a big parent would inflate the peak RSS that later
    forked children report."""
    import json
    import subprocess

    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import bench_import as b; from pathlib import Path; "
            f"print(json.dumps(b.{fn}(*[Path(a) for a in sys.argv[1:]])))")
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_import(env: dict, xlsx: Path) -> tuple[float, int, float]:
    """(wall s, peak RSS KiB, CPU s user+sys) of one `crm member import` process."""
    import subprocess

    argv = c.crm_argv("--quiet", "member", "import", str(xlsx), "--branch", "Siam", "--max-rows", "2000000")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"import failed: {err.decode(errors='replace')[-400:]}")
    return wall, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 5,000 and 20,000 only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (median); 1 for 1,000,000")
    ap.add_argument("--pg", default=os.environ.get("CRM_BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = ap.parse_args()
    sizes = args.sizes or ([5000, 20000] if args.quick else [5000, 100_000, 1_000_000])

    rows_out = []
    pg_rows = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as d:
        tmp = Path(d)
        for n in sizes:
            cache = Path(tempfile.gettempdir()) / "crm-bench-import-files"
            cache.mkdir(exist_ok=True)
            xlsx = cache / f"members-{n}-v1.xlsx"
            if not xlsx.exists():  # deterministic content: generated once, reused by later runs
                t0 = time.perf_counter()
                make_xlsx(xlsx.with_suffix(".tmp.xlsx"), n)
                xlsx.with_suffix(".tmp.xlsx").rename(xlsx)
                print(f"[{n:,} rows] generated {xlsx.name} ({xlsx.stat().st_size / 1e6:.1f} MB) in "
                      f"{time.perf_counter() - t0:.1f} s", flush=True)
            repeat = 1 if n >= 500_000 else args.repeat
            times, rsss, floors, cpus = [], [], [], []
            for k in range(repeat):
                work = tmp / f"run-{n}-{k}"
                env, db = fresh_sqlite(work)
                floor_db = work / "floor.sqlite3"
                shutil.copyfile(db, floor_db)
                t, rss, cpu = run_import(env, xlsx)
                f = _isolated("floor", str(xlsx), str(floor_db))
                cpus.append(cpu)
                times.append(t)
                rsss.append(rss)
                floors.append(f)
                shutil.rmtree(work)
            times.sort()
            t = times[len(times) // 2]
            fl = sorted(floors, key=lambda x: x[2])[len(floors) // 2]
            ratio = t / fl[2]
            cpu = sorted(cpus)[len(cpus) // 2]
            fl_cpu = sorted(f[3] for f in floors)[len(floors) // 2]
            cpu_ratio = cpu / fl_cpu
            rss_mb = max(rsss) / 1024
            load = os.getloadavg()[0]
            rd_cpu = _isolated("reader_cpu", str(xlsx))
            print(f"[{n:,} rows] crm member import {c.fmt_s(t)} ({n / t:,.0f} rows/s), peak RSS {rss_mb:.0f} MiB; "
                  f"floor {c.fmt_s(fl[2])} (calamine {c.fmt_s(fl[0])} + sqlite3 executemany {c.fmt_s(fl[1])}); "
                  f"ratio {ratio:.2f}; CPU {cpu:.2f} s (read+validate alone {rd_cpu:.2f} s) vs floor CPU {fl_cpu:.2f} s "
                  f"(ratio {cpu_ratio:.2f}); "
                  f"load average {load:.1f}", flush=True)
            if n <= 5000:
                goal = f"< 0.6 s end to end: {c.verdict(t, 0.6)} (CPU {cpu:.2f} s)"
            else:
                goal = f"<= 1.5 x floor: {c.verdict(ratio, 1.5)} (CPU ratio {cpu_ratio:.2f})"
            if n >= 1_000_000:
                goal += f"; RSS < 300 MB: {c.verdict(rss_mb, 300)}"
            rows_out.append([f"{n:,}", c.fmt_s(t), f"{n / t:,.0f}", f"{rss_mb:.0f} MiB", c.fmt_s(fl[0]), c.fmt_s(fl[1]),
                             c.fmt_s(fl[2]), f"{ratio:.2f}", f"{cpu:.2f} s", f"{rd_cpu:.2f} s", f"{fl_cpu:.2f} s",
                             f"{cpu_ratio:.2f}", f"{load:.1f}", goal])
            if not args.no_pg:
                try:
                    penv = fresh_pg(tmp / f"pg-{n}", args.pg)
                    pt, prss, _pcpu = run_import(penv, xlsx)
                    print(f"[{n:,} rows] PostgreSQL: crm member import {c.fmt_s(pt)} ({n / pt:,.0f} rows/s), "
                          f"peak RSS {prss / 1024:.0f} MiB", flush=True)
                    pg_rows.append([f"{n:,}", c.fmt_s(pt), f"{n / pt:,.0f}", f"{prss / 1024:.0f} MiB", f"{pt / t:.2f}"])
                except Exception as exc:  # noqa: BLE001 - report and go on
                    print(f"[{n:,} rows] PostgreSQL skipped: {exc}", flush=True)

    md = "## Member import (`crm member import`)\n\n"
    md += c.table(["rows", "import (end to end)", "rows/s", "peak RSS", "floor: calamine parse", "floor: sqlite3 executemany",
                   "floor total", "ratio", "import CPU", "of which read+validate", "floor CPU", "CPU ratio",
                   "load avg", "goal"], rows_out)
    if pg_rows:
        md += "\n\nPostgreSQL (same files, same command with `CRM_DATABASE_URL`):\n\n"
        md += c.table(["rows", "import (end to end)", "rows/s", "peak RSS", "vs SQLite"], pg_rows)
    print()
    print(md)
    if not args.no_write:
        c.write_section("import", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
