"""crm branch: add, list, rename, close."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import complete
from crm_cli.cli.run import apply, show

app = typer.Typer(help="Branches of the current store (unlimited).", no_args_is_help=True)

COLUMNS = ["name", "status", "staff", "created_at", "closed_at"]


@app.command("add")
def branch_add(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Branch name.")]) -> None:
    """Add a branch. Example: crm branch add "Siam Square\""""
    from crm_cli.services import stores

    apply(ctx, stores.add_branch, name=name, audit=lambda info: f"added branch {info.name}")


@app.command("list")
def branch_list(ctx: typer.Context) -> None:
    """List branches, open and closed. Example: crm branch list --format csv"""
    from crm_cli.services import stores

    show(ctx, stores.list_branches, columns=COLUMNS)


@app.command("rename")
def branch_rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(autocompletion=complete.branches, help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a branch. Example: crm branch rename Siam "Siam Square\""""
    from crm_cli.services import stores

    apply(ctx, stores.rename_branch, old=old, new=new, with_now=False,
          audit=lambda info: f"renamed branch {old} to {new}")


@app.command("close")
def branch_close(ctx: typer.Context, name: Annotated[str, typer.Argument(autocompletion=complete.branches, help="Branch to close.")]) -> None:
    """Close a branch (its history is kept; move its staff first). Example: crm branch close "Old Town\""""
    from crm_cli.services import stores

    apply(ctx, stores.close_branch, name=name, audit=lambda info: f"closed branch {name}")
