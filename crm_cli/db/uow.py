"""One unit of work per command: one transaction that commits or rolls back whole.

``unit_of_work`` yields an ORM session; ``connection`` yields the same transaction as a
SQLAlchemy Core connection, for set-based bulk work that needs no ORM (the member
import, which must start fast). Both begin, commit and roll back the same way.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # imported only by the functions that use them (start-up)
    from sqlalchemy.engine import Connection
    from sqlmodel import Session


@contextmanager
def unit_of_work(engine, *, write: bool = True, dry_run: bool = False) -> Iterator["Session"]:
    """Yield a Session in one transaction.

    ``write`` takes the write lock at BEGIN on SQLite (``BEGIN IMMEDIATE``) so two
    processes never interleave a read-check-write; ``dry_run`` does the same work and
    rolls it back. Services flush, never commit.
    """
    from sqlmodel import Session

    with engine.connect() as conn:
        conn.info["crm_begin"] = "IMMEDIATE" if write else "DEFERRED"
        session = Session(bind=conn, expire_on_commit=False, autoflush=True)
        try:
            yield session
            if write and not dry_run:
                session.commit()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            conn.info.pop("crm_begin", None)


@contextmanager
def connection(engine, *, write: bool = True, dry_run: bool = False) -> Iterator["Connection"]:
    """Yield a Core connection in one transaction, with the rules of :func:`unit_of_work`:
    ``BEGIN IMMEDIATE`` on SQLite when ``write``, commit at the end unless ``dry_run`` or
    an error, which roll back."""
    with engine.connect() as conn:
        conn.info["crm_begin"] = "IMMEDIATE" if write else "DEFERRED"
        trans = conn.begin()
        try:
            yield conn
            if write and not dry_run:
                trans.commit()
            else:
                trans.rollback()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
        finally:
            conn.info.pop("crm_begin", None)


def execute(bind, statement, params: dict | None = None):
    """Run a Core statement (``text()`` with typed columns) in the unit of work, on its ORM
    Session or its Core connection. A Session flushes first, as its own ORM queries do
    (``Session.execute`` does not autoflush for a Core statement), so the query sees what
    the transaction has added."""
    if getattr(bind, "autoflush", False):
        bind.flush()
    return bind.execute(statement, params or {})
