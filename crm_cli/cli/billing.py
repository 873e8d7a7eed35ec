"""crm billing."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Subscription and billing: subscribe, Pro, cancel, resume, invoices.", no_args_is_help=True)
