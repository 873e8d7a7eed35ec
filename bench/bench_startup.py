"""Start-up time: `crm --help` and a database command against their import floors.

Goals (ratios of medians measured in the same run):
  crm --help                    <= 2.5 x  python -c "import typer"
  crm points balance PHONE      <= 1.3 x  python -c "import sqlmodel"

Usage: python bench/bench_startup.py [--quick] [--repeat N] [--no-write]
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


def _prepare(tmp: Path) -> tuple[dict, list[str], str]:
    """A SQLite database (the embedded default location) with a store, a branch and a member with points."""
    env = dict(os.environ)
    env.pop("CRM_DATABASE_URL", None)
    env.update(CRM_DATA_DIR=str(tmp / "data"), CRM_CONFIG_DIR=str(tmp / "config"), CRM_ACTOR="bench",
               CRM_STORE="bench", PYTHONDONTWRITEBYTECODE="")
    # what `make install` should leave behind: every module of the package byte-compiled
    c.run_once([sys.executable, "-m", "compileall", "-q", str(c.ROOT / "crm_cli")], env=env)
    c.run_once(c.crm_argv("store", "create", "bench", "--name", "Bench Cafe"), env=env)
    c.run_once(c.crm_argv("branch", "add", "Siam"), env=env)
    _, _, out = c.run_once(c.crm_argv("points", "--help"), env=env, check=False)
    if re.search(rb"\bbalance\b", out) and re.search(rb"\bgive\b", out):
        c.run_once(c.crm_argv("points", "give", PHONE, "--spend", "350", "--branch", "Siam"), env=env)
        c.run_once(c.crm_argv("points", "give", PHONE, "--spend", "125.50", "--branch", "Siam"), env=env)
        return env, c.crm_argv("points", "balance", PHONE), f"crm points balance {PHONE}"
    return env, c.crm_argv("store", "show"), "crm store show"


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = ap.parse_args()
    repeat = args.repeat or (5 if args.quick else 15)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as d:
        env, db_cmd, db_label = _prepare(Path(d))
        commands = {
            'python -c "import typer"': [py, "-c", "import typer"],
            'python -c "import sqlmodel"': [py, "-c", "import sqlmodel"],
            "python -c \"import <the stack>\"": [py, "-c", "import typer, sqlmodel, rich.console, rich.table, "
                                                           "sqlalchemy.dialects.sqlite, platformdirs, dateutil"],
            "crm --help": c.crm_argv("--help"),
            db_label: db_cmd,
            "crm store list": c.crm_argv("store", "list"),
        }
        res = c.time_commands(commands, repeat=repeat, warmup=2, env=env)
        top = _top_imports(db_cmd, env)

    typer_t = res['python -c "import typer"'].median
    sqlm_t = res['python -c "import sqlmodel"'].median
    help_ratio = res["crm --help"].median / typer_t
    db_ratio = res[db_label].median / sqlm_t
    help_cpu = res["crm --help"].cpu_median / res['python -c "import typer"'].cpu_median
    db_cpu = res[db_label].cpu_median / res['python -c "import sqlmodel"'].cpu_median
    rows = [
        (f"`{k}`", c.fmt_s(t.median), c.fmt_s(t.best), c.fmt_s(t.cpu_median), f"{t.peak_rss_mib:.0f} MiB")
        for k, t in res.items()
    ]
    compiled, total = _bytecode_status()
    dep_compiled, dep_total = _deps_bytecode()
    md = [
        "## Start-up",
        "",
        f"Median of {repeat} runs each (after 2 warm-up runs), run round-robin; SQLite database in a temporary "
        "data directory (the embedded default), a store with one member holding points.",
        "",
        c.table(["command", "median wall", "best wall", "median CPU", "peak RSS"], rows),
        "",
        c.table(
            ["ratio", "wall (medians)", "CPU (medians)", "goal", "result (wall)"],
            [
                ("`crm --help` / `import typer`", f"{help_ratio:.2f}x", f"{help_cpu:.2f}x", "<= 2.5x",
                 c.verdict(help_ratio, 2.5)),
                (f"`{db_label}` / `import sqlmodel`", f"{db_ratio:.2f}x", f"{db_cpu:.2f}x", "<= 1.3x",
                 c.verdict(db_ratio, 1.3)),
            ],
        ),
        "",
        "CPU time (user + system of the process) is shown because it is steadier than wall time when the "
        "machine is shared.",
        "",
        f"Bytecode: {compiled} of {total} `crm_cli` modules have an up-to-date `.pyc` "
        "(the Makefile installs with `pip install --compile`; an editable install writes the package's own "
        "`.pyc` files on first use). Dependencies: "
        f"{dep_compiled} of {dep_total} modules of typer, click, rich, sqlmodel, sqlalchemy, pydantic have one.",
        "",
        f"Slowest imports of `{db_label}` (`python -X importtime`, cumulative):",
        "",
        c.table(["module", "cumulative"], [(f"`{m}`", c.fmt_s(t)) for m, t in top]),
    ]
    text = "\n".join(md)
    print(text)
    if not args.no_write:
        c.write_section("startup", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
