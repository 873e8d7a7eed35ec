"""Shared Annotated options, so every command spells them the same way."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from crm_cli.cli import complete
from crm_cli.domain.errors import InvalidInput

PhoneArg = Annotated[str, typer.Argument(help="Phone number in any Thai form, e.g. 081-234-5678 or +66812345678.")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", "-b", autocompletion=complete.branches, help="Branch name.")]
StaffOpt = Annotated[Optional[str], typer.Option("--staff", help="Phone of the staff member acting (checked against role and branch).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Do the work and show the result, then roll everything back.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


# ---------------------------------------------------------------- output files
# `--out FILE` means one thing on every command: write FILE, in the format its extension
# names (.csv, .xlsx, .json, .png, .pdf -- those the command can make). Another extension,
# or a folder that does not exist, is one line and exit 5 before any work is done.


def out_path(*extensions: str, option: str = "--out") -> Callable[[Any], Path]:
    """Parser for an output-file option that takes ``extensions``."""

    def parse(raw: Any) -> Path:
        from crm_cli.fileio.outfile import check_out

        return check_out(Path(raw), extensions, option=option)

    return parse


def out_option(*extensions: str, help: str) -> Any:
    """``--out FILE`` / ``-o FILE`` for a command that writes ``extensions``."""
    return typer.Option("--out", "-o", parser=out_path(*extensions), metavar="FILE",
                        help=f"{help} The extension picks the format: {', '.join(extensions)}.")


def segment_option(help: str) -> Any:
    """``--segment NAME``: a saved segment of the current store (names complete on TAB)."""
    return typer.Option("--segment", autocompletion=complete.segments, help=help)


PngOutOpt = Annotated[Optional[Path], out_option(".png", help="Also write the QR code to this file.")]
QrOpt = Annotated[Optional[Path], typer.Option("--qr", parser=out_path(".png", option="--qr"), metavar="FILE",
                                               help="The same as --out FILE.png.")]


# ---------------------------------------------------------------- numbers at the edge
# Every amount and count option parses through one of these, so each refuses exponents
# (1e3), NaN, infinities, signs where none belong and out-of-range values the same way:
# one line naming the option, exit 5 (InvalidInput), before any database work.

#: the largest count any option takes (database integers are 32-bit on PostgreSQL)
MAX_COUNT = 1_000_000_000
_WHOLE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,10})", re.ASCII)
_DECIMAL = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.\d{1,12})?", re.ASCII)
_RATE = re.compile(r"\d{1,3}(?:\.\d{1,12})?%?", re.ASCII)


def whole(option: str, lo: int = 0, hi: int = MAX_COUNT, *, words: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """Parser for a whole-number option in [lo, hi]: digits (thousands commas allowed) and a
    sign only when ``lo`` is negative. ``words`` (e.g. 'unlimited') pass through lower-cased,
    and then a number passes through as its canonical text, for services that take both."""
    span = f"from {lo:,} to {hi:,}"

    def parse(raw: Any) -> Any:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        else:
            text = str(raw).strip()
            if text.lower() in words:
                return text.lower()
            if not _WHOLE.fullmatch(text) or (lo >= 0 and text.startswith("-")):
                alt = f" or {'/'.join(words)}" if words else ""
                raise InvalidInput(f"{option} must be a whole number {span}{alt}, got '{raw}'")
            value = int(text.replace(",", ""))
        if not lo <= value <= hi:
            raise InvalidInput(f"{option} must be a whole number {span}, got '{raw}'")
        return str(value) if words else value

    return parse


def amount(option: str, *, what: str | None = None, example: str = "350 or 349.75",
           check: Callable[[str, str], Decimal] | None = None) -> Callable[[Any], Decimal]:
    """Parser for a positive THB amount: plain digits (thousands commas allowed) with a
    decimal point, never an exponent, NaN or infinity; then ``check`` (default: the
    domain's amount rule, at most 2 decimals and a plausible size) decides the value.
    ``what`` names it in messages (default: the option)."""
    label = what or option

    def parse(raw: Any) -> Decimal:
        if isinstance(raw, Decimal):
            return raw
        text = str(raw).strip()
        if not _DECIMAL.fullmatch(text.removeprefix("-")):
            raise InvalidInput(f"invalid {label} '{raw}': give an amount in THB like {example}")
        if check is not None:
            return check(text, label)
        from crm_cli.domain.points import parse_amount

        return parse_amount(text, what=label)

    return parse


def fine_amount(places: int, hi: Decimal) -> Callable[[str, str], Decimal]:
    """A ``check`` for amounts finer than satang (the value of one point: 0.0125)."""

    def check(text: str, label: str) -> Decimal:
        value = Decimal(text.replace(",", ""))
        if value <= 0:
            raise InvalidInput(f"{label} must be greater than 0, got {text}")
        if value > hi:
            raise InvalidInput(f"{label} {text} is implausibly large (over {hi} THB)")
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise InvalidInput(f"{label} '{text}' has more than {places} decimal places")
        return value

    return check


def rate(option: str) -> Callable[[Any], str]:
    """Parser for a fraction or percentage ('0.2', '20%'); the service checks 0..1."""

    def parse(raw: Any) -> str:
        text = str(raw).strip()
        if not _RATE.fullmatch(text):
            raise InvalidInput(f"invalid {option} '{raw}': give a fraction like 0.2 or a percentage like 20%")
        return text

    return parse


LimitOpt = Annotated[int, typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="Show at most this many rows.")]
