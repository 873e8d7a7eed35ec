"""crm points."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Points: earning rule, expiry policy, give, balance, history, adjust, QR claims, expiry job, checks.", no_args_is_help=True)
