"""Member import speed and memory against its floor.

Goals (issue: members, bulk import):
  5,000-row XLSX, `crm member import` end to end, process start included   < 0.6 s
  100,000 and 1,000,000 rows                                              <= 1.5 x the floor
  peak RSS at 1,000,000 rows                                              < 300 MB

  PostgreSQL                                                              <= 1.3 x SQLite

The floor is measured in the same run on the same file: the fastest reader
(python-calamine) parsing the sheet + raw ``sqlite3`` ``executemany`` of the same
member rows and their point lots into a fresh database of the same schema, in one
transaction (no validation, no process start). PostgreSQL figures are the same
import against PostgreSQL (``--pg URL``, default the local test server), into a fresh
migrated database: wall time, the crm process's CPU and the server's CPU (the backends
serving the import, sampled from /proc every 0.05 s; the server runs on this machine).

Every run is side by side: for each size and repetition the SQLite import, the floor and
the PostgreSQL import run one after the other, so they share the machine's load (the load
average is printed and recorded). ``--before REV`` adds the same import from another
commit's source tree (``git archive REV``, byte-compiled, run with ``PYTHONPATH``) to every
round, for before/after figures from one run.

Usage: python bench/bench_import.py [--quick] [--sizes 5000 100000 1000000] [--repeat N]
       [--pg URL | --no-pg] [--before REV] [--no-write]
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


def _env(tmp: Path, db_url: str | None, tree: Path | None) -> dict:
    env = dict(os.environ)
    env.pop("CRM_DATABASE_URL", None)
    env.update(CRM_DATA_DIR=str(tmp / "data"), CRM_CONFIG_DIR=str(tmp / "config"), CRM_ACTOR="bench",
               CRM_STORE="bench")
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    if db_url:
        env["CRM_DATABASE_URL"] = db_url
    return env


def _crm(tree: Path | None, *args: str) -> list[str]:
    # -P: `python -m` would otherwise put the working directory first on sys.path, and run
    # from the repository that is this tree's crm_cli, not the other commit's
    return [sys.executable, "-P", "-m", "crm_cli", *args] if tree is not None else c.crm_argv(*args)


def fresh_sqlite(tmp: Path, tree: Path | None = None) -> tuple[dict, Path]:
    env = _env(tmp, None, tree)
    c.run_once(_crm(tree, "store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(_crm(tree, "branch", "add", "Siam"), env=env)
    db = tmp / "data" / "crm.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return env, db


PG_DB = "crm_bench_import"


def fresh_pg(tmp: Path, admin_url: str, tree: Path | None = None) -> dict:
    url = c.pg_create_database(admin_url, PG_DB)
    env = _env(tmp, url, tree)
    c.run_once(_crm(tree, "db", "upgrade"), env=env)
    c.run_once(_crm(tree, "store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(_crm(tree, "branch", "add", "Siam"), env=env)
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


class ServerCpu:
    """CPU seconds of the PostgreSQL backends connected to one database while a command
    runs: a thread samples ``pg_stat_activity`` and ``/proc/PID/stat`` every 0.05 s and
    keeps each backend's last reading (what a backend spends in its last 0.05 s is missed)."""

    def __init__(self, admin_url: str, database: str):
        import threading

        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(admin_url)
        self.conn = psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                                    dbname=u.database, autocommit=True)
        self.database = database
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.conn.close()

    def _run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self.stop.wait(0.05):
            pids = [r[0] for r in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,))]
            for pid in pids:
                try:
                    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seen[pid] = (int(f[11]) + int(f[12])) / ticks

    @property
    def cpu(self) -> float:
        return sum(self.seen.values())


def run_import(env: dict, xlsx: Path, tree: Path | None = None) -> tuple[float, int, float]:
    """(wall s, peak RSS KiB, CPU s user+sys) of one `crm member import` process."""
    import subprocess

    argv = _crm(tree, "--quiet", "member", "import", str(xlsx), "--branch", "Siam", "--max-rows", "2000000")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"import failed: {err.decode(errors='replace')[-400:]}")
    return wall, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime


def source_tree(rev: str, dest: Path) -> Path:
    """``git archive REV`` of crm_cli into ``dest``, byte-compiled (the import runs it with PYTHONPATH)."""
    import subprocess

    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(c.ROOT), "archive", rev, "crm_cli"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "crm_cli")], check=True)
    # the runs of this tree must import it, not the working copy (see _crm): check once
    found = subprocess.run([sys.executable, "-P", "-c", "import crm_cli; print(crm_cli.__file__)"], check=True,
                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(dest))).stdout.strip()
    if not Path(found).resolve().is_relative_to(dest.resolve()):
        raise SystemExit(f"--before {rev}: its runs would import {found}, not the tree in {dest}")
    return dest


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main() -> int:
    import subprocess

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 5,000 and 20,000 only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--repeat", type=int, default=3, help="rounds per size (median); 1 at 500,000 rows and more")
    c.add_pg_options(ap, "--pg")
    ap.add_argument("--before", metavar="REV", help="also run the import of this commit, side by side")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = ap.parse_args()
    sizes = args.sizes or ([5000, 20000] if args.quick else [5000, 100_000, 1_000_000])
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(c.ROOT / "crm_cli")], check=True)

    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as d:
        tmp = Path(d)
        variants: list[tuple[str, Path | None]] = [("now", None)]
        if args.before:
            rev = subprocess.run(["git", "-C", str(c.ROOT), "rev-parse", "--short", args.before], check=True,
                                 capture_output=True, text=True).stdout.strip()
            variants.insert(0, (f"before ({rev})", source_tree(args.before, tmp / "before")))
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
            runs: dict[str, dict[str, list]] = {name: {} for name, _ in variants}
            floors, loads = [], []
            for k in range(repeat):
                loads.append(os.getloadavg()[0])
                for name, tree in variants:
                    work = tmp / f"run-{n}-{k}"
                    env, db = fresh_sqlite(work, tree)
                    t, rss, cpu = run_import(env, xlsx, tree)
                    r = runs[name]
                    r.setdefault("sqlite_wall", []).append(t)
                    r.setdefault("sqlite_cpu", []).append(cpu)
                    r.setdefault("sqlite_rss", []).append(rss / 1024)
                    if tree is None:
                        floor_db = work / "floor.sqlite3"
                        env, db = fresh_sqlite(work / "floor", None)
                        shutil.copyfile(db, floor_db)
                        floors.append(_isolated("floor", str(xlsx), str(floor_db)))
                    shutil.rmtree(work)
                    if not args.no_pg:
                        penv = fresh_pg(tmp / f"pg-{n}-{k}", args.pg, tree)
                        with ServerCpu(args.pg, PG_DB) as server:
                            pt, prss, pcpu = run_import(penv, xlsx, tree)
                        r.setdefault("pg_wall", []).append(pt)
                        r.setdefault("pg_cpu", []).append(pcpu)
                        r.setdefault("pg_server_cpu", []).append(server.cpu)
                        r.setdefault("pg_rss", []).append(prss / 1024)
                        c.pg_drop_database(args.pg, PG_DB)
                    print(f"[{n:,} rows, round {k + 1}, {name}] SQLite {t:.2f} s (CPU {cpu:.2f} s, {rss / 1024:.0f} MiB)"
                          + ("" if args.no_pg else f"; PostgreSQL {pt:.2f} s (crm CPU {pcpu:.2f} s + server CPU "
                             f"{server.cpu:.2f} s, {prss / 1024:.0f} MiB)") + f"; load {os.getloadavg()[0]:.1f}",
                          flush=True)
            fl_wall = _median([f[2] for f in floors])
            fl_cpu = _median([f[3] for f in floors])
            rd_cpu = _isolated("reader_cpu", str(xlsx))
            load = _median(loads)
            for name, _tree in variants:
                m = {key: (max(v) if key.endswith("rss") else _median(v)) for key, v in runs[name].items()}
                row = {"rows": n, "variant": name, "rounds": repeat, "load_average": round(load, 1),
                       "floor_parse_s": round(_median([f[0] for f in floors]), 3),
                       "floor_insert_s": round(_median([f[1] for f in floors]), 3),
                       "floor_wall_s": round(fl_wall, 3), "floor_cpu_s": round(fl_cpu, 3),
                       "read_validate_cpu_s": round(rd_cpu, 3),
                       **{k: round(v, 3) for k, v in m.items()}}
                row["sqlite_cpu_ratio"] = round(m["sqlite_cpu"] / fl_cpu, 2)
                row["sqlite_wall_ratio"] = round(m["sqlite_wall"] / fl_wall, 2)
                if "pg_wall" in m:
                    row["pg_vs_sqlite_wall"] = round(m["pg_wall"] / m["sqlite_wall"], 2)
                    row["pg_vs_sqlite_cpu"] = round((m["pg_cpu"] + m["pg_server_cpu"]) / m["sqlite_cpu"], 2)
                results.append(row)
                print(f"[{n:,} rows, {name}] " + ", ".join(f"{k} {v}" for k, v in row.items()
                                                            if k not in ("rows", "variant")), flush=True)

    md = "## Member import (`crm member import`)\n\n"
    md += ("Medians of the rounds; every round runs the SQLite import, the floor (calamine parse + raw "
           "`sqlite3` executemany, one transaction, no process start) and the PostgreSQL import one after "
           "the other. CPU is user + system of the process; PostgreSQL adds the server's CPU for the "
           "import's backend.\n\n")
    head = ["rows", "tree", "SQLite wall", "SQLite CPU", "floor CPU", "CPU ratio (goal <= 1.5)",
            "of which read+validate", "peak RSS"]
    if not args.no_pg:
        head += ["PostgreSQL wall", "crm CPU + server CPU", "PG / SQLite wall (goal <= 1.3)", "PG / SQLite CPU",
                 "PG peak RSS"]
    head += ["load avg"]
    rows_md = []
    for r in results:
        row = [f"{r['rows']:,}", r["variant"], c.fmt_s(r["sqlite_wall"]), f"{r['sqlite_cpu']:.2f} s",
               f"{r['floor_cpu_s']:.2f} s", f"{r['sqlite_cpu_ratio']:.2f}", f"{r['read_validate_cpu_s']:.2f} s",
               f"{r['sqlite_rss']:.0f} MiB"]
        if not args.no_pg:
            row += [c.fmt_s(r["pg_wall"]), f"{r['pg_cpu']:.2f} + {r['pg_server_cpu']:.2f} s",
                    f"{r['pg_vs_sqlite_wall']:.2f}", f"{r['pg_vs_sqlite_cpu']:.2f}", f"{r['pg_rss']:.0f} MiB"]
        row += [f"{r['load_average']:.1f}"]
        rows_md.append(row)
    md += c.table(head, rows_md)
    print()
    print(md)
    import json

    print("\nresults as JSON:", json.dumps(results))
    if not args.no_write:
        c.write_section("import", md)
        c.write_json("import", {"runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
