"""Shared Annotated options, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

PhoneArg = Annotated[str, typer.Argument(help="Phone number in any Thai form, e.g. 081-234-5678 or +66812345678.")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", "-b", help="Branch name.")]
StaffOpt = Annotated[Optional[str], typer.Option("--staff", help="Phone of the staff member acting (checked against role and branch).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Do the work and show the result, then roll everything back.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Write to this file; the format follows the extension.")]
QrOpt = Annotated[Optional[Path], typer.Option("--qr", help="Also write the QR code to this PNG file.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many rows.")]
