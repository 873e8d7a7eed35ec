"""crm coupon."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="In-store coupons: use at the counter, cancel.", no_args_is_help=True)
