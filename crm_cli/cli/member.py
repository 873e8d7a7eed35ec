"""crm member: register, show, list, tag, untag, note, forget, template, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import BranchOpt, DryRunOpt, PhoneArg, YesOpt

app = typer.Typer(help="Members: register, show, list, tags, notes, erasure, template, import, export.", no_args_is_help=True)

LIST_COLUMNS = ["phone", "name", "status", "tier", "points", "tags", "birthday", "registered_at", "last_activity_at"]
ERROR_COLUMNS = ["row", "column", "value", "message"]

TierOpt = Annotated[Optional[str], typer.Option("--tier", help="Only members in this tier.")]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only members with this tag.")]
MinPointsOpt = Annotated[Optional[int], typer.Option("--min-points", min=0, help="Only members with at least this balance.")]
BirthdayMonthOpt = Annotated[Optional[int], typer.Option("--birthday-month", min=1, max=12, help="Only members born in this month (1-12).")]
RegisteredOpt = Annotated[Optional[bool], typer.Option("--registered/--phone-only", help="Only registered members, or only phone-only accounts.", show_default=False)]
ActiveSinceOpt = Annotated[Optional[str], typer.Option("--active-since", help="Only members with activity on or after this day (YYYY-MM-DD).")]
InactiveSinceOpt = Annotated[Optional[str], typer.Option("--inactive-since", help="Only members with no activity since this day (YYYY-MM-DD).")]


def _filter(tier, tag, min_points, birthday_month, registered, active_since, inactive_since):
    from crm_cli.domain.timeutil import parse_day
    from crm_cli.services.members import MemberFilter

    return MemberFilter(
        tier=tier, tag=tag, min_points=min_points, birthday_month=birthday_month, registered=registered,
        active_since=parse_day(active_since) if active_since else None,
        inactive_since=parse_day(inactive_since) if inactive_since else None,
    )


@app.command("register")
def member_register(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    accept_terms: Annotated[bool, typer.Option("--accept-terms", help="The member accepted the current terms and conditions (required).")] = False,
    gender: Annotated[Optional[str], typer.Option("--gender", help="ชาย/หญิง/อื่นๆ/ไม่ระบุ or male/female/other/M/F.")] = None,
    birthday: Annotated[Optional[str], typer.Option("--birthday", help="YYYY-MM-DD or DD/MM/YYYY (Buddhist-Era years accepted).")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Email address.")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Postal address.")] = None,
    line_name: Annotated[Optional[str], typer.Option("--line-name", help="LINE display name.")] = None,
    answer: Annotated[Optional[list[str]], typer.Option("--answer", help="QUESTION=VALUE (question text or number; multi: comma-separated). Repeat.")] = None,
    branch: BranchOpt = None,
) -> None:
    """Register a member: consent to the terms, profile, answers (tags), merged points, welcome points.

    Example: crm member register 081-234-5678 --name "Somsri Jaidee" --answer "Occupation=office worker" --accept-terms
    """
    from crm_cli.services import members

    st = state(ctx)
    with st.transaction() as tx:
        reg = members.register(
            tx.session, store_id=tx.store.id, phone_raw=phone, name=name, accept_terms=accept_terms, now=st.now(),
            gender=gender, birthday=birthday, email=email, address=address, line_name=line_name,
            answers=answer or [], branch=branch, actor=st.actor_name(),
        )
        tx.audit(f"registered member {members.mask_phone(reg.phone)} (terms v{reg.terms_version}, welcome {reg.welcome_points})")
    st.render(reg)


@app.command("show")
def member_show(ctx: typer.Context, phone: PhoneArg) -> None:
    """Show a member: profile, tier, balance, tags, notes, answers, consent. Example: crm member show 0812345678"""
    from crm_cli.services import members

    st = state(ctx)
    with st.reading() as tx:
        info = members.show_member(tx.session, store_id=tx.store.id, phone_raw=phone, now=st.now())
    st.render(info)


@app.command("list")
def member_list(
    ctx: typer.Context,
    tier: TierOpt = None,
    tag: TagOpt = None,
    min_points: MinPointsOpt = None,
    birthday_month: BirthdayMonthOpt = None,
    registered: RegisteredOpt = None,
    active_since: ActiveSinceOpt = None,
    inactive_since: InactiveSinceOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Show at most this many members.")] = None,
) -> None:
    """List members with filters (balances computed in one query).

    Example: crm member list --tag working-age --min-points 100 --birthday-month 12 --format json
    """
    from crm_cli.services import members

    st = state(ctx)
    flt = _filter(tier, tag, min_points, birthday_month, registered, active_since, inactive_since)
    with st.reading() as tx:
        rows = members.list_members(tx.session, store_id=tx.store.id, now=st.now(), flt=flt, limit=limit)
    st.render(rows, columns=LIST_COLUMNS)


@app.command("tag")
def member_tag(
    ctx: typer.Context,
    phone: PhoneArg,
    tags: Annotated[list[str], typer.Argument(help="One or more tags.")],
) -> None:
    """Attach tags to a member. Example: crm member tag 0812345678 vip coffee-lover"""
    from crm_cli.services import members

    st = state(ctx)
    with st.transaction() as tx:
        res = members.tag_member(tx.session, store_id=tx.store.id, phone_raw=phone, tags=tags)
        tx.audit(f"tagged {members.mask_phone(res.phone)}: +{', '.join(res.changed) or '(nothing new)'}")
    st.render(res)


@app.command("untag")
def member_untag(
    ctx: typer.Context,
    phone: PhoneArg,
    tags: Annotated[list[str], typer.Argument(help="One or more tags.")],
) -> None:
    """Remove tags from a member. Example: crm member untag 0812345678 vip"""
    from crm_cli.services import members

    st = state(ctx)
    with st.transaction() as tx:
        res = members.untag_member(tx.session, store_id=tx.store.id, phone_raw=phone, tags=tags)
        tx.audit(f"untagged {members.mask_phone(res.phone)}: -{', '.join(res.changed) or '(nothing)'}")
    st.render(res)


@app.command("note")
def member_note(
    ctx: typer.Context,
    phone: PhoneArg,
    text: Annotated[str, typer.Argument(help="The note (appended with the date).")],
) -> None:
    """Append a dated note to a member. Example: crm member note 0812345678 "prefers oat milk" """
    from crm_cli.services import members

    st = state(ctx)
    with st.transaction() as tx:
        res = members.add_note(tx.session, store_id=tx.store.id, phone_raw=phone, text=text, now=st.now(), actor=st.actor_name())
        tx.audit(f"note on {members.mask_phone(res.phone)}")
    st.render(res)


@app.command("forget")
def member_forget(ctx: typer.Context, phone: PhoneArg, yes: YesOpt = False) -> None:
    """Erase a member's personal data (PDPA); the ledger stays under an anonymous id.

    Asks for confirmation on a terminal; scripts pass --yes.
    Example: crm member forget 0812345678 --yes
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import members

    st = state(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("erasure cannot be undone: pass --yes to confirm when not on a terminal")
        if not typer.confirm(f"Erase all personal data of {phone}? This cannot be undone", default=False, err=True):
            raise typer.Exit(1)
    with st.transaction() as tx:
        res = members.forget_member(tx.session, store_id=tx.store.id, phone_raw=phone, now=st.now())
        tx.audit(f"erased personal data of a member (now {res.anon_id}; {res.ledger_entries_kept} ledger entries kept)")
    st.render(res)
