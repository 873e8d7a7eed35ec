"""crm points: earning rule, expiry policy, give, balance, history, adjust, QR claims, expiry job, check."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import ENV_STORE, state
from crm_cli.cli.options import MAX_COUNT, BranchOpt, DryRunOpt, PhoneArg, PngOutOpt, StaffOpt, amount, out_option, whole
from crm_cli.cli.run import apply
from crm_cli.domain.redact import mask_phone

app = typer.Typer(
    help="Points: earning rule, expiry policy, give, balance, history, adjust, QR claims, expiry job, checks.",
    no_args_is_help=True,
)
expiry_app = typer.Typer(
    help="Expiry policy of the store: rolling N months, year-end, or never (applies to points earned afterwards).",
    no_args_is_help=True,
)
app.add_typer(expiry_app, name="expiry")

SpendOpt = Annotated[Decimal, typer.Option("--spend", parser=amount("--spend", what="spend"), metavar="THB", help="Amount spent in THB, at most 2 decimals, e.g. 349.75.")]
HISTORY_COLUMNS = ["id", "at", "kind", "points", "spend", "channel", "branch", "staff", "reason"]
LOT_COLUMNS = ["entry_id", "kind", "earned_at", "points", "remaining", "expires_on"]
EXPIRE_COLUMNS = ["store", "lots_expired", "points_expired", "members", "as_of"]
CHECK_COLUMNS = ["check", "breaches", "description"]
BREACH_COLUMNS = ["check", "entry_id", "member_id", "detail"]


# ---------------------------------------------------------------- rule and expiry


@app.command("rule")
def points_rule(
    ctx: typer.Context,
    points: Annotated[Optional[int], typer.Option("--points", parser=whole("--points", 1), metavar="X", help="X: points given per Y THB.")] = None,
    per: Annotated[Optional[Decimal], typer.Option("--per", parser=amount("--per", what="--per amount"), metavar="THB", help="Y: THB spent per X points (a spend below Y earns 0).")] = None,
    welcome: Annotated[Optional[int], typer.Option("--welcome", parser=whole("--welcome"), metavar="N", help="Welcome points on registration (once per phone, ever).")] = None,
) -> None:
    """Show or set the earning rule: X points per Y THB, rounded down, and welcome points.

    Without options it shows the rule and the expiry policy.

    Example: crm points rule --points 1 --per 25 --welcome 50
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    if points is None and per is None and welcome is None:
        with st.reading() as tx:
            info = svc.show_rule(tx.session, store_id=tx.store.id)
    else:
        with st.transaction() as tx:
            info = svc.set_rule(tx.session, store_id=tx.store.id, points=points, per=per, welcome=welcome)
            tx.audit(f"earning rule: {info.rule}; welcome {info.welcome_points}")
    st.render(info)


def _set_expiry(ctx: typer.Context, policy: str, months: int | None) -> None:
    from crm_cli.services import points as svc

    apply(ctx, svc.set_expiry, policy=policy, months=months, with_now=False,
          audit=lambda info: f"expiry policy: {info.expiry}")


@expiry_app.command("rolling")
def expiry_rolling(
    ctx: typer.Context,
    months: Annotated[int, typer.Argument(parser=whole("MONTHS"), metavar="MONTHS", help="1 to 24 months after the day earned.")],
) -> None:
    """Points expire at the end of the Bangkok day N calendar months after the day earned
    (31 Jan + 1 month = end of 28/29 Feb).

    Example: crm points expiry rolling 12
    """
    _set_expiry(ctx, "rolling", months)


@expiry_app.command("year-end")
def expiry_year_end(ctx: typer.Context) -> None:
    """Points expire at the end of 31 December (Bangkok) of the year they were earned.

    Example: crm points expiry year-end
    """
    _set_expiry(ctx, "year_end", None)


@expiry_app.command("never")
def expiry_never(ctx: typer.Context) -> None:
    """Points never expire.

    Example: crm points expiry never
    """
    _set_expiry(ctx, "never", None)


# ---------------------------------------------------------------- give, balance, history, adjust


@app.command("give")
def points_give(
    ctx: typer.Context,
    phone: PhoneArg,
    spend: SpendOpt,
    branch: BranchOpt = None,
    staff: StaffOpt = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Idempotency key (e.g. the receipt number): the same key twice gives once.")] = None,
) -> None:
    """Give points for a purchase, computed from the earning rule. A phone that is not a
    registered member collects points as a phone-only account.

    Example: crm points give 081-234-5678 --spend 350 --branch Siam --key R-1001
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    with st.transaction() as tx:
        res = svc.give_for_spend(tx.session, store_id=tx.store.id, phone=phone, spend=spend, branch=branch,
                                 staff=staff, key=key, now=st.now(), actor=st.actor_name())
        tx.audit(f"{'replayed' if res.duplicate else 'gave'} {res.points} points to {mask_phone(res.phone)} for {res.spend:.2f} THB"
                 + (f" (key {key})" if key else ""))
    if res.duplicate:
        st.info(f"key '{key}' was used before: nothing new was written; showing the original entry")
    st.render(res)


@app.command("balance")
def points_balance(
    ctx: typer.Context,
    phone: PhoneArg,
    lots: Annotated[int, typer.Option("--lots", parser=whole("--lots"), metavar="N", help="Show at most this many lots.")] = 10,
) -> None:
    """Balance now, and the lots that make it up in spending order (soonest-expiring first).

    Example: crm points balance 0812345678
    """
    from crm_cli.services import balance as svc  # plain SQL: no model classes to build at start-up

    st = state(ctx)
    with st.reading(core=True) as tx:
        info = svc.balance(tx.conn, store_id=tx.store.id, phone=phone, now=st.now(), limit=lots)
    import dataclasses

    from crm_cli.cli.render import Document, Section

    summary = {f.name: getattr(info, f.name) for f in dataclasses.fields(info) if f.name != "lots"}
    st.render(Document([Section("balance", summary), Section("lots (spent soonest-expiring first)", info.lots, LOT_COLUMNS)], whole=info))


@app.command("history")
def points_history(
    ctx: typer.Context,
    phone: PhoneArg,
    limit: Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="Only the newest N entries.")] = None,
) -> None:
    """Every ledger entry of a phone's account, oldest first.

    Example: crm --format csv points history 0812345678
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    with st.reading() as tx:
        rows = svc.history(tx.session, store_id=tx.store.id, phone=phone, limit=limit)
    st.render(rows, columns=HISTORY_COLUMNS)


@app.command("adjust")
def points_adjust(
    ctx: typer.Context,
    phone: PhoneArg,
    points: Annotated[int, typer.Option("--points", parser=whole("--points", -MAX_COUNT, MAX_COUNT), metavar="N", help="Points to add, or to take when negative (e.g. --points -50).")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in the ledger.")],
    staff: StaffOpt = None,
) -> None:
    """Correct a balance by hand (admin only), with a reason. A negative adjustment larger
    than the balance is refused.

    Example: crm points adjust 0812345678 --points -20 --reason "double scan on receipt R-1001"
    """
    from crm_cli.services import points as svc

    apply(ctx, svc.adjust, phone=phone, points=points, reason=reason, staff=staff, actor=state(ctx).actor_name(),
          audit=lambda res: f"adjusted {mask_phone(res.phone)} by {res.points:+d} points: {res.reason}")


# ---------------------------------------------------------------- QR claims


@app.command("qr")
def points_qr(
    ctx: typer.Context,
    spend: SpendOpt,
    branch: Annotated[str, typer.Option("--branch", "-b", autocompletion=complete.branches, help="Branch of the sale.")],
    staff: StaffOpt = None,
    valid_minutes: Annotated[int, typer.Option("--valid-minutes", parser=whole("--valid-minutes", 1, 1440), metavar="N", help="Minutes the code can be claimed (1-1440).")] = 15,
    out: PngOutOpt = None,
) -> None:
    """Make a single-use QR code for a sale: the customer claims the points once.

    Prints the token and link; draws the QR in the terminal and writes a PNG with --out.

    Example: crm points qr --spend 350 --branch Siam --out claim.png
    """
    from crm_cli.fileio import qr as qrmod
    from crm_cli.services import points as svc

    st = state(ctx)
    with st.transaction() as tx:
        ticket = svc.make_qr(tx.session, store_id=tx.store.id, spend=spend, branch=branch, staff=staff,
                             valid_minutes=valid_minutes, now=st.now())
        tx.audit(f"QR claim for {ticket.points} points ({ticket.spend:.2f} THB) at {ticket.branch}")
    qrmod.show(ticket.link, png=out, tty=sys.stdout.isatty() and not st.quiet, echo=lambda m: typer.echo(m, err=True))
    st.render(ticket)


@app.command("claim")
def points_claim(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="The claim token (or the whole claim link).")],
    phone: Annotated[str, typer.Option("--phone", help="Phone that receives the points.")],
) -> None:
    """Claim the points of a QR code (once; an expired or already claimed code is refused).

    Example: crm points claim 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b --phone 0812345678
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    with st.transaction(store=False) as tx:
        store_id, res = svc.claim_qr(tx.session, token=token, phone=phone, now=st.now(), actor=st.actor_name())
        tx.audit(f"QR claim: {res.points} points to {mask_phone(res.phone)}", store_id=store_id)
    st.render(res)


# ---------------------------------------------------------------- the job and the check


@app.command("expire")
def points_expire(
    ctx: typer.Context,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Expire what had expired by this date/time (Bangkok; default now); a future moment needs --dry-run.")] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """The expiry job: writes an expire entry for the unspent rest of every expired lot.

    Runs for every store, or only the one given with --store / CRM_STORE. Safe to run
    twice or late: entries are dated at each lot's own expiry.

    Example: crm --quiet points expire --as-of 2026-12-01
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    moment = st.as_of(as_of, dry_run=dry_run) if as_of else None
    one_store = bool(st.store_slug or os.environ.get(ENV_STORE))
    with st.transaction(store=one_store, allow_suspended=True, dry_run=dry_run) as tx:
        # a dry run may look ahead: it runs as if at that moment and is rolled back
        rows = svc.run_expiry(tx.session, now=moment if dry_run and moment else st.now(), as_of=moment,
                              store_id=tx.store.id if one_store else None, actor=st.actor_name())
        total = sum(r.points_expired for r in rows)
        tx.audit(f"expired {total} points in {sum(r.lots_expired for r in rows)} lots")
    st.info(f"{'would expire' if dry_run else 'expired'} {total} points in {sum(r.lots_expired for r in rows)} lots "
            f"across {len(rows)} store(s)" + (" (dry run: nothing written)" if dry_run else ""))
    st.render(rows, columns=EXPIRE_COLUMNS)


@app.command("check")
def points_check(ctx: typer.Context) -> None:
    """Recompute every ledger invariant of the store and report breaches (exit 9 on any).

    Example: crm points check
    """
    from crm_cli.services import points as svc

    st = state(ctx)
    with st.reading(allow_suspended=True) as tx:
        report = svc.check_store(tx.session, store_id=tx.store.id, now=st.now())
    from crm_cli.cli.render import Document, Section

    summary = {"store": report.store, "entries": report.entries, "lots": report.lots, "accounts": report.accounts,
               "points_open": report.points_balance, "lots_awaiting_expiry": report.pending_expiry_lots,
               "breaches": sum(c.breaches for c in report.checks)}
    sections = [Section("ledger check", summary), Section("checks", report.checks, CHECK_COLUMNS)]
    if report.breaches:
        sections.append(Section("breaches", report.breaches, BREACH_COLUMNS))
    st.render(Document(sections, whole=report))
    svc.raise_if_breached(report)


@app.command("export")
def points_export(
    ctx: typer.Context,
    out: Annotated[Path, out_option(".csv", ".xlsx", help="The file to write.")],
    date_from: Annotated[Optional[str], typer.Option("--from", help="First Bangkok day to include (YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last Bangkok day to include (YYYY-MM-DD).")] = None,
) -> None:
    """Export the points ledger (every entry, oldest first) to CSV or XLSX; formulas are neutralized.

    Example: crm points export --out ledger.xlsx --from 2026-11-01 --to 2026-11-30
    """
    from crm_cli.domain.timeutil import parse_day
    from crm_cli.services import exports

    st = state(ctx)
    first = parse_day(date_from) if date_from else None
    last = parse_day(date_to) if date_to else None
    with st.reading() as tx:
        with st.progress(None, f"exporting {out.name}") as bar:
            res = exports.export_ledger(tx.session, store_id=tx.store.id, path=out, date_from=first, date_to=last, progress=bar)
    st.info(f"{res.rows} ledger entries written to {res.file}")
    st.render(res)
