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
    """Base of every expected error. ``str(err)`` is the one-line message.

    A subclass states what it means in its class line: ``code`` (exit code), ``label``
    (the word before the message, and the JSON error name), ``http`` (status on the web)
    and, for the class that introduces an exit code, ``meaning`` (its line in the README's
    table). What a subclass does not state of ``code``, ``label`` and ``http``, it inherits;
    ``meaning`` belongs to the class that states it (a subclass sharing its parent's code
    adds no README row).
    """

    exit_code: int = ExitCode.INTERNAL
    label = "error"
    http: int = 400
    meaning: str | None = None

    def __init_subclass__(cls, *, code: int | None = None, label: str | None = None, http: int | None = None,
                          meaning: str | None = None, **kw: object) -> None:
        super().__init_subclass__(**kw)
        for attr, value in (("exit_code", code), ("label", label), ("http", http)):
            if value is not None:
                setattr(cls, attr, value)
        cls.meaning = meaning

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CrmError, code=ExitCode.NOT_FOUND, label="not found", http=404,
               meaning="not found: unknown store, branch, staff, member, reward, token"):
    """An unknown store, branch, staff member, member, reward or token."""


class Conflict(CrmError, code=ExitCode.CONFLICT, label="refused", http=409,
               meaning="refused by a business rule or conflict: duplicate, insufficient points, out of stock, "
                       "already used, already running"):
    """A business rule or uniqueness rule refuses the request."""


class InsufficientPoints(Conflict, label="insufficient points"):
    """The balance is smaller than the points asked for."""


class OutOfStock(Conflict, label="out of stock"):
    """The reward has no stock (or no codes) left."""


class AlreadyRunning(Conflict, label="already running"):
    """The same job is running for the store right now."""


class InvalidInput(CrmError, code=ExitCode.INVALID_INPUT, label="invalid input", http=422,
                   meaning="invalid input: bad value or bad input file (nothing was written)"):
    """A bad argument value or a bad input file."""


class PermissionDenied(CrmError, code=ExitCode.NOT_ALLOWED, label="not allowed", http=403,
                       meaning="not allowed: the acting staff member's role or branch does not permit it"):
    """The acting staff member's role or branch does not permit the action."""


class StoreSuspended(CrmError, code=ExitCode.STORE_SUSPENDED, label="store suspended", http=403,
                     meaning="store suspended: the store's CRM service is not active"):
    """The store's CRM service is off (not subscribed, cancelled or unpaid)."""


class DatabaseError(CrmError, code=ExitCode.DATABASE, label="database", http=503,
                    meaning="database unreachable, damaged, read-only or full, or schema not upgraded "
                            "(run `crm db upgrade`); nothing was written"):
    """The database cannot be reached or is at the wrong schema revision."""


class DatabaseBusy(DatabaseError, code=ExitCode.DATABASE_BUSY, label="database busy",
                   meaning="database busy: another process held its write lock past the 30 s timeout; "
                           "nothing was written, try again"):
    """Another process held the database's write lock past the busy timeout (30 s)."""


class Declined(CrmError, code=ExitCode.DECLINED, label="declined",
               meaning="declined: the confirmation was answered no (or not at all); nothing was done"):
    """The operator declined a confirmation, or gave no answer: nothing was done."""


class Interrupted(CrmError, code=ExitCode.INTERRUPTED, label="interrupted",
                  meaning="interrupted (Ctrl-C): the unfinished command was rolled back"):
    """Ctrl-C (SIGINT): the unfinished command rolled back."""


class CheckFailed(CrmError, code=ExitCode.CHECK_FAILED, label="check failed", http=500,
                  meaning="an integrity check found a breach, or a maintenance job failed"):
    """An integrity check found a breach, or a maintenance job failed."""


class UpstreamError(CrmError, code=ExitCode.UPSTREAM, label="LINE platform", http=502,
                    meaning="the LINE platform refused the request or did not answer (nothing was written)"):
    """The LINE platform refused a request or did not answer in time."""


def _documented(cls: type[CrmError]) -> list[type[CrmError]]:
    out = [cls] if cls.meaning else []
    for sub in cls.__subclasses__():
        out += _documented(sub)
    return out


#: The documented exit codes, by code: the codes no error class carries, then each class's
#: ``meaning``. The README's "Exit codes" table is generated from this list
#: (``crm exit-codes --readme README.md``; a test fails when they differ).
EXIT_CODES: list[tuple[int, str]] = sorted(
    [(ExitCode.SUCCESS, "success"),
     (ExitCode.INTERNAL, "internal error (unexpected; rerun with `--debug` for the traceback)"),
     (ExitCode.USAGE, "usage error: unknown command or option, missing argument")]
    + [(cls.exit_code, cls.meaning or "") for cls in _documented(CrmError)]
)


def exit_code_table() -> str:
    """The README's exit-code table (markdown), from EXIT_CODES."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_CODES]
    return "\n".join(rows) + "\n"


def http_status(err: CrmError) -> int:
    """The same errors on the web (``crm serve``): the class's ``http`` status (400 unless
    the class or one it extends says otherwise)."""
    return err.http


def error_name(err: CrmError) -> str:
    """The exit-code name as a JSON-friendly word: 'not_found', 'insufficient_points' ..."""
    return err.label.lower().replace(" ", "_")

