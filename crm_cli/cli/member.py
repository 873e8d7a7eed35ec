"""crm member."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Members: register, show, list, tags, notes, erasure, template, import, export.", no_args_is_help=True)
