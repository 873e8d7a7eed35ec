"""Where SQLite and PostgreSQL differ, decided once: services ask here instead of testing
``dialect.name`` themselves.

* row locks: PostgreSQL takes ``SELECT ... FOR UPDATE``; SQLite needs none, every write
  transaction already holds the database's write lock (``BEGIN IMMEDIATE``);
* insert-or-ignore: ``INSERT ... ON CONFLICT DO NOTHING`` through each dialect's own
  ``insert`` construct (both databases support it);
* ``FOR UPDATE`` on a query, and ``FOR UPDATE SKIP LOCKED`` for work queues, PostgreSQL only.

``bind`` is anything with a dialect: a Session, a Connection or an Engine.
"""

from __future__ import annotations

from typing import Any

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def name(bind: Any) -> str:
    """'postgresql' or 'sqlite'."""
    get_bind = getattr(bind, "get_bind", None)
    if get_bind is not None:  # a Session
        bind = get_bind()
    return bind.dialect.name


def is_postgresql(bind: Any) -> bool:
    return name(bind) == POSTGRESQL


def is_sqlite(bind: Any) -> bool:
    return name(bind) == SQLITE


def insert(bind: Any, table: Any):
    """The dialect's own INSERT for ``table`` (it has ``on_conflict_do_nothing``)."""
    if is_postgresql(bind):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def insert_ignore(bind: Any, table: Any, *, constraint: str | None = None,
                  index_elements: list[str] | None = None):
    """INSERT that skips rows breaking a unique constraint (named, or the given columns;
    neither: any unique constraint)."""
    stmt = insert(bind, table)
    if constraint is not None and is_postgresql(bind):
        return stmt.on_conflict_do_nothing(constraint=constraint)
    return stmt.on_conflict_do_nothing(index_elements=index_elements)


def lock_row(session: Any, table: str, row_id: int, *, keys_too: bool = True) -> None:
    """Hold ``table``'s row ``row_id`` until the transaction ends (PostgreSQL); on SQLite the
    write transaction already excludes every other writer. ``keys_too=False`` lets rows
    that reference it still be written meanwhile (``FOR NO KEY UPDATE``: lockers still wait
    for each other, but not the foreign-key checks of other writers, e.g. a long import)."""
    if is_postgresql(session):
        from sqlalchemy import text

        mode = "UPDATE" if keys_too else "NO KEY UPDATE"
        session.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR {mode}"), {"id": row_id})


def for_update(query: Any, bind: Any) -> Any:
    """``query`` with FOR UPDATE on PostgreSQL; unchanged on SQLite (the write lock serializes)."""
    return query.with_for_update() if is_postgresql(bind) else query


def skip_locked(query: Any, bind: Any) -> Any:
    """``query`` with FOR UPDATE SKIP LOCKED on PostgreSQL; unchanged on SQLite."""
    return query.with_for_update(skip_locked=True) if is_postgresql(bind) else query
