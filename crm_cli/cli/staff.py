"""crm staff: invite, join, list, move, deactivate."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state
from crm_cli.cli.options import PngOutOpt, QrOpt, whole
from crm_cli.cli.run import apply, show, write
from crm_cli.domain.redact import mask_phone

app = typer.Typer(help="Staff of the current store: invites (link + QR), roles admin|staff.", no_args_is_help=True)

COLUMNS = ["name", "phone", "role", "branch", "active", "created_at"]


@app.command("invite")
def staff_invite(
    ctx: typer.Context,
    branch: Annotated[str, typer.Option("--branch", "-b", autocompletion=complete.branches, help="Branch the new staff member works at.")],
    role: Annotated[str, typer.Option("--role", help="admin (everything in the store) or staff (own branch only).")] = "staff",
    out: PngOutOpt = None,
    qr: QrOpt = None,
    valid_days: Annotated[int, typer.Option("--valid-days", parser=whole("--valid-days", 1, 90), metavar="DAYS", help="Days before the invite expires.")] = 7,
) -> None:
    """Create a single-use invite: prints the token and link, and a QR code.

    Example: crm staff invite --branch Siam --role staff --out invite.png
    """
    from crm_cli.fileio import qr as qrmod
    from crm_cli.services import stores

    st, inv = write(ctx, stores.invite_staff, branch=branch, role=role, valid_days=valid_days,
                    audit=lambda inv: f"invited {role} to branch {inv.branch}")
    qrmod.show(inv.link, png=out or qr, tty=sys.stdout.isatty() and not st.quiet, echo=lambda m: typer.echo(m, err=True))
    st.render(inv)


@app.command("join")
def staff_join(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="Invite token (or the whole invite link).")],
    name: Annotated[str, typer.Option("--name", help="Staff member's name.")],
    phone: Annotated[str, typer.Option("--phone", help="Staff member's phone (their key).")],
) -> None:
    """Accept an invite. Example: crm staff join 3q2-...-x9 --name "Somchai" --phone 0812345678"""
    from crm_cli.services import stores

    st = state(ctx)
    with st.transaction(store=False) as tx:
        store_id, info = stores.join_staff(tx.session, token=token, name=name, phone_raw=phone, now=st.now())
        tx.audit(f"{info.name} ({mask_phone(info.phone)}) joined as {info.role} at {info.branch}", store_id=store_id)
    st.render(info)


@app.command("list")
def staff_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include deactivated staff.")] = False,
) -> None:
    """List staff. Example: crm staff list --format json"""
    from crm_cli.services import stores

    show(ctx, stores.list_staff, include_inactive=all_, columns=COLUMNS)


@app.command("move")
def staff_move(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="Staff member's phone.")],
    branch: Annotated[str, typer.Option("--branch", "-b", autocompletion=complete.branches, help="New branch.")],
) -> None:
    """Move a staff member to another branch. Example: crm staff move 0812345678 --branch Ari"""
    from crm_cli.services import stores

    apply(ctx, stores.move_staff, phone_raw=phone, branch=branch, with_now=False,
          audit=lambda info: f"moved {mask_phone(info.phone)} to {info.branch}")


@app.command("deactivate")
def staff_deactivate(ctx: typer.Context, phone: Annotated[str, typer.Argument(help="Staff member's phone.")]) -> None:
    """Deactivate a staff member (history kept). Example: crm staff deactivate 0812345678"""
    from crm_cli.services import stores

    apply(ctx, stores.deactivate_staff, phone_raw=phone,
          audit=lambda info: f"deactivated {mask_phone(info.phone)}")
