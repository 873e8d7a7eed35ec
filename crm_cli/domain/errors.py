"""One error family for the whole tool, and the one table of exit codes.

Services raise these; ``crm_cli.cli.app`` turns them into one line on stderr
and the exit code below. Nothing else decides exit codes.
"""

from __future__ import annotations


class CrmError(Exception):
    """Base of every expected error. ``str(err)`` is the one-line message."""

    exit_code = 1
    label = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CrmError):
    exit_code = 3
    label = "not found"


class Conflict(CrmError):
    """A business rule or uniqueness rule refuses the request."""

    exit_code = 4
    label = "refused"


class InsufficientPoints(Conflict):
    label = "insufficient points"


class OutOfStock(Conflict):
    label = "out of stock"


class AlreadyRunning(Conflict):
    label = "already running"


class InvalidInput(CrmError):
    """A bad argument value or a bad input file."""

    exit_code = 5
    label = "invalid input"


class PermissionDenied(CrmError):
    exit_code = 6
    label = "not allowed"


class StoreSuspended(CrmError):
    exit_code = 7
    label = "store suspended"


class DatabaseError(CrmError):
    """The database cannot be reached or is at the wrong schema revision."""

    exit_code = 8
    label = "database"


class CheckFailed(CrmError):
    """An integrity check found a breach, or a maintenance job failed."""

    exit_code = 9
    label = "check failed"


class UpstreamError(CrmError):
    """The LINE platform refused a request or did not answer in time."""

    exit_code = 10
    label = "LINE platform"


#: The documented exit codes (README "Exit codes" is generated from the same facts).
EXIT_CODES: list[tuple[int, str]] = [
    (0, "success"),
    (1, "internal error (unexpected; rerun with --debug for the traceback)"),
    (2, "usage error: unknown command or option, missing argument (from the CLI parser)"),
    (NotFound.exit_code, "not found: unknown store, branch, staff, member, reward, token ..."),
    (Conflict.exit_code, "refused by a business rule or conflict: duplicate, insufficient points, out of stock, already used, already running"),
    (InvalidInput.exit_code, "invalid input: bad value or bad input file (nothing was written)"),
    (PermissionDenied.exit_code, "not allowed: the acting staff member's role or branch does not permit it"),
    (StoreSuspended.exit_code, "store suspended: the store's CRM service is not active"),
    (DatabaseError.exit_code, "database unreachable or schema not upgraded (run `crm db upgrade`)"),
    (CheckFailed.exit_code, "an integrity check found a breach, or a maintenance job failed"),
    (UpstreamError.exit_code, "the LINE platform refused the request or did not answer (nothing was written)"),
]


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

