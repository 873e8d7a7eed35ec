"""crm delivery: list, update, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import StaffOpt, out_option, whole
from crm_cli.cli.run import current_store_id, read, show

app = typer.Typer(help="Reward deliveries: list, update status, export.", no_args_is_help=True)

COLUMNS = ["id", "reward", "phone", "name", "address", "status", "carrier", "tracking", "created_at", "updated_at"]
StatusFilter = Annotated[Optional[str], typer.Option("--status", help="Only this status: pending|preparing|shipped|delivered|cancelled.")]


@app.command("list")
def delivery_list(ctx: typer.Context, status: StatusFilter = None) -> None:
    """List reward deliveries. Example: crm delivery list --status pending"""
    from crm_cli.services import rewards

    show(ctx, rewards.list_deliveries, status=status, columns=COLUMNS)


@app.command("update")
def delivery_update(
    ctx: typer.Context,
    delivery_id: Annotated[int, typer.Argument(parser=whole("ID", 1, 2_147_483_647), metavar="ID", help="Delivery id (from `crm delivery list`).")],
    status: Annotated[str, typer.Option("--status", help="preparing|shipped|delivered|cancelled.")],
    carrier: Annotated[Optional[str], typer.Option("--carrier", help="Carrier (required for shipped).")] = None,
    tracking: Annotated[Optional[str], typer.Option("--tracking", help="Tracking number (required for shipped).")] = None,
    staff: StaffOpt = None,
) -> None:
    """Move a delivery: pending -> preparing -> shipped -> delivered; cancel (from pending or preparing)
    returns the points and the stock.

    Example: crm delivery update 12 --status shipped --carrier "Kerry Express" --tracking KEX123456789
    """
    from crm_cli.services import rewards

    st = state(ctx)
    with st.transaction() as tx:
        info = rewards.update_delivery(tx.session, store_id=current_store_id(tx), delivery_id=delivery_id, status=status,
                                       now=st.now(), carrier=carrier, tracking=tracking, staff=staff,
                                       actor=st.actor_name())
        tx.audit(f"delivery {info.id} -> {info.status}")
    st.render(info)


@app.command("export")
def delivery_export(
    ctx: typer.Context,
    out: Annotated[Path, out_option(".xlsx", help="The file to write.")],
    status: StatusFilter = None,
) -> None:
    """Export deliveries to an .xlsx for the shipping team.

    Example: crm delivery export --out deliveries.xlsx --status preparing
    """
    from crm_cli.services import rewards

    st, n = read(ctx, rewards.export_deliveries, out=out, status=status)
    st.info(f"wrote {n} deliveries to {out}")
    st.render({"file": str(out), "rows": n})
