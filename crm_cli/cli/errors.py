"""Turn unexpected exceptions into one clear line (the traceback only under --debug)."""

from __future__ import annotations

import errno

from crm_cli.domain.errors import Conflict, DatabaseError, ExitCode

_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def current_db_url() -> str | None:
    """The database URL of this invocation (the last one a command opened)."""
    from crm_cli.cli.context import current_url

    return current_url()


def describe_unexpected(exc: BaseException) -> tuple[int, str]:
    try:
        from sqlalchemy.exc import DBAPIError, IntegrityError
    except ImportError:  # pragma: no cover
        return ExitCode.INTERNAL, f"internal error: {exc.__class__.__name__}: {exc}; rerun with --debug"
    if isinstance(exc, IntegrityError):
        return Conflict.exit_code, "refused: the change conflicts with existing data (a duplicate or a concurrent update); nothing was written"
    if isinstance(exc, DBAPIError):
        from crm_cli.db.engine import _first_line, describe_db_error, safe_url

        url = current_db_url()
        known = describe_db_error(exc, url)
        if known is not None:
            return known.exit_code, known.message
        where = f" ({safe_url(url)})" if url else ""
        return DatabaseError.exit_code, f"database error{where}: {_first_line(exc)}; nothing was written"
    if isinstance(exc, OSError):
        name = getattr(exc, "filename", None)
        if exc.errno in _DISK_FULL:  # a file other than the database (which is described above)
            return ExitCode.INVALID_INPUT, (f"cannot write {name or 'a file'}: the disk is full or a file-size limit was "
                                            f"reached: free some space, then run the command again")
        if exc.errno in _READ_ONLY and name:
            return ExitCode.INVALID_INPUT, f"cannot write {name}: {exc.strerror} (the file or its directory is read-only for this user)"
        return ExitCode.INTERNAL, f"{exc.strerror or exc}: {name}" if name else f"system error: {exc}"
    return ExitCode.INTERNAL, f"internal error: {exc.__class__.__name__}: {exc}; rerun with --debug for the traceback"
