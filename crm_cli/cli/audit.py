"""crm audit: read the audit trail of mutating commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import LimitOpt
from crm_cli.cli.run import current_store_id

app = typer.Typer(help="Audit trail: who changed what, when.", no_args_is_help=True)


@app.command("list")
def audit_list(
    ctx: typer.Context,
    limit: LimitOpt = 50,
    command: Annotated[Optional[str], typer.Option("--command", help="Only commands starting with this, e.g. 'points'.")] = None,
    all_stores: Annotated[bool, typer.Option("--all-stores", help="Every store, not only the current one.")] = False,
) -> None:
    """List audit records, newest first. Example: crm audit list --command points --limit 20"""
    from crm_cli.services.audit import list_audit

    st = state(ctx)
    with st.reading(store=not all_stores, allow_suspended=True) as tx:
        rows = list_audit(tx.session, store_id=None if all_stores else current_store_id(tx), limit=limit, command=command)
    st.render(rows, columns=["id", "created_at", "actor", "command", "store", "summary"])
