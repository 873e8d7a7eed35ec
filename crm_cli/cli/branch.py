"""crm branch: add, list, rename, close."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state

app = typer.Typer(help="Branches of the current store (unlimited).", no_args_is_help=True)

COLUMNS = ["name", "status", "staff", "created_at", "closed_at"]


@app.command("add")
def branch_add(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Branch name.")]) -> None:
    """Add a branch. Example: crm branch add "Siam Square\""""
    from crm_cli.services import stores

    st = state(ctx)
    with st.transaction() as tx:
        info = stores.add_branch(tx.session, store_id=tx.store.id, name=name, now=st.now())
        tx.audit(f"added branch {info.name}")
    st.render(info)


@app.command("list")
def branch_list(ctx: typer.Context) -> None:
    """List branches, open and closed. Example: crm branch list --format csv"""
    from crm_cli.services import stores

    st = state(ctx)
    with st.reading() as tx:
        rows = stores.list_branches(tx.session, store_id=tx.store.id)
    st.render(rows, columns=COLUMNS)


@app.command("rename")
def branch_rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(autocompletion=complete.branches, help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a branch. Example: crm branch rename Siam "Siam Square\""""
    from crm_cli.services import stores

    st = state(ctx)
    with st.transaction() as tx:
        info = stores.rename_branch(tx.session, store_id=tx.store.id, old=old, new=new)
        tx.audit(f"renamed branch {old} to {new}")
    st.render(info)


@app.command("close")
def branch_close(ctx: typer.Context, name: Annotated[str, typer.Argument(autocompletion=complete.branches, help="Branch to close.")]) -> None:
    """Close a branch (its history is kept; move its staff first). Example: crm branch close "Old Town\""""
    from crm_cli.services import stores

    st = state(ctx)
    with st.transaction() as tx:
        info = stores.close_branch(tx.session, store_id=tx.store.id, name=name, now=st.now())
        tx.audit(f"closed branch {name}")
    st.render(info)
