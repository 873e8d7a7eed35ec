"""Alembic environment: the engine comes from crm (config.attributes["engine"]), else from
the database layer's own URL resolution (--db is not available here: CRM_DATABASE_URL or the
embedded default)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import crm_cli.db.models  # noqa: F401  (registers the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # run by the alembic tool itself: the database crm would use
        from crm_cli.db.engine import make_engine, resolve_url

        engine = make_engine(resolve_url(None))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a SQLite table (copy, drop, rename). With foreign keys
            # enforced, dropping a table that other rows reference is refused, so enforcement is
            # off while the scripts run (it can only be switched outside a transaction) and every
            # key is checked before the commit instead.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            connection.info["crm_begin"] = "IMMEDIATE"  # the writer's lock from the start
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
                # SQLite's DDL is transactional, though Alembic assumes otherwise and commits
                # after each script: one transaction for the whole upgrade, so a failure at
                # any revision leaves the database as it was.
                transactional_ddl=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.info.pop("crm_begin", None)
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection) -> None:
    """Refuse (and so roll back) an upgrade that would leave a row pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        from crm_cli.domain.errors import DatabaseError

        tables = sorted({row[0] for row in broken})
        raise DatabaseError(f"the upgrade would leave {len(broken)} row(s) of {', '.join(tables)} "
                            "pointing at rows that do not exist; nothing was changed")


run_migrations_online()
