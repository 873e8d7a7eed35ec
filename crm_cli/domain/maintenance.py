"""Pure rules of the nightly run: which jobs ``--only`` selects."""

from __future__ import annotations

from typing import Sequence

from crm_cli.domain.errors import InvalidInput


def parse_only(raw: list[str] | None, jobs: Sequence[str]) -> list[str]:
    """The jobs named by ``--only`` (repeatable, comma-separated), in the run's own order;
    every job when none is named. An unknown name is invalid input."""
    if not raw:
        return list(jobs)
    wanted = []
    for part in raw:
        for name in part.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in jobs:
                raise InvalidInput(f"unknown maintenance job '{name}': use one of {', '.join(jobs)}")
            if name not in wanted:
                wanted.append(name)
    return [j for j in jobs if j in wanted]
