"""One error family for the whole tool, and the one table of exit codes.

Services raise these; ``crm_cli.cli.app`` turns them into one line on stderr
and the exit code below. Nothing else decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code of ``crm``, by name (tests and scripts use these, not numbers)."""

    SUCCESS = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    INVALID_INPUT = 5
    NOT_ALLOWED = 6
    STORE_SUSPENDED = 7
    DATABASE = 8
    CHECK_FAILED = 9
    UPSTREAM = 10
    DATABASE_BUSY = 11
    DECLINED = 12
    INTERRUPTED = 130


class CrmError(Exception):
    """Base of every expected error. ``str(err)`` is the one-line message."""

    exit_code: int = ExitCode.INTERNAL
    label = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CrmError):
    exit_code = ExitCode.NOT_FOUND
    label = "not found"


class Conflict(CrmError):
    """A business rule or uniqueness rule refuses the request."""

    exit_code = ExitCode.CONFLICT
    label = "refused"


class InsufficientPoints(Conflict):
    label = "insufficient points"


class OutOfStock(Conflict):
    label = "out of stock"


class AlreadyRunning(Conflict):
    label = "already running"


class InvalidInput(CrmError):
    """A bad argument value or a bad input file."""

    exit_code = ExitCode.INVALID_INPUT
    label = "invalid input"


class PermissionDenied(CrmError):
    exit_code = ExitCode.NOT_ALLOWED
    label = "not allowed"


class StoreSuspended(CrmError):
    exit_code = ExitCode.STORE_SUSPENDED
    label = "store suspended"


class DatabaseError(CrmError):
    """The database cannot be reached or is at the wrong schema revision."""

    exit_code = ExitCode.DATABASE
    label = "database"


class DatabaseBusy(DatabaseError):
    """Another process held the database's write lock past the busy timeout (30 s)."""

    exit_code = ExitCode.DATABASE_BUSY
    label = "database busy"


class Declined(CrmError):
    """The operator declined a confirmation, or gave no answer: nothing was done."""

    exit_code = ExitCode.DECLINED
    label = "declined"


class Interrupted(CrmError):
    """Ctrl-C (SIGINT): the unfinished command rolled back."""

    exit_code = ExitCode.INTERRUPTED
    label = "interrupted"


class CheckFailed(CrmError):
    """An integrity check found a breach, or a maintenance job failed."""

    exit_code = ExitCode.CHECK_FAILED
    label = "check failed"


class UpstreamError(CrmError):
    """The LINE platform refused a request or did not answer in time."""

    exit_code = ExitCode.UPSTREAM
    label = "LINE platform"


#: The documented exit codes: the README's "Exit codes" table is generated from this list
#: (``crm exit-codes --readme README.md``; a test fails when they differ).
EXIT_CODES: list[tuple[int, str]] = [
    (ExitCode.SUCCESS, "success"),
    (ExitCode.INTERNAL, "internal error (unexpected; rerun with `--debug` for the traceback)"),
    (ExitCode.USAGE, "usage error: unknown command or option, missing argument"),
    (NotFound.exit_code, "not found: unknown store, branch, staff, member, reward, token"),
    (Conflict.exit_code, "refused by a business rule or conflict: duplicate, insufficient points, out of stock, already used, already running"),
    (InvalidInput.exit_code, "invalid input: bad value or bad input file (nothing was written)"),
    (PermissionDenied.exit_code, "not allowed: the acting staff member's role or branch does not permit it"),
    (StoreSuspended.exit_code, "store suspended: the store's CRM service is not active"),
    (DatabaseError.exit_code, "database unreachable, damaged, read-only or full, or schema not upgraded (run `crm db upgrade`); nothing was written"),
    (CheckFailed.exit_code, "an integrity check found a breach, or a maintenance job failed"),
    (UpstreamError.exit_code, "the LINE platform refused the request or did not answer (nothing was written)"),
    (DatabaseBusy.exit_code, "database busy: another process held its write lock past the 30 s timeout; nothing was written, try again"),
    (Declined.exit_code, "declined: the confirmation was answered no (or not at all); nothing was done"),
    (Interrupted.exit_code, "interrupted (Ctrl-C): the unfinished command was rolled back"),
]


def exit_code_table() -> str:
    """The README's exit-code table (markdown), from EXIT_CODES."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_CODES]
    return "\n".join(rows) + "\n"


#: The same errors on the web (``crm serve``): HTTP status per error class, beside the
#: exit codes. The most specific class listed wins; unlisted CrmErrors are 400.
HTTP_STATUS: list[tuple[type[CrmError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (PermissionDenied, 403),
    (StoreSuspended, 403),
    (DatabaseError, 503),
    (CheckFailed, 500),
    (UpstreamError, 502),
]


def http_status(err: CrmError) -> int:
    for cls in type(err).__mro__:
        for known, status in HTTP_STATUS:
            if cls is known:
                return status
    return 400


def error_name(err: CrmError) -> str:
    """The exit-code name as a JSON-friendly word: 'not_found', 'insufficient_points' ..."""
    return err.label.lower().replace(" ", "_")

