"""`crm promo`: pools of unique promo codes, one code per person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.options import out_option, segment_option, whole
from crm_cli.cli.run import apply, export, listing, write

app = typer.Typer(help="Unique promo codes: load or generate a pool, issue one per person, redeem.",
                  no_args_is_help=True, rich_markup_mode=None)

PoolArg = Annotated[str, typer.Argument(help="Promo pool name.")]
POOL_COLUMNS = ["name", "codes", "issued", "redeemed", "free", "created_at"]


@app.command("load")
def promo_load(
    ctx: typer.Context,
    name: PoolArg,
    codes: Annotated[Optional[Path], typer.Option("--codes", help="File with one code a line (or a CSV whose first column is the code).")] = None,
    generate: Annotated[Optional[int], typer.Option("--generate", parser=whole("--generate", 1, 1_000_000), metavar="N", help="Generate N random codes.")] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="With --generate: the codes start with this.")] = "",
) -> None:
    """Add codes to a pool (created if new): from a file, or generated. A code already in
    the store is refused, and then nothing is loaded.

    Example: crm promo load NEWYEAR --generate 1000 --prefix NY-
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import promos as svc

    if (codes is None) == (generate is None):
        raise InvalidInput("give exactly one of --codes FILE or --generate N")
    if prefix and generate is None:
        raise InvalidInput("--prefix goes with --generate")
    if codes is not None:
        from crm_cli.fileio.text import read_text

        values = svc.parse_codes(read_text(codes, what="--codes"))
    elif generate is not None:
        values = svc.generate(generate, prefix)
    st, res = write(ctx, svc.load, name=name, codes=values,
                    audit=lambda res: f"loaded {len(values)} promo codes into pool '{res.name}'")
    st.info(f"{len(values)} code(s) loaded")
    st.render(res, columns=POOL_COLUMNS)


listing(app, "promos:list_pools", columns=POOL_COLUMNS,
        help="Promo pools: codes, issued, redeemed, free.\n\nExample: crm promo list")


@app.command("issue")
def promo_issue(ctx: typer.Context, name: PoolArg,
                segment: Annotated[str, segment_option("Everybody in this segment gets a code.")]) -> None:
    """Issue one code to each person in the segment who has none from this pool yet
    (never twice; recorded). Refused when the pool has too few free codes.

    Example: crm promo issue NEWYEAR --segment coffee-gold
    """
    from crm_cli.services import promos as svc

    apply(ctx, svc.issue, name=name, segment=segment,
          audit=lambda res: f"issued {res.newly_issued} promo codes from '{res.pool}' to segment '{res.segment}'")


@app.command("export")
def promo_export(ctx: typer.Context, name: PoolArg,
                 out: Annotated[Path, out_option(".csv", ".xlsx", help="Write the pool's codes and who holds them to FILE.")]) -> None:
    """Write every code of a pool, its state and holder, to CSV or XLSX.

    Example: crm promo export NEWYEAR --out newyear.csv
    """
    from crm_cli.services import promos as svc

    export(ctx, svc.export, name=name, path=out, rows="code(s)")


@app.command("redeem")
def promo_redeem(ctx: typer.Context, code: Annotated[str, typer.Argument(help="The promo code shown at the counter.")]) -> None:
    """Mark an issued code used (once).

    Example: crm promo redeem NY-7KQ2M9XD
    """
    from crm_cli.services import promos as svc

    apply(ctx, svc.redeem, code=code, audit=lambda res: f"redeemed promo code {res.code} ({res.pool})")
