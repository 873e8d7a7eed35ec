"""Turn unexpected exceptions into one clear line (the traceback only under --debug)."""

from __future__ import annotations

from crm_cli.domain.errors import Conflict, DatabaseError


def describe_unexpected(exc: BaseException) -> tuple[int, str]:
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError
    except ImportError:  # pragma: no cover
        return 1, f"internal error: {exc.__class__.__name__}: {exc}; rerun with --debug"
    if isinstance(exc, IntegrityError):
        return Conflict.exit_code, "refused: the change conflicts with existing data (a duplicate or a concurrent update); nothing was written"
    if isinstance(exc, OperationalError):
        orig = str(getattr(exc, "orig", exc)).strip().splitlines()
        first = orig[0] if orig else exc.__class__.__name__
        if "locked" in first:
            return DatabaseError.exit_code, f"database is busy ({first}); try again"
        return DatabaseError.exit_code, f"database error: {first}"
    if isinstance(exc, OSError):
        return 1, f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else f"system error: {exc}"
    return 1, f"internal error: {exc.__class__.__name__}: {exc}; rerun with --debug for the traceback"
