"""crm tier: on/off, cycle, set, remove, list, history, recalc."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state
from crm_cli.cli.options import PhoneArg, whole
from crm_cli.cli.run import apply

app = typer.Typer(help="Tiers: on/off, cycle, thresholds, recalculation, history.", no_args_is_help=True)

LIST_COLUMNS = ["rank", "name", "threshold", "benefits", "members"]
MOVE_COLUMNS = ["phone", "name", "old_tier", "new_tier", "earned_points", "direction"]
HISTORY_COLUMNS = ["at", "old_tier", "new_tier", "earned_points", "reason"]


def _switch(ctx: typer.Context, enabled: bool) -> None:
    from crm_cli.services import tiers

    apply(ctx, tiers.set_enabled, enabled=enabled, with_now=False,
          audit=lambda info: "tiers switched " + ("on" if enabled else "off"))


@app.command("on")
def tier_on(ctx: typer.Context) -> None:
    """Switch tiers on (members are lifted as they earn; run `tier recalc` to place everyone now).

    Example: crm tier on
    """
    _switch(ctx, True)


@app.command("off")
def tier_off(ctx: typer.Context) -> None:
    """Switch tiers off: tiers are hidden and frozen; tiers, members' tiers and history are kept.

    Example: crm tier off
    """
    _switch(ctx, False)


@app.command("cycle")
def tier_cycle(
    ctx: typer.Context,
    months: Annotated[int, typer.Argument(parser=whole("MONTHS"), metavar="MONTHS", help="Months of earned points that decide the tier (1-24).")],
) -> None:
    """Set the tier cycle: the tier follows points earned in the last MONTHS months.

    Example: crm tier cycle 12
    """
    from crm_cli.services import tiers

    apply(ctx, tiers.set_cycle, months=months, with_now=False,
          audit=lambda info: f"tier cycle set to {months} months")


@app.command("set")
def tier_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(autocompletion=complete.tiers, help="Tier name (created if new, updated if it exists).")],
    threshold: Annotated[int, typer.Option("--threshold", "-t", parser=whole("--threshold"), metavar="POINTS", help="Points earned in the cycle needed to reach this tier.")],
    benefits: Annotated[Optional[str], typer.Option("--benefits", help="Benefits text shown to members ('' clears).")] = None,
) -> None:
    """Create or update a tier (at most 5; thresholds strictly increasing by rank).

    Example: crm tier set Gold --threshold 1000 --benefits "5% off every bill"
    """
    from crm_cli.services import tiers

    st = state(ctx)
    with st.transaction() as tx:
        info = tiers.set_tier(tx.session, store_id=tx.store.id, name=name, threshold=threshold, benefits=benefits, now=st.now())
        tx.audit(f"{'created' if info.created else 'updated'} tier {info.name} at {info.threshold} points")
    if not info.created:
        st.info("existing members keep their tier until `crm tier recalc` (earning still lifts at once)")
    if not info.tiers_enabled:
        st.info("tiers are switched off for this store: `crm tier on` to use them")
    st.render(info)


@app.command("remove")
def tier_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(autocompletion=complete.tiers, help="Tier to remove.")]) -> None:
    """Remove a tier; its members drop to the tier their earned points allow (kept in tier history).

    Example: crm tier remove Platinum
    """
    from crm_cli.services import tiers

    st = state(ctx)
    with st.transaction() as tx:
        info = tiers.remove_tier(tx.session, store_id=tx.store.id, name=name, now=st.now())
        tx.audit(f"removed tier {info.name}; {info.members_moved} member(s) moved")
    st.info(f"removed tier {info.name}; {info.members_moved} member(s) moved")
    st.render(list(info.moves), columns=MOVE_COLUMNS)


@app.command("list")
def tier_list(ctx: typer.Context) -> None:
    """List tiers by rank with their thresholds, benefits and member counts.

    Example: crm tier list --format json
    """
    from crm_cli.services import tiers

    st = state(ctx)
    with st.reading() as tx:
        conf = tiers.settings(tx.session, store_id=tx.store.id)
        rows = tiers.list_tiers(tx.session, store_id=tx.store.id)
    st.info(
        f"tiers are {'on' if conf.tiers_enabled else 'off (hidden from members; `crm tier on` to show them)'}; "
        f"cycle {conf.tier_cycle_months} months"
    )
    st.render(rows, columns=LIST_COLUMNS)


@app.command("history")
def tier_history(ctx: typer.Context, phone: PhoneArg) -> None:
    """Show a member's tier changes (earn lifts, recalculations, removed tiers).

    Example: crm tier history 081-234-5678
    """
    from crm_cli.services import tiers

    st = state(ctx)
    with st.reading() as tx:
        rows = tiers.history(tx.session, store_id=tx.store.id, phone_raw=phone)
    st.render(rows, columns=HISTORY_COLUMNS)


#: moves a table lists by default (the counts always cover every move)
SHOWN_MOVES = 20
#: formats that are data for other programs: every move unless --limit says otherwise
_DATA_FORMATS = ("json", "csv")


@app.command("recalc")
def tier_recalc(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List who would move; write nothing.")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Evaluate at this date (00:00 Bangkok) or date-time instead of now; a future moment needs --dry-run.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit"), metavar="N", help=f"List at most N moves (default: {SHOWN_MOVES} in a table, every move with --format json/csv).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help=f"List every move (a table lists the first {SHOWN_MOVES} by default).")] = False,
) -> None:
    """Recalculate every member's tier (upgrades and downgrades): counts, then the moves. Idempotent; for cron.

    The counts always cover every member; a table (also plain, markdown) lists the first 20
    moves (--limit N, --all for every move); --format json or csv lists every move unless
    --limit is given.

    Example: crm --quiet tier recalc --as-of 2026-12-01
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.domain.plain import bangkok_minute
    from crm_cli.services import tiers

    st = state(ctx)
    if show_all and limit is not None:
        raise InvalidInput("--all and --limit cannot be used together: pick one")
    if show_all:
        shown: int | None = None
    elif limit is not None:
        shown = limit
    else:
        shown = None if (st.fmt or "table") in _DATA_FORMATS else SHOWN_MOVES
    now = st.now()
    moment = st.as_of(as_of, dry_run=dry_run, now=now)
    with st.transaction(dry_run=dry_run) as tx:
        res = tiers.recalc(tx.session, store_id=tx.store.id, as_of=moment, now=now, dry_run=dry_run, limit=shown)
        tx.audit(f"tier recalc as of {bangkok_minute(moment)} Bangkok: {res.upgrades} up, {res.downgrades} down")
    verb = "would move" if dry_run else "moved"
    st.info(f"{res.moved} of {res.members} member(s) {verb}: {res.upgrades} up, {res.downgrades} down"
            + (" (dry run: nothing written)" if dry_run else ""))
    if len(res.moves) < res.moved:
        st.info(f"listing the first {len(res.moves)} of {res.moved} moves: --all lists every move "
                "(`crm tier history PHONE` shows a member's moves)")
    st.render(list(res.moves), columns=MOVE_COLUMNS)
