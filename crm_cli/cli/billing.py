"""crm billing: subscription events, status, invoices, payments.

Billing commands work on a suspended store too (that is how it is resumed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import out_option
from crm_cli.cli.run import current_store_id
from crm_cli.domain.timeutil import parse_event_date

app = typer.Typer(help="Subscription and billing: subscribe, Pro, cancel, resume, invoices.", no_args_is_help=True)

DateOpt = Annotated[
    str,
    typer.Option("--date", "-d", help="Day of the event, YYYY-MM-DD (Bangkok); a time may follow: 2026-12-01T17:30."),
]


def _event(ctx: typer.Context, kind: str, date_raw: str, verb: str) -> None:
    from crm_cli.services import billing

    st = state(ctx)
    day, at = parse_event_date(date_raw)
    with st.transaction(allow_suspended=True) as tx:
        info = billing.record_event(tx.session, store_id=current_store_id(tx), kind=kind, day=day, at=at, now=st.now())
        tx.audit(f"{verb} on {day.isoformat()}")
    st.render(info)


@app.command("subscribe")
def billing_subscribe(
    ctx: typer.Context,
    date: Annotated[Optional[str], typer.Option("--date", "-d", help="LINE Pay binding day, YYYY-MM-DD (Bangkok); a time may follow: 2026-12-01T17:30. Default: today (Bangkok), said on stderr.")] = None,
) -> None:
    """Subscribe to MyCustomer | CRM: D is the LINE Pay binding day; the free trial is D ... D+29.

    Without --date the binding day is today in Bangkok (the service starts now).
    Example: crm billing subscribe --date 2026-11-10
    """
    if date is None:
        from crm_cli.domain.timeutil import bkk_date

        st = state(ctx)
        date = bkk_date(st.now()).isoformat()
        st.info(f"no --date given: the LINE Pay binding day is today, {date} (Bangkok)")
    _event(ctx, "subscribe", date, "subscribed")


@app.command("pro")
def billing_pro(ctx: typer.Context, date: DateOpt) -> None:
    """Move to the Pro package (includes the CRM from the next month).

    Example: crm billing pro --date 2027-02-10
    """
    _event(ctx, "pro", date, "moved to Pro")


@app.command("cancel")
def billing_cancel(
    ctx: typer.Context,
    date: DateOpt,
    pro: Annotated[bool, typer.Option("--pro", help="Cancel the Pro package (the CRM goes with it from the next month).")] = False,
) -> None:
    """Cancel the CRM (service runs to the end of the month), or Pro with --pro.

    Example: crm billing cancel --date 2027-03-15
    """
    _event(ctx, "cancel_pro" if pro else "cancel", date, "cancelled Pro" if pro else "cancelled the CRM")


@app.command("resume")
def billing_resume(ctx: typer.Context, date: DateOpt) -> None:
    """Subscribe again after a cancellation, or lift a suspension once overdue invoices are paid.

    Example: crm billing resume --date 2027-04-01
    """
    _event(ctx, "resume", date, "resumed")


@app.command("status")
def billing_status(ctx: typer.Context) -> None:
    """Plan, trial, service state, suspension, unpaid invoices and the event history.

    Example: crm --format json billing status
    """
    from crm_cli.services import billing

    st = state(ctx)
    with st.reading(allow_suspended=True) as tx:
        info = billing.billing_status(tx.session, store_id=current_store_id(tx), now=st.now())
    st.render(info)


def _render_invoices(st, views, single: bool) -> None:
    import dataclasses

    fmt = st.fmt or "table"
    if single:
        from crm_cli.cli.render import Document, Section

        view = views[0]
        head = {f.name: getattr(view, f.name) for f in dataclasses.fields(view) if f.name not in ("lines", "new")}
        columns = ["plan", "description", "days", "days_in_month", "rate", "amount"]
        if fmt == "csv":
            columns = ["plan", "description", "period_start", "period_end", "days", "days_in_month", "rate", "amount"]
        st.render(Document([Section("invoice", head), Section("lines", view.lines, columns)], whole=view))
        return
    st.render(views, columns=["number", "store", "month", "subtotal", "vat", "total", "status", "due_date"])


@app.command("invoice")
def billing_invoice(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", "-m", help="Invoice month, YYYY-MM (must have ended, Bangkok time).")],
    all_stores: Annotated[bool, typer.Option("--all", help="Every subscribed store, not only the current one.")] = False,
    out: Annotated[Optional[Path], out_option(".pdf", ".xlsx", ".json", help="Also write the invoice(s) to this file.")] = None,
) -> None:
    """Issue (or show again) the invoice for a month: line items, subtotal, VAT 7%, total.

    The same month always returns the same invoice and number (INV-YYYY-NNNNNN).
    Example: crm billing invoice --month 2026-12 --out inv-2026-12.pdf
    """
    from crm_cli.services import billing

    st = state(ctx)
    with st.transaction(store=not all_stores, allow_suspended=True) as tx:
        if all_stores:
            views = billing.issue_all(tx.session, month=month, now=st.now())
        else:
            views = [billing.issue_invoice(tx.session, store_id=current_store_id(tx), month=month, now=st.now())]
        new = [v.number for v in views if v.new and v.number]
        tx.audit(f"invoices {month}: " + (f"issued {', '.join(new)}" if new else "nothing new"))
    if out is not None:
        from crm_cli.fileio.invoices import write_invoices

        write_invoices(out, [v for v in views if v.number is not None])
        st.info(f"wrote {out}")
    if not all_stores and views[0].number is None:
        st.info(f"no charges for {views[0].store} in {views[0].month}: no invoice issued")
    _render_invoices(st, views, single=not all_stores)


@app.command("pay")
def billing_pay(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Invoice number, e.g. INV-2027-000001.")],
    date: Annotated[Optional[str], typer.Option("--date", "-d", help="Payment day, YYYY-MM-DD (default: now).")] = None,
) -> None:
    """Record that an invoice was paid; lifts a suspension for non-payment.

    Example: crm billing pay INV-2027-000001 --date 2027-01-10
    """
    from crm_cli.services import billing

    st = state(ctx)
    now = st.now()
    if date:
        day, at = parse_event_date(date)
        from crm_cli.domain.timeutil import start_of_bkk_day

        paid_at = at or start_of_bkk_day(day)
    else:
        paid_at = now
    with st.transaction(store=False) as tx:
        view, change = billing.pay_invoice(tx.session, number=number, paid_at=paid_at, now=now)
        tx.audit(f"invoice {view.number} paid" + (" (suspension lifted)" if change.action == "resumed" else ""),
                 store_id=billing.invoice_store_id(tx.session, number))
    if change.action == "resumed":
        st.info(f"store '{view.store}' is active again")
    _render_invoices(st, [view], single=True)
