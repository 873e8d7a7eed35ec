"""crm orders."""

from __future__ import annotations

import typer

from crm_cli.cli.context import state  # noqa: F401

app = typer.Typer(help="Marketplace orders (LINE SHOPPING, MyShop): import, sync.", no_args_is_help=True)
