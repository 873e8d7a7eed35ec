"""crm report."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Reports: summary, liability, expiring points.", no_args_is_help=True)
