"""Shared helpers for the benchmarks: timing, peak RSS, machine description, docs output.

A benchmark script prints its figures and calls :func:`write_section` to put them
into docs/performance.md between its own markers, so one script can be re-run alone
without disturbing the others::

    <!-- bench:startup start -->
    ...
    <!-- bench:startup end -->

``bench/run_all.py`` runs every ``bench/bench_*.py`` and writes the header section
(machine, command, date).
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BIN = Path(sys.executable).parent
RUN_ID_ENV = "CRM_BENCH_RUN_ID"
DOC_TITLE = "# Performance\n\nFigures from `make bench` (`bench/run_all.py`); each section names the command that produced it.\n"


# ---------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    label: str
    runs: list[float]  # wall seconds
    peak_rss_kib: int  # the largest child peak RSS seen, KiB
    cpu: list[float] = ()  # user + system CPU seconds of each run

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024


def run_once(argv: Sequence[str], *, env: dict | None = None, cwd: Path | None = None,
             check: bool = True, cpu: list | None = None) -> tuple[float, int, bytes]:
    """Run a process; (wall seconds, its peak RSS in KiB, stdout). Uses wait4 for the child's own rusage;
    its CPU seconds (user + system) are appended to ``cpu`` when given."""
    import tempfile

    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=errf, env=env, cwd=cwd)
        # communicate() would reap the child itself; read stdout, then wait4 for the child's rusage
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        errf.seek(0)
        err = errf.read()
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, argv))} exited {proc.returncode}: {err.decode(errors='replace')[-500:]}")
    return elapsed, int(usage.ru_maxrss), out


def time_commands(commands: dict[str, Sequence[str]], *, repeat: int = 10, warmup: int = 2,
                  env: dict | None = None) -> dict[str, Timing]:
    """Median wall time of each command, run round-robin (so drift hits all of them alike)."""
    for _ in range(warmup):
        for argv in commands.values():
            run_once(argv, env=env)
    runs: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, int] = {k: 0 for k in commands}
    for _ in range(repeat):
        for label, argv in commands.items():
            t, r, _ = run_once(argv, env=env, cpu=cpus[label])
            runs[label].append(t)
            rss[label] = max(rss[label], r)
    return {k: Timing(k, runs[k], rss[k], cpus[k]) for k in commands}


def time_call(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def peak_rss_self_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def verdict(ratio: float, goal: float) -> str:
    return "met" if ratio <= goal else "MISSED"


# ---------------------------------------------------------------- machine


def _meminfo_gib() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
        kib = int(re.search(r"MemTotal:\s+(\d+)", text).group(1))
        return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine() -> dict[str, str]:
    import sqlite3

    return {
        "cpus (nproc)": str(_nproc()),
        "cpu": _cpu_model(),
        "memory": _meminfo_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine_markdown() -> str:
    return "\n".join(f"- {k}: {v}" for k, v in machine().items())


def now_text() -> str:
    return datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def command_text(argv: Sequence[str] | None = None) -> str:
    argv = list(sys.argv if argv is None else argv)
    if argv and argv[0].endswith(".py"):
        try:
            argv[0] = str(Path(argv[0]).resolve().relative_to(ROOT))
        except ValueError:
            pass
        argv = ["python"] + argv
    return shlex.join(argv)


# ---------------------------------------------------------------- docs/performance.md


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} start -->", f"<!-- bench:{name} end -->"


def write_section(name: str, markdown: str, *, doc: Path = DOC, command: str | None = None) -> None:
    """Replace (or append) the section ``name`` in docs/performance.md.

    The section gets a footer with the command that produced it and the date.
    """
    start, end = _markers(name)
    run_id = os.environ.get(RUN_ID_ENV, "")
    footer = f"\n\n_Command: `{command or command_text()}`, {now_text()}._"
    body = f"{start}\n<!-- run:{run_id} -->\n{markdown.strip()}{footer}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else DOC_TITLE
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body, text)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, doc)


RESULTS = ROOT / "bench" / "results"
#: the PostgreSQL server every benchmark measures beside SQLite (CRM_BENCH_PG_URL overrides)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_url_default() -> str:
    return os.environ.get("CRM_BENCH_PG_URL", PG_DEFAULT)


def add_pg_options(ap, flag: str = "--pg-url") -> None:
    """The PostgreSQL admin URL option (default: the local server, so `make bench` measures both
    databases side by side) and ``--no-pg`` to measure SQLite alone; read with :func:`pg_url`."""
    ap.add_argument(flag, default=pg_url_default(), help="PostgreSQL admin URL (default: %(default)s)")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")


#: crm's own triggers, which fire in replica mode too (ENABLE ALWAYS, migration 0015)
PG_CRM_TRIGGERS = (("ledger_entry", "trg_ledger_lot_expiry"), ("ledger_entry", "trg_ledger_summary_entry"),
                   ("lot_allocation", "trg_ledger_summary_alloc"))


def pg_bulk_load(conn, *, done: bool = False) -> None:
    """A benchmark's bulk load in this transaction: no per-row foreign-key checks (replica
    role) and none of crm's own triggers (the load then fills the expiry queue and
    ledger_summary as the migrations do); ``done=True`` turns the triggers back on (ENABLE
    ALWAYS) before the commit, so the database is as the migrations leave it."""
    if not done:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    for table, trigger in PG_CRM_TRIGGERS:
        conn.exec_driver_sql(f"ALTER TABLE {table} {'ENABLE ALWAYS' if done else 'DISABLE'} TRIGGER {trigger}")


def pg_url(args) -> str | None:
    return None if args.no_pg else args.pg_url


def write_json(name: str, data: dict, *, command: str | None = None) -> Path:
    """Write ``bench/results/NAME.json``: the figures of one benchmark with the machine,
    the command and the date, so two commits' runs can be compared."""
    import json

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": name,
        "command": command or command_text(),
        "date": now_text(),
        "run_id": os.environ.get(RUN_ID_ENV, ""),
        "machine": machine(),
        "load_average_at_end": load_average(),
        "results": data,
    }
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def pg_backend_cpu(conn) -> float:
    """CPU seconds (user + system) used so far by the PostgreSQL backend serving ``conn``
    (a SQLAlchemy connection or session; the server must run on this machine), plus its
    parallel workers'.

    A query may run on parallel workers (a plain aggregate over the ledger does: Gather
    with 2 workers), each a process of its own that exits when the query ends; the
    backend's own CPU is then a third of the work. An exited worker's CPU is added to its
    parent's, the postmaster's, children time (reaped before the query returns), so the
    reading adds the postmaster's children time: a difference of two readings counts the
    workers of the queries between them, and also any other server process that exited
    meanwhile (an autovacuum worker, a closed connection), which a benchmark keeps out
    of its timings."""
    pid = conn.execute(__import__("sqlalchemy").text("SELECT pg_backend_pid()")).scalar_one()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        parent = Path(f"/proc/{int(fields[1])}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(parent[13]) + int(parent[14])) / ticks


def section_written_in_run(name: str, run_id: str, *, doc: Path = DOC) -> bool:
    if not doc.exists():
        return False
    start, _ = _markers(name)
    text = doc.read_text(encoding="utf-8")
    i = text.find(start)
    return i >= 0 and text.startswith(f"{start}\n<!-- run:{run_id} -->", i)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(map(str, headers)) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out)


def crm_argv(*args: str) -> list[str]:
    """The installed ``crm`` entry point of this environment."""
    exe = BIN / "crm"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "crm_cli", *args]


# ---------------------------------------------------------------- bulk-built benchmark databases


def load_average() -> str:
    """The 1/5/15-minute load average now, for printing next to a figure."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def sqlite_migrated_database(path: Path) -> None:
    """(Re)create the SQLite database ``path`` (and its WAL files) and run the migrations."""
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            p.unlink()
    engine = make_engine(DbTarget(url=f"sqlite:///{path}", embedded_default=False))
    upgrade(engine)
    engine.dispose()


def sqlite_bulk_connection(path: Path):
    """A raw sqlite3 connection for bulk loading a benchmark database built by the migrations.

    Autocommit mode (the caller issues BEGIN/COMMIT), foreign-key checks off (the
    generated data is consistent by construction), a large page cache.
    """
    import sqlite3

    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def sqlite_drop_indexes(conn, tables: Sequence[str]) -> list[str]:
    """Drop the (non-automatic) indexes of ``tables``; returns their CREATE statements, to run after loading."""
    marks = ", ".join("?" for _ in tables)
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) AND sql IS NOT NULL",
        list(tables),
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def sqlite_finish_bulk(conn, creates: Sequence[str]) -> None:
    """End a bulk load: recreate the dropped indexes, commit, analyze, close."""
    for sql in creates:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def pg_migrated_database(admin_url: str, name: str):
    """(Re)create database ``name`` and run the migrations; returns (url, engine)."""
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.schema import upgrade

    url = pg_create_database(admin_url, name)
    engine = make_engine(DbTarget(url=url, embedded_default=False))
    upgrade(engine)
    return url, engine


def pg_create_database(admin_url: str, name: str) -> str:
    """(Re)create database ``name`` on the server of ``admin_url``; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def pg_drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pg_index_definitions(conn, tables: Sequence[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the plain indexes of ``tables`` (not primary keys or unique constraints)."""
    rows = conn.exec_driver_sql(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(%(t)s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        {"t": list(tables)},
    ).all()
    return [(r[0], r[1]) for r in rows]


_LAUNCHER = r"""
import json, os, sys, time
t0 = time.perf_counter()
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    try:
        os.close(fd)
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
os.write(fd, json.dumps([wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)]).encode())
"""


def run_isolated(argv: Sequence[str], *, env: dict | None = None, check: bool = True,
                 cpu: list | None = None) -> tuple[float, int, bytes]:
    """Like :func:`run_once`, for a parent that has grown large.

    Linux carries a process's peak RSS across fork and exec, so a child started from a
    big benchmark process reports the parent's size. A small launcher process starts
    the command instead and reports the command's own wall time, CPU time and peak RSS.
    """
    import json
    import tempfile

    r, w = os.pipe()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(w), *argv],
                                stdout=subprocess.PIPE, stderr=errf, env=env, pass_fds=(w,))
        os.close(w)
        out = proc.stdout.read()
        proc.wait()
        proc.stdout.close()
        with os.fdopen(r, "rb") as fh:
            report = fh.read()
        errf.seek(0)
        err = errf.read()
    wall, cpu_s, rss, code = json.loads(report) if report else (0.0, 0.0, 0, proc.returncode or -1)
    if cpu is not None:
        cpu.append(cpu_s)
    if check and code != 0:
        raise RuntimeError(f"{shlex.join(map(str, argv))} exited {code}: {err.decode(errors='replace')[-500:]}")
    return wall, int(rss), out
