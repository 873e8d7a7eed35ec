"""Start-up time: `crm --help` and the database commands against their import floors.

Goals (ratios of medians measured in the same run, wall and CPU):
  crm --help                    <= 2.5 x  python -c "import typer"   (it sits near 1.2 x)
  crm points balance PHONE      <= 1.3 x  python -c "import sqlmodel"  on SQLite
  crm store list                <= 1.3 x  python -c "import sqlmodel"  on SQLite
  the same two on PostgreSQL    <= 1.4 x  python -c "import sqlmodel"

All commands run round-robin in one loop, so the SQLite and PostgreSQL cases and their
floors see the same machine load. The PostgreSQL case uses its own database
``crm_startup_bench`` on the server of --pg-url (default: the local server, as every
benchmark; created, then dropped); --no-pg times SQLite alone.

Usage: python bench/bench_startup.py [--quick] [--repeat N] [--no-write] [--pg-url URL | --no-pg]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

PHONE = "081-234-5678"
PG_DB = "crm_startup_bench"
# modules the database commands should not need on SQLite (the ORM models, the ORM, the PostgreSQL driver)
HEAVY = ("crm_cli.db.models", "sqlmodel", "sqlalchemy.orm", "psycopg")


_PG_CREATE = ("import sys; sys.path.insert(0, %r); import _common as c; print(c.pg_create_database(sys.argv[1], sys.argv[2]))"
              % str(Path(__file__).resolve().parent))
_PG_DROP = _PG_CREATE.replace("print(c.pg_create_database(sys.argv[1], sys.argv[2]))", "c.pg_drop_database(sys.argv[1], sys.argv[2])")


def _env(tmp: Path) -> dict:
    """The embedded SQLite database in a temporary data directory, store 'bench' selected."""
    env = dict(os.environ)
    env.pop("CRM_DATABASE_URL", None)
    env.update(CRM_DATA_DIR=str(tmp / "data"), CRM_CONFIG_DIR=str(tmp / "config"), CRM_ACTOR="bench",
               CRM_STORE="bench", PYTHONDONTWRITEBYTECODE="")
    return env


def _fill(env: dict, db: list[str]) -> None:
    """A store with a branch and a member holding points (``db``: [] or ["--db", URL])."""
    c.run_once(c.crm_argv(*db, "store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(c.crm_argv(*db, "branch", "add", "Siam"), env=env)
    c.run_once(c.crm_argv(*db, "points", "give", PHONE, "--spend", "350", "--branch", "Siam"), env=env)
    c.run_once(c.crm_argv(*db, "points", "give", PHONE, "--spend", "125.50", "--branch", "Siam"), env=env)


def _db_commands(db: list[str], where: str) -> dict[str, list[str]]:
    return {
        f"crm points balance {PHONE} ({where})": c.crm_argv(*db, "points", "balance", PHONE),
        f"crm store list ({where})": c.crm_argv(*db, "store", "list"),
    }


def _imported(argv: list[str], env: dict) -> list[str]:
    """Which of HEAVY one run of ``argv`` imports (python -X importtime)."""
    import subprocess

    args = argv[1:] if Path(argv[0]).name == "crm" else argv[3:]  # crm ARGS, or python -m crm_cli ARGS
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "crm_cli", *args], env=env,
                       capture_output=True, text=True)
    names = {m.group(1) for m in re.finditer(r"\| +(\S+)$", r.stderr, re.M)}
    return [h for h in HEAVY if h in names]


def _bytecode_status() -> tuple[int, int]:
    """(compiled, total) modules of crm_cli with an up-to-date .pyc for this interpreter."""
    import importlib.util

    pkg = c.ROOT / "crm_cli"
    total = compiled = 0
    for src in pkg.rglob("*.py"):
        total += 1
        pyc = Path(importlib.util.cache_from_source(str(src)))
        if pyc.exists() and pyc.stat().st_mtime >= src.stat().st_mtime:
            compiled += 1
    return compiled, total


def _deps_bytecode() -> tuple[int, int]:
    import importlib.util

    total = compiled = 0
    for name in ("typer", "rich", "sqlmodel", "sqlalchemy", "pydantic"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for src in Path(list(spec.submodule_search_locations)[0]).rglob("*.py"):
            total += 1
            if Path(importlib.util.cache_from_source(str(src))).exists():
                compiled += 1
    return compiled, total


def _top_imports(argv: list[str], env: dict, n: int = 8) -> list[tuple[str, float]]:
    """The slowest top-level imports of one run (python -X importtime)."""
    import subprocess

    exe = Path(argv[0])
    if exe.name == "crm":
        cmd = [sys.executable, "-X", "importtime", "-m", "crm_cli", *argv[1:]]
    else:
        cmd = [sys.executable, "-X", "importtime", *argv[1:]]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    rows = []
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if m and len(m.group(2)) <= 2:  # top level (and one below)
            rows.append((m.group(3).strip(), int(m.group(1)) / 1e6))
    rows.sort(key=lambda r: -r[1])
    return rows[:n]


def _ratio_rows(res: dict, floor: str, goals: list[tuple[str, float]]) -> tuple[list[tuple], dict]:
    rows, data = [], {}
    for label, goal in goals:
        if label not in res:
            continue
        wall = res[label].median / res[floor].median
        cpu = res[label].cpu_median / res[floor].cpu_median
        rows.append((f"`{label}` / `{floor}`", f"{wall:.2f}x", f"{cpu:.2f}x", f"<= {goal}x",
                     f"wall {c.verdict(wall, goal)}, CPU {c.verdict(cpu, goal)}"))
        data[label] = {"floor": floor, "goal": goal, "wall_ratio": round(wall, 3), "cpu_ratio": round(cpu, 3),
                       "wall_met": wall <= goal, "cpu_met": cpu <= goal}
    return rows, data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md and bench/results alone")
    c.add_pg_options(ap)  # the database commands are timed on PostgreSQL too
    args = ap.parse_args()
    args.pg_url = c.pg_url(args)
    repeat = args.repeat or (5 if args.quick else 15)
    py = sys.executable
    load_start = c.load_average()
    pg_db: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as d:
        env = _env(Path(d))
        # what `make install` should leave behind: every module of the package byte-compiled
        c.run_once([sys.executable, "-m", "compileall", "-q", str(c.ROOT / "crm_cli")], env=env)
        _fill(env, [])
        if args.pg_url:
            # in a child process: this one stays small, as every timed child starts as a copy of it
            # (Linux keeps the peak RSS across fork and exec)
            _, _, out = c.run_once([py, "-c", _PG_CREATE, args.pg_url, PG_DB], env=env)
            pg_db = ["--db", out.decode().strip()]
            c.run_once(c.crm_argv(*pg_db, "db", "upgrade"), env=env)
            _fill(env, pg_db)
        try:
            commands = {
                'python -c "import typer"': [py, "-c", "import typer"],
                'python -c "import sqlmodel"': [py, "-c", "import sqlmodel"],
                "python -c \"import <the stack>\"": [py, "-c", "import typer, sqlmodel, rich.console, rich.table, "
                                                               "sqlalchemy.dialects.sqlite, platformdirs, dateutil"],
                "crm --help": c.crm_argv("--help"),
                **_db_commands([], "SQLite"),
                **(_db_commands(pg_db, "PostgreSQL") if pg_db else {}),
            }
            res = c.time_commands(commands, repeat=repeat, warmup=2, env=env)
            balance_sqlite = commands[f"crm points balance {PHONE} (SQLite)"]
            top = _top_imports(balance_sqlite, env)
            heavy = {label: _imported(argv, env) for label, argv in commands.items() if label.startswith("crm ") and "--help" not in argv}
        finally:
            if args.pg_url:
                c.run_once([py, "-c", _PG_DROP, args.pg_url, PG_DB], env=env)
    load_end = c.load_average()

    sqlm = 'python -c "import sqlmodel"'
    help_rows, help_data = _ratio_rows(res, 'python -c "import typer"', [("crm --help", 2.5)])
    db_rows, db_data = _ratio_rows(res, sqlm, [
        (f"crm points balance {PHONE} (SQLite)", 1.3), ("crm store list (SQLite)", 1.3),
        (f"crm points balance {PHONE} (PostgreSQL)", 1.4), ("crm store list (PostgreSQL)", 1.4),
    ])
    rows = [
        (f"`{k}`", c.fmt_s(t.median), c.fmt_s(t.best), c.fmt_s(t.cpu_median), f"{t.peak_rss_mib:.0f} MiB")
        for k, t in res.items()
    ]
    compiled, total = _bytecode_status()
    dep_compiled, dep_total = _deps_bytecode()
    where = "SQLite database in a temporary data directory (the embedded default)"
    if pg_db:
        where += f" and, with `--db`, PostgreSQL database `{PG_DB}` on the local server"
    md = [
        "## Start-up",
        "",
        f"Median of {repeat} runs each (after 2 warm-up runs), all commands run round-robin in one loop; "
        f"{where}; a store with one member holding points. Load average (1/5/15 min) at the start "
        f"{load_start}, at the end {load_end} (2 cores).",
        "",
        c.table(["command", "median wall", "best wall", "median CPU", "peak RSS"], rows),
        "",
        c.table(["ratio", "wall (medians)", "CPU (medians)", "goal", "result"], help_rows + db_rows),
        "",
        "CPU time (user + system of the process; for PostgreSQL the client only) is shown because it is "
        "steadier than wall time when the machine is shared.",
        "",
        "Heavy modules imported (`python -X importtime`; checked: " + ", ".join(f"`{h}`" for h in HEAVY) + "): "
        + "; ".join(f"`{k}`: {', '.join(v) if v else 'none'}" for k, v in heavy.items()) + ".",
        "",
        f"Bytecode: {compiled} of {total} `crm_cli` modules have an up-to-date `.pyc` "
        "(the Makefile installs with `pip install --compile`; an editable install writes the package's own "
        "`.pyc` files on first use). Dependencies: "
        f"{dep_compiled} of {dep_total} modules of typer, click, rich, sqlmodel, sqlalchemy, pydantic have one.",
        "",
        f"Slowest imports of `crm points balance {PHONE}` on SQLite (`python -X importtime`, cumulative):",
        "",
        c.table(["module", "cumulative"], [(f"`{m}`", c.fmt_s(t)) for m, t in top]),
    ]
    text = "\n".join(md)
    print(text)
    if not args.no_write:
        c.write_section("startup", text)
        c.write_json("startup", {
            "repeat": repeat, "load_average_at_start": load_start, "load_average_at_end": load_end,
            "postgresql": bool(pg_db),
            "commands": {k: {"median_wall_s": round(t.median, 4), "best_wall_s": round(t.best, 4),
                             "median_cpu_s": round(t.cpu_median, 4), "peak_rss_mib": round(t.peak_rss_mib, 1)}
                         for k, t in res.items()},
            "ratios": {**help_data, **db_data},
            "heavy_imports": heavy,
            "slowest_imports_balance_sqlite": [{"module": m, "cumulative_s": round(t, 4)} for m, t in top],
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
