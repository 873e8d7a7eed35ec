"""Shell completion speed: one TAB press is one `crm` process answering
`_CRM_COMPLETE=complete_bash`; this prints its wall and CPU time (median of --repeat runs)
on a small SQLite store and on PostgreSQL (the local server unless --pg-url or --no-pg),
beside `crm --help`.

    .venv/bin/python bench/bench_completion.py [--repeat 15] [--pg-url URL | --no-pg]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

CRM = _common.crm_argv()  # the installed `crm`, as bench_startup times it


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(CRM + args, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(label: str, args: list[str], env: dict[str, str], repeat: int, into: dict) -> None:
    runs = [run(args, env) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    print(f"{label:<34} wall {wall * 1000:7.1f} ms   cpu {cpu * 1000:7.1f} ms")
    into[label] = {"median_wall_s": round(wall, 4), "median_cpu_s": round(cpu, 4)}


def setup(db: str, env: dict[str, str]) -> None:
    for args in (["store", "create", "cafe", "--name", "Cafe"], ["branch", "add", "Siam"], ["branch", "add", "Ari"]):
        subprocess.run(CRM + ["--db", db, "--store", "cafe", "--quiet"] + args, env=env, check=True, capture_output=True)


def complete_env(env: dict[str, str], db: str) -> dict[str, str]:
    line = f"crm --db {db} --store cafe branch close "
    return dict(env, _CRM_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(line.split(" ")) - 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="5 runs each")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/results/completion.json alone")
    _common.add_pg_options(ap)
    a = ap.parse_args()
    a.pg_url = _common.pg_url(a)
    if a.quick:
        a.repeat = min(a.repeat, 5)
    figures: dict = {"repeat": a.repeat, "load_average_at_start": _common.load_average(), "commands": {}}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CRM_CONFIG_DIR=str(Path(tmp) / "cfg"), CRM_DATA_DIR=str(Path(tmp) / "data"))
        print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores, median of {a.repeat}")
        measure("crm --help", ["--help"], env, a.repeat, figures["commands"])
        db = f"sqlite:///{tmp}/bench.sqlite3"
        subprocess.run(CRM + ["--db", db, "db", "upgrade"], env=env, check=True, capture_output=True)
        setup(db, env)
        measure("complete a branch name (SQLite)", [], complete_env(env, db), a.repeat, figures["commands"])
        if a.pg_url:
            name = f"crm_bench_completion_{uuid.uuid4().hex[:8]}"
            url = _common.pg_create_database(a.pg_url, name)
            try:
                subprocess.run(CRM + ["--db", url, "db", "upgrade"], env=env, check=True, capture_output=True)
                setup(url, env)
                measure("complete a branch name (PostgreSQL)", [], complete_env(env, url), a.repeat,
                        figures["commands"])
            finally:
                _common.pg_drop_database(a.pg_url, name)
    if not a.no_write:
        print(f"wrote {_common.write_json('completion', figures).relative_to(_common.ROOT)}")


if __name__ == "__main__":
    main()
