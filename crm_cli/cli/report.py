"""crm report: summary, liability, expiring."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import amount, fine_amount, out_option, rate, whole
from crm_cli.cli.run import current_store, current_store_id, read
from crm_cli.domain.reports import parse_rate

app = typer.Typer(help="Reports: summary, liability, expiring points.", no_args_is_help=True)

SECTIONS = ("members", "monthly", "rewards", "branches", "staff")
MONTH_COLS = ["month", "issued", "imported", "redeemed", "expired", "reversed", "net", "active_members"]
REWARD_COLS = ["reward", "kind", "redeemed", "cancelled", "points", "members"]
BRANCH_COLS = ["branch", "issued", "imported", "redeemed", "spend", "transactions", "members"]
STAFF_COLS = ["staff", "phone", "branch", "issued", "redeemed", "spend", "transactions"]
BUCKET_COLS = ["expires", "points", "members", "lots", "value", "deferred"]
EXPIRING_COLS = ["phone", "name", "registered", "points", "expires_on", "balance"]


def _section_cb(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in SECTIONS:
        raise typer.BadParameter(f"must be one of: {', '.join(SECTIONS)}")
    return value


def _emit_sections(st, sections: list[tuple[str, object, list[str] | None]]) -> None:
    """Several titled tables as one document (csv: a '# name' line before each block)."""
    from crm_cli.cli.render import Document, Section

    st.render(Document([Section(name, rows, cols) for name, rows, cols in sections]))


def _chart_series(rep) -> tuple[str, ...]:
    """The monthly point series to draw: imported opening balances only when the range has some."""
    return ("issued", "imported", "redeemed", "expired") if rep.totals.imported else ("issued", "redeemed", "expired")


@app.command("summary")
def report_summary(
    ctx: typer.Context,
    date_from: Annotated[Optional[str], typer.Option("--from", help="First Bangkok day (YYYY-MM-DD); default: the 1st of the month 11 months ago.")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last Bangkok day, inclusive (YYYY-MM-DD); default: today.")] = None,
    section: Annotated[Optional[str], typer.Option("--section", help="Only one table: members|monthly|rewards|branches|staff.", callback=_section_cb)] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Bar charts of the monthly series under the table view.")] = True,
    out: Annotated[Optional[Path], out_option(".png", ".json", help="Also write the report: a chart of the monthly series (.png) or the whole report (.json).")] = None,
) -> None:
    """Members, points issued / redeemed / expired per Bangkok month, active members, redemptions by reward, per branch and per staff. Example: crm report summary --from 2026-01-01 --to 2026-06-30 --out summary.png"""
    from crm_cli.domain.timeutil import parse_day
    from crm_cli.services import reports

    st = state(ctx)
    d_from = parse_day(date_from) if date_from else None
    d_to = parse_day(date_to) if date_to else None
    with st.reading() as tx:
        rep = reports.summary(tx.session, store_id=current_store_id(tx), store_slug=current_store(tx).slug, now=st.now(),
                              date_from=d_from, date_to=d_to)
    fmt = st.fmt or "table"
    if out is not None and out.suffix.lower() == ".json":
        from crm_cli.cli.render import write_json

        write_json(out, rep)
        st.info(f"report written to {out}")
    elif out is not None:
        from crm_cli.fileio.charts import write_png

        months = [m.month for m in rep.monthly]
        write_png(out, title=f"{rep.store}: points per month, {rep.date_from} to {rep.date_to}", months=months,
                  series={name: [getattr(m, name) for m in rep.monthly] for name in _chart_series(rep)},
                  line=("active members", [m.active_members for m in rep.monthly]))
        st.info(f"chart written to {out}")
    sections = [
        ("members", rep.members, None),
        ("monthly", rep.monthly + [rep.totals], MONTH_COLS),
        ("rewards", rep.rewards, REWARD_COLS),
        ("branches", rep.branches, BRANCH_COLS),
        ("staff", rep.staff, STAFF_COLS),
    ]
    if section:
        sections = [s for s in sections if s[0] == section]
        if fmt == "json":
            st.render(sections[0][1] if section != "monthly" else rep.monthly)
            return
    elif fmt == "json":
        st.render(rep)
        return
    if fmt == "table":
        typer.echo(f"{rep.store}: {rep.date_from} to {rep.date_to} (Bangkok days)")
    _emit_sections(st, sections)
    if fmt == "table" and chart and (section in (None, "monthly")):
        from crm_cli.fileio.charts import terminal_bars

        for name in (*_chart_series(rep), "active_members"):
            typer.echo("")
            title = f"{name.replace('_', ' ').capitalize()} per month" + ("" if name == "active_members" else " (points)")
            for line in terminal_bars(title, [(m.month, getattr(m, name)) for m in rep.monthly]):
                typer.echo(line)


@app.command("liability")
def report_liability(
    ctx: typer.Context,
    point_value: Annotated[Optional[Decimal], typer.Option("--point-value", parser=amount("--point-value", what="point value", example="0.05 or 0.25", check=fine_amount(4, Decimal(100000))), metavar="THB", help="THB value of one point (default: the store's, set by `crm store edit --point-value`).")] = None,
    breakage: Annotated[Optional[str], typer.Option("--breakage", parser=rate("--breakage"), metavar="RATE", help="Expected breakage to use instead of the observed rate, e.g. 0.2 or 20%.")] = None,
) -> None:
    """Outstanding points and their value by expiry month, breakage rate, and deferred revenue (IFRS 15). Example: crm report liability --point-value 0.25"""
    from crm_cli.domain.points import parse_point_value
    from crm_cli.services import reports

    st = state(ctx)
    pv = parse_point_value(point_value) if point_value is not None else None
    rate = parse_rate(breakage) if breakage is not None else None
    with st.reading() as tx:
        rep = reports.liability(tx.session, store_id=current_store_id(tx), store_slug=current_store(tx).slug, now=st.now(),
                                point_value=pv, breakage=rate)
    fmt = st.fmt or "table"
    if fmt == "json":
        st.render(rep)
        return
    from dataclasses import asdict

    head = {k: v for k, v in asdict(rep).items() if k != "by_expiry"}
    _emit_sections(st, [("liability", head, None), ("by_expiry_month", rep.by_expiry, BUCKET_COLS)])


def _export(path: Path, rows: list) -> int:
    """Reminder list as .csv or .xlsx (formula-safe, typed cells); phones in the national form people dial."""
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.domain.phone import display_phone
    from crm_cli.fileio.spreadsheet import write_table

    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise InvalidInput(f"--out {path}: export to a .csv or .xlsx file")
    data = ([display_phone(r.phone), r.name, "yes" if r.registered else "no", r.points, r.expires_on, r.balance]
            for r in rows)
    try:
        return write_table(path, EXPIRING_COLS, data,
                           {"points": "int", "expires_on": "date", "balance": "int"}, sheet="expiring")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None


@app.command("expiring")
def report_expiring(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", "-d", parser=whole("--days", 0, 36_500), metavar="N", help="Points whose last valid Bangkok day is within this many days from today.")] = 30,
    out: Annotated[Optional[Path], out_option(".csv", ".xlsx", help="Also export the list for reminders.")] = None,
) -> None:
    """Members whose points expire within N days, with the points and the last day to use them. Example: crm report expiring --days 30 --out reminders.xlsx"""
    from crm_cli.services import reports

    st, rows = read(ctx, reports.expiring, days=days, with_now=True)
    if out is not None:
        n = _export(out, rows)
        st.info(f"{n} member(s) written to {out}")
    st.render(rows, columns=EXPIRING_COLS)
