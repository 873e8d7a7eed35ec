"""crm orders: import a marketplace feed, sync points, list orders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import DryRunOpt, whole
from crm_cli.cli.run import current_store_id

app = typer.Typer(help="Marketplace orders (LINE SHOPPING, MyShop): import, sync.", no_args_is_help=True)

COLUMNS = ["channel", "order_id", "phone", "paid_at", "amount", "status", "refund_amount", "state",
           "points_awarded", "points_clawed", "state_reason"]


@app.command("import")
def orders_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Order feed, .csv or .json (see docs/order-feed.md).", readable=False)],
    channel: Annotated[str, typer.Option("--channel", "-c", help="line-shopping or myshop.")],
) -> None:
    """Store the orders of a feed (all or nothing; re-importing changes nothing; a new status updates the order).

    Every bad row is reported on stderr with its row, column and reason.
    Example: crm orders import sample_data/orders-line-shopping.csv --channel line-shopping
    """
    from crm_cli.services import orders

    st = state(ctx)
    try:
        with st.transaction(allow_suspended=True) as tx:  # feeds are kept while the service is off (until purge)
            result = orders.import_orders(tx.session, store_id=current_store_id(tx), channel=channel, path=file, now=st.now())
            tx.audit(f"imported {file.name} ({channel}): {result.new} new, {result.updated} updated")
    except orders.FeedRejected as exc:
        for err in exc.errors:
            typer.echo(str(err), err=True)
        raise
    st.info("run `crm orders sync` to award points (maintenance does it daily)")
    st.render(result)


@app.command("sync")
def orders_sync(
    ctx: typer.Context,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Judge orders paid up to this moment (default now), e.g. 2026-12-01T19:00; a future moment needs --dry-run.")] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Award points for paid orders (once per order) and claw back cancelled or refunded ones.

    Example: crm orders sync --as-of 2026-12-01T19:00
    """
    from crm_cli.services import orders

    st = state(ctx)
    when = st.as_of(as_of, dry_run=dry_run)
    with st.transaction(dry_run=dry_run, allow_suspended=True) as tx:  # orders paid while it was on still earn
        result = orders.sync_store(tx.session, store_id=current_store_id(tx), as_of=when, actor=st.actor_name())
        tx.audit(result.summary)
    if result.skipped:
        st.info(f"nothing synced: {result.skipped}")
    elif result.service:
        st.info(f"service not active ({result.service}): {result.waiting} orders paid while it was off wait")
    st.render(result)


@app.command("list")
def orders_list(
    ctx: typer.Context,
    state_: Annotated[Optional[str], typer.Option("--state", help="new | awarded | not_eligible | reversed.")] = None,
    limit: Annotated[int, typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="Show at most this many orders.")] = 1000,
) -> None:
    """List the store's marketplace orders and what they earned.

    Example: crm --format json orders list --state not_eligible
    """
    from crm_cli.services import orders

    st = state(ctx)
    with st.reading(allow_suspended=True) as tx:  # shows why orders wait while the service is off
        rows = orders.list_orders(tx.session, store_id=current_store_id(tx), state=state_, limit=limit)
    st.render(rows, columns=COLUMNS)
