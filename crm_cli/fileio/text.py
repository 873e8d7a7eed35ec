"""Small text files given on the command line (terms and conditions, code lists)."""

from __future__ import annotations

from pathlib import Path

from crm_cli.domain.errors import InvalidInput


def read_text(path: Path, *, what: str) -> str:
    """The file's text (UTF-8, BOM allowed), or one clear bad-input error."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None
