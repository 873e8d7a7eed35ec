"""Reading a reward's code pool file: one code per line, or the first column of a CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from crm_cli.domain.errors import InvalidInput


def read_codes(path: Path) -> list[str]:
    """Codes from a text file (one per line; blank lines and '#' comments skipped) or a CSV
    (first column; a header cell 'code' is skipped)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    codes: list[str] = []
    if path.suffix.lower() == ".csv":
        for i, row in enumerate(csv.reader(io.StringIO(content))):
            cell = row[0].strip() if row else ""
            if i == 0 and cell.lower() in ("code", "codes", "coupon", "coupon code"):
                continue
            if cell:
                codes.append(cell)
    else:
        for line in content.splitlines():
            s = line.strip()
            if s and not s.startswith("#"):
                codes.append(s)
    for c in codes:
        if len(c) > 200 or any(ch.isspace() for ch in c):
            raise InvalidInput(f"invalid code '{c[:40]}': codes are at most 200 characters without spaces")
    return codes
