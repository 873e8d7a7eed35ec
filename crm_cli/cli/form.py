"""crm form."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Registration form: terms and conditions, questions, sign-up link.", no_args_is_help=True)
