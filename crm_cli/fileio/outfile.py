"""Output files: one meaning of ``--out FILE`` and one way to write it.

* :func:`check_out` is the ``--out`` vocabulary: the format is the file's extension, one of
  the extensions the command can write (``.csv``, ``.xlsx``, ``.json``, ``.png``, ``.pdf``);
  anything else, or a target whose folder is missing or is not a folder, is refused with
  one line (exit 5) before the command does any work.
* :func:`atomic_write` writes every output file: to a temporary file beside the target,
  renamed into place when complete. A missing folder is an error (never created
  silently), and any failure -- a file where a folder should be, no permission, a
  read-only or pseudo file system, a full disk -- is one :class:`InvalidInput` line that
  names the file, with nothing left behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from crm_cli.domain.errors import InvalidInput

#: every extension an output file can have, and what it holds
FORMATS = {".csv": "CSV (UTF-8 with BOM)", ".xlsx": "Excel workbook", ".json": "JSON",
           ".png": "PNG image", ".pdf": "PDF document"}

T = TypeVar("T")


def _allowed(extensions: Sequence[str]) -> str:
    exts = list(extensions)
    return exts[0] if len(exts) == 1 else ", ".join(exts[:-1]) + " or " + exts[-1]


def check_target(path: Path) -> Path:
    """The folder must exist and be a folder; the target must not be a folder."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InvalidInput(f"cannot write {path}: it is a folder")
    if not parent.exists():
        # a path through a regular file (members.csv/x.xlsx) is "not a folder", not "missing"
        for up in parent.parents:
            if up.exists():
                if not up.is_dir():
                    raise InvalidInput(f"cannot write {path}: {up} is a file, not a folder")
                break
        raise InvalidInput(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise InvalidInput(f"cannot write {path}: {parent} is a file, not a folder")
    return path


def check_out(path: Path | str, extensions: Sequence[str], *, option: str = "--out") -> Path:
    """``path`` if its extension is one of ``extensions`` and it can be created (see module)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in extensions:
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InvalidInput(f"{option} {path}: cannot write {got}; name the file {_allowed(extensions)}")
    return check_target(path)


def atomic_write(path: Path | str, write: Callable[[str], T]) -> T:
    """Run ``write(tmp_name)`` on a temporary file beside ``path`` (same extension), then
    rename it into place. Returns what ``write`` returned. On any failure the temporary
    file is removed; an operating-system error becomes one line naming ``path``."""
    path = check_target(Path(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent if str(path.parent) else ".")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        result = write(tmp)
        os.replace(tmp, path)
        return result
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
