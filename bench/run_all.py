"""Run every benchmark under bench/ and write docs/performance.md.

Usage: python bench/run_all.py [--quick] [--only NAME ...]

Runs each ``bench/bench_*.py`` in turn (``--quick`` is passed through), prints its
figures, and writes the header section of docs/performance.md: the machine, the
command and the date. A script that writes its own section (``_common.write_section``)
keeps it; the output of one that does not is recorded verbatim under its name.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

ORDER = ["bench_startup", "bench_points", "bench_expiry", "bench_counter", "bench_import", "bench_tiers"]


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(Path(__file__).resolve().parent.glob("bench_*.py"))
    found.sort(key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem))
    if only:
        wanted = {o.removesuffix(".py") for o in only} | {f"bench_{o}" for o in only}
        found = [p for p in found if p.stem in wanted]
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description="Run the benchmarks and write docs/performance.md.")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    ap.add_argument("--only", nargs="*", help="run only these (e.g. startup import)")
    args = ap.parse_args()
    run_id = uuid.uuid4().hex[:12]
    env = dict(os.environ, **{c.RUN_ID_ENV: run_id})
    todo = scripts(args.only)
    results = []
    t_all = time.perf_counter()
    c.write_section("machine", "## Machine\n\n" + c.machine_markdown() + "\n\n(benchmarks running)",
                    command=c.command_text())
    for script in todo:
        argv = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=None, text=True)
        took = time.perf_counter() - t0
        sys.stdout.write(proc.stdout)
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        results.append((script.name, status, c.fmt_s(took)))
        name = script.stem.removeprefix("bench_")
        if not c.section_written_in_run(name, run_id):
            body = f"## {script.stem}\n\n```\n{proc.stdout.strip() or '(no output)'}\n```"
            if proc.returncode != 0:
                body += f"\n\nThe script {status}."
            c.write_section(name, body, command=c.command_text(argv))
    summary = c.table(["benchmark", "status", "took"], results) if results else "(no benchmark scripts found)"
    c.write_section(
        "machine",
        "## Machine\n\n" + c.machine_markdown()
        + f"\n\nBenchmarks run: {len(results)} ({'quick' if args.quick else 'full'} sizes), "
        + f"{c.fmt_s(time.perf_counter() - t_all)} in all.\n\n" + summary,
        command=c.command_text(),
    )
    print(f"\nwrote {c.DOC.relative_to(c.ROOT)}")
    return 0 if all(r[1] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
