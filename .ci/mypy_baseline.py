"""mypy over crm_cli with a baseline: fail on any error that is not in .ci/mypy-baseline.txt.

crm_cli/domain is strict (pyproject.toml) and has no baseline entries: every error there
fails. Elsewhere the errors that existed when the check was introduced are listed in the
baseline (file, code and message; line numbers left out so edits above them do not
matter); a new one fails. Almost all of them are how mypy reads SQLModel tables: a column
attribute typed as its Python value (``select(Member.id)``, ``Member.id.in_(...)``,
``Model.col == x`` seen as ``bool``, ``tx.store.id`` of an optional). `python
.ci/mypy_baseline.py --update` rewrites the baseline: after errors were fixed, or, reviewed
one by one, for new errors of those SQLModel kinds only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
LINE = re.compile(r"^(?P<file>[^:]+):\d+(?::\d+)?: error: (?P<msg>.*)$")


def current() -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "mypy", "crm_cli", "--no-pretty", "--no-error-summary"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"mypy itself failed (exit {proc.returncode})")
    keys = []
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m:
            keys.append(f"{m['file']}: {m['msg']}")
    return sorted(keys)


def main() -> int:
    now = current()
    if "--update" in sys.argv:
        BASELINE.write_text("".join(f"{k}\n" for k in now), encoding="utf-8")
        print(f"{BASELINE.relative_to(ROOT)}: {len(now)} known errors")
        return 0
    known = Counter(BASELINE.read_text(encoding="utf-8").splitlines()) if BASELINE.exists() else Counter()
    new = Counter(now) - known
    domain = [k for k in now if k.startswith("crm_cli/domain/")]
    fixed = sum((known - Counter(now)).values())
    for key in sorted(set(domain) | set(new.elements())):
        print(f"new mypy error: {key}")
    if domain or new:
        print(f"mypy: {len(domain)} error(s) in crm_cli/domain (strict), {sum(new.values())} new elsewhere; "
              f"run `make lint` locally, fix them (see `.venv/bin/mypy crm_cli` for line numbers)")
        return 1
    print(f"mypy: no new errors ({len(now)} known elsewhere, {fixed} fixed since the baseline"
          + ("; `python .ci/mypy_baseline.py --update` to shrink it" if fixed else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
