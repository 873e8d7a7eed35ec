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
]
