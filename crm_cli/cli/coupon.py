"""crm coupon: use at the counter, cancel."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import BranchOpt, StaffOpt
from crm_cli.cli.run import apply

app = typer.Typer(help="In-store coupons: use at the counter, cancel.", no_args_is_help=True)

CodeArg = Annotated[str, typer.Argument(help="Coupon code (case, spaces and dashes are ignored).")]


@app.command("use")
def coupon_use(ctx: typer.Context, code: CodeArg, staff: StaffOpt = None, branch: BranchOpt = None) -> None:
    """Mark an in-store coupon used (any branch of the store; branch and staff are recorded).

    Example: crm coupon use K7QW-M3PX --staff 089-123-4567
    """
    from crm_cli.services import rewards

    apply(ctx, rewards.use_coupon, code=code, staff=staff, branch=branch,
          audit=lambda info: f"coupon {info.code} used ({info.reward})")


@app.command("cancel")
def coupon_cancel(ctx: typer.Context, code: CodeArg) -> None:
    """Cancel an unused coupon: the points come back as a refund entry and the stock is returned.

    Example: crm coupon cancel K7QWM3PX
    """
    from crm_cli.services import rewards

    apply(ctx, rewards.cancel_coupon, code=code, actor=state(ctx).actor_name(),
          audit=lambda info: f"coupon {info.code} cancelled; {info.points_returned} points returned")
