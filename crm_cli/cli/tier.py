"""crm tier."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Tiers: on/off, cycle, thresholds, recalculation, history.", no_args_is_help=True)
