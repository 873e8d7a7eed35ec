"""The migrations and the models agree: Alembic's autogenerate, run against a database
built by the migrations alone, finds nothing to add, drop or change (SQLite and PostgreSQL)."""

from __future__ import annotations


def _differences(engine) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import crm_cli.db.models  # noqa: F401 - registers every table on the metadata

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diffs = compare_metadata(ctx, SQLModel.metadata)
        conn.rollback()
    return diffs


def test_models_and_migrations_agree(engine):
    from crm_cli.db.schema import HEADS, current_revisions

    assert current_revisions(engine) == set(HEADS)
    diffs = _differences(engine)
    assert diffs == [], "models and migrations differ (write a migration):\n" + "\n".join(map(str, diffs))


def test_the_comparison_sees_a_difference(engine):
    """The check is live: a column the models do not know is reported."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE branch ADD COLUMN stray_note VARCHAR(20)"))
    try:
        diffs = _differences(engine)
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE branch DROP COLUMN stray_note"))
    assert any(d[0] == "remove_column" and d[3].name == "stray_note" for d in diffs if isinstance(d, tuple)), diffs
