"""`crm apikey`: keys for the counter API (POST /api/v1/points/give on `crm serve`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.options import whole
from crm_cli.cli.run import apply, show, write

app = typer.Typer(help="Counter API keys, one per branch device: create (shown once), list, revoke.",
                  no_args_is_help=True, rich_markup_mode=None)


@app.command("create")
def apikey_create(
    ctx: typer.Context,
    branch: Annotated[str, typer.Option("--branch", "-b", autocompletion=complete.branches, help="The branch the key gives points at.")],
    label: Annotated[Optional[str], typer.Option("--label", help="What the key is for, e.g. 'POS 1'.")] = None,
) -> None:
    """Create a key for a branch. The key is printed once; only its hash is stored.

    Example: crm apikey create --branch Siam --label "POS 1"
    """
    from crm_cli.services import apikeys

    st, res = write(ctx, apikeys.create, branch=branch, label=label,
                    audit=lambda res: f"created API key {res.id} for branch {res.branch}")
    st.info("store the key now: it is not shown again (revoke it and create another if lost)")
    st.render(res)


@app.command("list")
def apikey_list(ctx: typer.Context) -> None:
    """The store's API keys (prefix only), with last use and revocation.

    Example: crm apikey list
    """
    from crm_cli.services import apikeys

    show(ctx, apikeys.list_keys, columns=["id", "branch", "prefix", "label", "created_at", "last_used_at", "revoked_at"])


@app.command("revoke")
def apikey_revoke(ctx: typer.Context, key_id: Annotated[int, typer.Argument(parser=whole("ID", 1), metavar="ID", help="The key's id (see list).")]) -> None:
    """Revoke a key: the counter API refuses it from now on.

    Example: crm apikey revoke 3
    """
    from crm_cli.services import apikeys

    apply(ctx, apikeys.revoke, key_id=key_id, audit=lambda res: f"revoked API key {res.id} ({res.branch})")
