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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
