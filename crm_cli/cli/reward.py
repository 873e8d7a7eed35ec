"""crm reward."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Rewards: in-store coupons, deliveries, code pools; redeem.", no_args_is_help=True)
