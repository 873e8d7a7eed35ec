"""crm delivery."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Reward deliveries: list, update status, export.", no_args_is_help=True)
