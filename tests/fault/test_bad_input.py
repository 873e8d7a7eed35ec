"""The bad-input corpus (tests/fault/corpus.py) fed to `crm member import` and `crm orders import`.

For every malformed file: exit code 5 (invalid input), one clear line on stderr that
starts with ``error:`` (orders also list each bad row on stderr above it), never a
traceback, and nothing written (members, ledger entries, orders and audit records are
counted before and after). Most files run in-process through the CLI runner on SQLite
and PostgreSQL; the hostile ones (zip bombs, huge files, an unreadable file) run as
their own ``crm`` process under an address-space cap of 1.5 GB and a timeout, and their
peak memory is measured. Control files built by the same code must import cleanly.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.fault.corpus import Case, build

RUN_ALL = os.environ.get("CRM_TEST_ALL") == "1"
MEMORY_CAP = 1536 << 20  # bytes of address space for an isolated run
PEAK_RSS_LIMIT_MB = 1024
TIMEOUT_S = 180
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Case]:
    cases = build(tmp_path_factory.mktemp("corpus"))
    yield cases
    for c in cases:  # let pytest clean up
        if c.path.exists() and not c.path.is_dir():
            c.path.chmod(0o600)


def _argv(c: Case) -> list[str]:
    if c.command == "member":
        return ["member", "import", str(c.path), "--branch", "Siam"] + (["--dry-run"] if c.valid else [])
    return ["orders", "import", str(c.path), "--channel", "line-shopping"]


def _counts(uow) -> dict[str, int]:
    with uow(write=False) as s:
        return {
            t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("member", "ledger_entry", "marketplace_order", "audit_log", "lot_allocation")
        }


def _problem(c: Case, code: int, out: str, err: str) -> str | None:
    """What is wrong with how the CLI refused the file, or None."""
    if "Traceback" in out or "Traceback" in err:
        return "traceback"
    if code != 5:
        return f"exit {code} (expected 5): {err.strip()[-300:]}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if not lines or not lines[-1].startswith("error: "):
        return f"no 'error:' line on stderr: {err[-300:]!r}"
    if c.command == "member" and len(lines) != 1:
        return f"{len(lines)} lines on stderr (expected one): {err[-300:]!r}"
    if c.command == "orders" and not all(ln.startswith(("row ", "file")) for ln in lines[:-1]):
        return f"stderr lines other than row errors: {lines[:-1][:3]!r}"
    if "\n" in lines[-1] or len(lines[-1]) > 600:
        return "the error line is not one short line"
    if c.expect and c.expect.lower() not in lines[-1].lower():
        return f"error line does not mention {c.expect!r}: {lines[-1]!r}"
    return None


# ---------------------------------------------------------------- in-process, both databases


#: On PostgreSQL the file layer is the same code, so a representative third of the corpus
#: (and every file under ``make test-all``) checks its transaction writes nothing.
PG_ISOLATED = ("zip-bomb-sheet.xlsx", "rows-200k.csv", "dimension-1048576.xlsx")


def _for_backend(cases: list[Case], backend: str) -> list[Case]:
    if backend == "sqlite" or RUN_ALL:
        return cases
    return [c for i, c in enumerate(cases) if i % 3 == 0 or c.valid or c.name in PG_ISOLATED]


def test_corpus_in_process(shop, uow, corpus, backend, capsys):
    before = _counts(uow)
    failures = []
    tried = 0
    for c in _for_backend(corpus, backend):
        if c.isolated or c.valid:
            continue
        r = shop(*_argv(c))
        tried += 1
        p = _problem(c, r.exit_code, r.stdout, r.stderr)
        if p is None and _counts(uow) != before:
            p = f"wrote something: {before} -> {_counts(uow)}"
        if p:
            failures.append(f"{c.name}: {p}")
    assert not failures, "\n".join(failures)

    # the controls, built by the same code, import (member ones as a dry run: still nothing written)
    for c in corpus:
        if c.valid and c.command == "member":
            r = shop(*_argv(c))
            assert r.exit_code == 0, f"{c.name}: {r.stderr}"
    assert _counts(uow) == before
    orders_ctl = [c for c in corpus if c.valid and c.command == "orders"]
    for c in orders_ctl:
        shop.ok(*_argv(c))
    assert _counts(uow)["marketplace_order"] == before["marketplace_order"] + len(orders_ctl)
    with capsys.disabled():
        print(f"\n[fault] bad input in-process ({backend}): {tried} malformed files refused with exit 5, one line, nothing written")


def test_corpus_is_large_enough(corpus):
    bad = [c for c in corpus if not c.valid]
    assert len([c for c in bad if c.command == "member"]) >= 50
    assert len([c for c in bad if c.command == "orders"]) >= 5


# ---------------------------------------------------------------- own process, memory cap


def _drop_read_override() -> None:
    """For root: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH so file permissions apply."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(pr_capbset_drop, cap, 0, 0, 0)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    if os.geteuid() == 0:
        _drop_read_override()


# `python -c WRAPPER PEAKFILE ARGS...` runs `crm ARGS...` and, at exit, writes the process's own
# peak resident memory (VmHWM, which starts afresh at exec, unlike ru_maxrss) to PEAKFILE.
_PEAK_WRAPPER = """
import atexit, sys
peak_file = sys.argv.pop(1)
def _peak():
    with open("/proc/self/status") as fh:
        kb = next((line.split()[1] for line in fh if line.startswith("VmHWM:")), "0")
    with open(peak_file, "w") as out:
        out.write(kb)
atexit.register(_peak)
sys.argv[0] = "crm"
from crm_cli.cli.app import main
main()
"""


def run_capped(db_url: str, argv: list[str], tmp: Path) -> tuple[int, str, str, float]:
    """Run `crm` as its own process under the memory cap; returns (exit code, stdout, stderr, peak RSS MB)."""
    out_f, err_f = tmp / "stdout", tmp / "stderr"
    with open(out_f, "wb") as so, open(err_f, "wb") as se:
        p = subprocess.Popen([sys.executable, "-c", _PEAK_WRAPPER, str(tmp / "peak"),
                              "--db", db_url, "--store", "cafe", "--quiet", *argv],
                             stdout=so, stderr=se, preexec_fn=_limits, cwd=REPO)
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            p.returncode = -9
            raise AssertionError(f"crm {' '.join(argv)} did not finish within {TIMEOUT_S} s")
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    peak_kb = int((tmp / "peak").read_text() or 0) if (tmp / "peak").exists() else 0
    return code, out_f.read_text(errors="replace"), err_f.read_text(errors="replace"), peak_kb / 1024


def _run_isolated(shop, uow, cases: list[Case], tmp_path: Path, capsys) -> None:
    backend = "sqlite" if shop.db_url.startswith("sqlite") else "postgresql"
    before = _counts(uow)
    failures, peaks = [], {}
    for c in cases:
        code, out, err, peak = run_capped(shop.db_url, _argv(c), tmp_path)
        peaks[c.name] = peak
        p = _problem(c, code, out, err)
        if p is None and peak > PEAK_RSS_LIMIT_MB:
            p = f"peak memory {peak:.0f} MB"
        if p is None and _counts(uow) != before:
            p = "wrote something"
        if p:
            failures.append(f"{c.name}: {p}")
    assert not failures, "\n".join(failures)
    with capsys.disabled():
        top = max(peaks.values())
        print(f"\n[fault] bad input ({backend}), own process under a {MEMORY_CAP >> 20} MB cap: {len(cases)} hostile files refused; "
              f"peak RSS at most {top:.0f} MB ({', '.join(f'{k} {v:.0f}' for k, v in peaks.items())})")


def test_hostile_files_in_own_process(shop, uow, corpus, backend, tmp_path, capsys):
    cases = [c for c in corpus if c.isolated]
    if backend == "postgresql" and not RUN_ALL:
        cases = [c for c in cases if c.name in PG_ISOLATED]
    _run_isolated(shop, uow, cases, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.skipif(not RUN_ALL, reason="larger variant: make test-all (CRM_TEST_ALL=1)")
def test_huge_hostile_files_in_own_process(shop, uow, tmp_path, capsys):
    """A real 1,048,576-row workbook and a 3 GB zip bomb."""
    cases = build(tmp_path / "big", slow=True)
    assert cases
    _run_isolated(shop, uow, cases, tmp_path, capsys)
