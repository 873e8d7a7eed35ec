"""crm db: upgrade and status of the schema (Alembic migrations shipped in the package)."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state

app = typer.Typer(help="Database schema: upgrade, status.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema to this version's newest revision. Example: crm --db postgresql+psycopg://u@host/crm db upgrade"""
    from crm_cli.db.schema import upgrade

    st = state(ctx)
    engine = st.engine(check_schema=False)
    before, after = upgrade(engine)
    st.info("schema is up to date" if before == after else "schema upgraded")
    st.render({"database": st.target().safe_url, "before": sorted(before or []), "after": sorted(after)})


@app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the database URL (no password), its revision and this version's newest. Example: crm db status --format json"""
    from crm_cli.db.schema import HEADS, current_revisions

    st = state(ctx)
    engine = st.engine(check_schema=False)
    revs = current_revisions(engine)
    st.render({
        "database": st.target().safe_url,
        "dialect": engine.dialect.name,
        "current": sorted(revs or []),
        "head": sorted(HEADS),
        "up_to_date": revs == set(HEADS),
    })
