"""crm member: register, show, list, edit, tag, untag, note, forget, template, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state
from crm_cli.cli.options import BranchOpt, DryRunOpt, PhoneArg, YesOpt, out_option, whole
from crm_cli.cli.run import apply, show

app = typer.Typer(help="Members: register, show, list, edit, tags, notes, erasure, template, import, export.", no_args_is_help=True)

LIST_COLUMNS = ["phone", "name", "status", "tier", "points", "tags", "birthday", "registered_at", "last_activity_at"]
ERROR_COLUMNS = ["row", "column", "value", "message"]
GROUP_COLUMNS = ["column", "message", "rows", "count"]

TierOpt = Annotated[Optional[str], typer.Option("--tier", autocompletion=complete.tiers, help="Only members in this tier.")]
TagOpt = Annotated[Optional[str], typer.Option("--tag", autocompletion=complete.member_tags, help="Only members with this tag.")]
MinPointsOpt = Annotated[Optional[int], typer.Option("--min-points", parser=whole("--min-points"), metavar="N", help="Only members with at least this balance.")]
BirthdayMonthOpt = Annotated[Optional[int], typer.Option("--birthday-month", parser=whole("--birthday-month", 1, 12), metavar="MONTH", help="Only members born in this month (1-12).")]
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
    if st.fmt == "json":
        st.render(info)
        return
    import dataclasses

    flat = dataclasses.asdict(info)
    flat["answers"] = "; ".join(f"{a.question}: {a.value}" for a in info.answers)
    st.render(flat)


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
    limit: Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="Show at most this many members.")] = None,
) -> None:
    """List members with filters (balances computed in one query).

    Example: crm member list --tag working-age --min-points 100 --birthday-month 12 --format json
    """
    from crm_cli.services import members

    flt = _filter(tier, tag, min_points, birthday_month, registered, active_since, inactive_since)
    show(ctx, members.list_members, with_now=True, flt=flt, limit=limit, columns=LIST_COLUMNS)


TagsArg = Annotated[list[str], typer.Argument(autocompletion=complete.member_tags, help="One or more tags.")]


def _tags(ctx: typer.Context, phone: str, tags: list[str], *, add: bool) -> None:
    from crm_cli.services import members

    verb, sign, none = ("tagged", "+", "(nothing new)") if add else ("untagged", "-", "(nothing)")
    apply(ctx, members.tag_member if add else members.untag_member, phone_raw=phone, tags=tags, with_now=False,
          audit=lambda res: f"{verb} {members.mask_phone(res.phone)}: {sign}{', '.join(res.changed) or none}")


@app.command("tag")
def member_tag(ctx: typer.Context, phone: PhoneArg, tags: TagsArg) -> None:
    """Attach tags to a member. Example: crm member tag 0812345678 vip coffee-lover"""
    _tags(ctx, phone, tags, add=True)


@app.command("untag")
def member_untag(ctx: typer.Context, phone: PhoneArg, tags: TagsArg) -> None:
    """Remove tags from a member. Example: crm member untag 0812345678 vip"""
    _tags(ctx, phone, tags, add=False)


@app.command("note")
def member_note(
    ctx: typer.Context,
    phone: PhoneArg,
    text: Annotated[str, typer.Argument(help="The note (appended with the date).")],
) -> None:
    """Append a dated note to a member. Example: crm member note 0812345678 "prefers oat milk" """
    from crm_cli.services import members

    apply(ctx, members.add_note, phone_raw=phone, text=text, actor=state(ctx).actor_name(),
          audit=lambda res: f"note on {members.mask_phone(res.phone)}")


@app.command("edit")
def member_edit(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[Optional[str], typer.Option("--name", help="Full name.")] = None,
    gender: Annotated[Optional[str], typer.Option("--gender", help="ชาย/หญิง/อื่นๆ/ไม่ระบุ or male/female/other/M/F; \"\" clears it.")] = None,
    birthday: Annotated[Optional[str], typer.Option("--birthday", help="YYYY-MM-DD or DD/MM/YYYY (Buddhist-Era years accepted); \"\" clears it.")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Email address; \"\" clears it.")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Postal address (line breaks kept); \"\" clears it.")] = None,
    line_name: Annotated[Optional[str], typer.Option("--line-name", help="LINE display name; \"\" clears it.")] = None,
) -> None:
    """Change a registered member's profile; the same checks as registration and import.

    Only the options given change; an empty value clears an optional field.
    Example: crm member edit 081-234-5678 --name "Somsri Jaidee" --email somsri@example.com --birthday 15/03/2533
    """
    from crm_cli.services import members

    st = state(ctx)
    with st.transaction() as tx:
        res = members.edit_member(
            tx.session, store_id=tx.store.id, phone_raw=phone, now=st.now(), name=name, gender=gender,
            birthday=birthday, email=email, address=address, line_name=line_name,
        )
        tx.audit(f"edited member {members.mask_phone(res.phone)}: {', '.join(res.changed) or 'nothing changed'}")
    st.render(res)


@app.command("forget")
def member_forget(ctx: typer.Context, phone: PhoneArg, yes: YesOpt = False) -> None:
    """Erase a member's personal data (PDPA); the ledger stays under an anonymous id.

    Asks for confirmation on a terminal; scripts pass --yes.
    Example: crm member forget 0812345678 --yes
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import members

    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("erasure cannot be undone: pass --yes to confirm when not on a terminal")
        if not typer.confirm(f"Erase all personal data of {phone}? This cannot be undone", default=False, err=True):
            from crm_cli.domain.errors import Declined

            raise Declined("not confirmed: nothing was erased")
    apply(ctx, members.forget_member, phone_raw=phone,
          audit=lambda res: f"erased personal data of a member (now {res.anon_id}; {res.ledger_entries_kept} ledger entries kept)")


@app.command("template")
def member_template(
    ctx: typer.Context,
    out: Annotated[Path, out_option(".xlsx", help="Where to write the template.")] = Path("member-template.xlsx"),
) -> None:
    """Write the bulk-import template (phone*, full name*, points*, gender, birthday, email; Thai and English headers).

    Example: crm member template --out member-template.xlsx
    """
    from crm_cli.fileio.spreadsheet import write_member_template

    st = state(ctx)
    path = write_member_template(out)
    st.info(f"template written to {path}: fill in up to 5,000 rows, then `crm member import {path} --branch NAME`")
    st.render({"file": str(path)})


@app.command("import")
def member_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The filled template (.xlsx or .csv, UTF-8 with or without BOM).", readable=False)],
    branch: Annotated[str, typer.Option("--branch", "-b", autocompletion=complete.branches, help="Branch the imported members are registered at.")],
    dry_run: DryRunOpt = False,
    on_existing: Annotated[str, typer.Option("--on-existing", help="A phone already in the store: error (report it), skip it, or update its profile.")] = "error",
    max_rows: Annotated[Optional[int], typer.Option("--max-rows", parser=whole("--max-rows", 1), metavar="N", help="Row cap (default: the store setting, 5,000).")] = None,
    errors: Annotated[Optional[Path], typer.Option("--errors", help="Also write every bad row to this CSV file.")] = None,
    default_points: Annotated[Optional[int], typer.Option("--default-points", parser=whole("--default-points", 0), metavar="N", help="Points for a row whose points cell is blank (default: a blank cell is an error).")] = None,
) -> None:
    """Import members and their points from a spreadsheet: all rows or nothing.

    Every bad row is reported (row, column, value, reason; the table groups identical
    problems, JSON and --errors keep one entry per row); nothing is written unless every
    row is good. Imported points are lots of kind 'import' expiring per the store's policy.
    A file from `crm member export` imports as is: its balance is not imported again and
    its phone-only rows are skipped.
    Example: crm member import members.xlsx --branch Siam --dry-run --default-points 0
    """
    from crm_cli.db.uow import connection
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import member_import as svc

    st = state(ctx)
    now = st.now()
    with connection(st.engine(), write=True, dry_run=dry_run) as sa:
        conn = svc.Db(sa)
        store = svc.load_store(conn, slug=st.store_slug_resolved(), now=now)
        with st.progress(None, f"importing {file.name}") as bar:
            outcome = svc.import_members(
                conn, store=store, path=file, branch=branch, on_existing=on_existing, max_rows=max_rows, now=now,
                actor=st.actor_name(), dry_run=dry_run, progress=bar, default_points=default_points,
            )
        if outcome.errors:
            if errors is not None:
                svc.write_errors(errors, outcome.errors)
            more = ""
            if st.fmt in (None, "table", "plain", "markdown"):  # a person reads it: identical problems on one line
                groups = svc.group_errors(outcome.errors)
                shown = groups[:200]
                st.render(shown, columns=GROUP_COLUMNS, title=f"{len(outcome.errors)} problem(s) in {file.name}")
                if len(shown) < len(groups):
                    more = f" (first 200 kinds shown{'; all in ' + str(errors) if errors else '; --errors FILE.csv writes all'})"
            else:
                st.render(outcome.errors, columns=ERROR_COLUMNS, title=f"{len(outcome.errors)} problem(s) in {file.name}")
            rows_bad = len({e.row for e in outcome.errors})
            raise InvalidInput(
                f"{file.name}: {len(outcome.errors)} problem(s) in {rows_bad} of {outcome.rows} row(s){more}; "
                "nothing was imported: fix the file and run the import again"
            )
        s = outcome.summary
        if not dry_run:
            svc.audit(
                conn, store_id=store.id, actor=st.actor_name(), command=st.command, now=now,
                summary=f"imported {file.name} at {branch}: {s.created} created, {s.updated} updated, "
                        f"{s.skipped} skipped, {s.points_total} points",
            )
    if errors is not None:
        svc.write_errors(errors, [])
    if s.phone_only_skipped:
        st.info(f"{s.phone_only_skipped} phone-only row(s) skipped (no profile to import)")
    warning = svc.expiry_warning(s, now=now)
    if warning:
        st.info(f"warning: {warning}")
    if dry_run:
        st.info("dry run: nothing was written")
    st.render(s)


@app.command("export")
def member_export(
    ctx: typer.Context,
    out: Annotated[Path, out_option(".csv", ".xlsx", help="The file to write.")],
    tier: TierOpt = None,
    tag: TagOpt = None,
    min_points: MinPointsOpt = None,
    birthday_month: BirthdayMonthOpt = None,
    registered: RegisteredOpt = None,
    active_since: ActiveSinceOpt = None,
    inactive_since: InactiveSinceOpt = None,
) -> None:
    """Export members (with the list filters) to CSV or XLSX for analysis; formulas are neutralized.

    Example: crm member export --out members.xlsx --tag vip
    """
    from crm_cli.services import exports

    st = state(ctx)
    flt = _filter(tier, tag, min_points, birthday_month, registered, active_since, inactive_since)
    with st.reading() as tx:
        with st.progress(None, f"exporting {out.name}") as bar:
            res = exports.export_members(tx.session, store_id=tx.store.id, path=out, now=st.now(), flt=flt, progress=bar)
    st.info(f"{res.rows} member(s) written to {res.file}")
    st.render(res)
