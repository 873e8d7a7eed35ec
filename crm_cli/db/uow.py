"""One unit of work per command: a session whose transaction commits or rolls back whole."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def unit_of_work(engine, *, write: bool = True, dry_run: bool = False) -> Iterator["Session"]:  # noqa: F821
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
