"""crm maintenance."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Nightly maintenance jobs for cron.", no_args_is_help=True)
