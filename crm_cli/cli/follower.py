"""`crm follower`: the LINE followers of the store's Official Account."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state
from crm_cli.cli.options import DryRunOpt, out_option, whole
from crm_cli.cli.run import apply, current_store_id, export, show

app = typer.Typer(help="LINE followers: list, show, sync, tags, notes, link to members, import, export.",
                  no_args_is_help=True, rich_markup_mode=None)

UserArg = Annotated[str, typer.Argument(help="LINE user ID: 'U' and 32 hex digits.")]
KindOpt = Annotated[str, typer.Option("--kind", help="chat (set by operators) or active (set by actions).")]
LIST_COLUMNS = ["user_id", "display_name", "status", "followed_at", "chat_tags", "active_tags", "member_phone", "last_message_at"]
ERROR_COLUMNS = ["row", "column", "value", "message"]


@app.command("list")
def follower_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status", help="following | blocked | unknown.")] = None,
    tag: Annotated[Optional[str], typer.Option("--tag", autocompletion=complete.follower_tags, help="Only followers with this chat or active tag.")] = None,
    linked: Annotated[Optional[bool], typer.Option("--linked/--unlinked", help="Only followers linked to a member, or only those not.", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="At most N rows.")] = None,
) -> None:
    """Followers, most recently followed first.

    Example: crm follower list --status following --tag coffee-lover
    """
    from crm_cli.services import followers as svc

    show(ctx, svc.list_followers, status=status, tag=tag, linked=linked, limit=limit, columns=LIST_COLUMNS)


@app.command("show")
def follower_show(ctx: typer.Context, user_id: UserArg) -> None:
    """One follower: profile, follow state, tags, note, linked member, message count.

    Example: crm follower show U4af4980629d3b1a8c0e6f0a2b3c4d5e6
    """
    from crm_cli.services import followers as svc

    show(ctx, svc.show_follower, user_id=user_id)


@app.command("sync")
def follower_sync(
    ctx: typer.Context,
    profiles: Annotated[str, typer.Option("--profiles", help="all: refresh every profile; new: only followers without one; none.")] = "new",
) -> None:
    """Fetch the follower list from LINE (GET /v2/bot/followers/ids, page by page) and their
    profiles, waiting out rate limits; followers LINE no longer lists are marked blocked.

    Example: crm follower sync --profiles all
    """
    from sqlmodel import col, select

    from crm_cli.cli.line import client_for
    from crm_cli.db.models import LineFollower
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import follower_io, line_channel

    if profiles not in ("all", "new", "none"):
        raise InvalidInput("--profiles must be one of: all, new, none")
    st = state(ctx)
    with st.reading() as tx:
        creds = line_channel.credentials(tx.session, store_id=current_store_id(tx))
        known = set(tx.session.exec(select(LineFollower.user_id).where(
            LineFollower.store_id == current_store_id(tx), col(LineFollower.profile_at).is_not(None))).all())
    with client_for(creds.access_token) as api, st.progress(None, "fetching followers from LINE") as bar:
        snap = follower_io.collect(api, profiles=profiles != "none", known=known if profiles == "new" else None,
                                   progress=bar.advance)
    with st.transaction() as tx:
        res = follower_io.apply_sync(tx.session, store_id=current_store_id(tx), snapshot=snap, now=st.now())
        tx.audit(f"synced {res.followers} followers from LINE ({res.new} new, {res.no_longer_following} no longer following)")
    st.render(res)


@app.command("tag")
def follower_tag(ctx: typer.Context, user_id: UserArg, tags: Annotated[list[str], typer.Argument(autocompletion=complete.follower_tags, help="One or more tags.")],
                 kind: KindOpt = "chat") -> None:
    """Add tags to a follower (chat tags by default).

    Example: crm follower tag U4af4980629d3b1a8c0e6f0a2b3c4d5e6 vip regular
    """
    from crm_cli.services import followers as svc

    apply(ctx, svc.tag, user_id=user_id, tags=tags, kind=kind,
          audit=lambda res: f"tagged follower {res.user_id} ({kind}): {', '.join(res.changed) or 'nothing new'}")


@app.command("untag")
def follower_untag(ctx: typer.Context, user_id: UserArg, tags: Annotated[list[str], typer.Argument(autocompletion=complete.follower_tags, help="One or more tags.")],
                   kind: KindOpt = "chat") -> None:
    """Remove tags from a follower.

    Example: crm follower untag U4af4980629d3b1a8c0e6f0a2b3c4d5e6 vip
    """
    from crm_cli.services import followers as svc

    apply(ctx, svc.untag, user_id=user_id, tags=tags, kind=kind, with_now=False,
          audit=lambda res: f"untagged follower {res.user_id} ({kind}): {', '.join(res.changed) or 'nothing removed'}")


@app.command("note")
def follower_note(ctx: typer.Context, user_id: UserArg, text: Annotated[str, typer.Argument(help="The note ('' clears it).")]) -> None:
    """Set the operator's note on a follower.

    Example: crm follower note U4af4980629d3b1a8c0e6f0a2b3c4d5e6 "prefers oat milk"
    """
    from crm_cli.services import followers as svc

    apply(ctx, svc.set_note, user_id=user_id, text=text, with_now=False,
          audit=lambda res: f"{'set' if res.note else 'cleared'} the note of follower {res.user_id}")


@app.command("link")
def follower_link(ctx: typer.Context, user_id: UserArg,
                  phone: Annotated[str, typer.Argument(help="The member's phone number.")]) -> None:
    """Link a follower to a member (members who sign in with LINE are linked automatically).

    Example: crm follower link U4af4980629d3b1a8c0e6f0a2b3c4d5e6 081-234-5678
    """
    from crm_cli.services import followers as svc
    from crm_cli.services.audit import mask_phone

    apply(ctx, svc.link, user_id=user_id, phone=phone, with_now=False,
          audit=lambda res: f"linked follower {res.user_id} to member {mask_phone(res.member_phone)}")


@app.command("import")
def follower_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX with columns user_id [, display_name, phone, tags].")],
    dry_run: DryRunOpt = False,
) -> None:
    """Import the follower list a shop already has: all rows or nothing. ``phone`` links the
    follower to that member; ``tags`` (separated by ; or ,) become chat tags.

    Example: crm follower import followers.csv --dry-run
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import follower_io

    st = state(ctx)
    with st.transaction(dry_run=dry_run) as tx:
        res, errors = follower_io.import_followers(tx.session, store_id=current_store_id(tx), path=file, now=st.now(), dry_run=dry_run)
        if errors:
            st.render(errors[:200] if st.fmt in (None, "table") else errors, columns=ERROR_COLUMNS,
                      title=f"{len(errors)} problem(s) in {file.name}")
            raise InvalidInput(f"{file.name}: {len(errors)} problem(s) in {len({e.row for e in errors})} of {res.rows} row(s); "
                               "nothing was imported: fix the file and run the import again")
        tx.audit(f"imported {res.rows} followers from {file.name} ({res.created} new, {res.linked} linked)")
    if dry_run:
        st.info("dry run: nothing was written")
    st.render(res)


@app.command("export")
def follower_export(ctx: typer.Context, out: Annotated[Path, out_option(".csv", ".xlsx", help="The file to write.")]) -> None:
    """Export every follower with tags, note and linked member to CSV or XLSX.

    Example: crm follower export --out followers.xlsx
    """
    from crm_cli.services import follower_io

    export(ctx, follower_io.export_followers, path=out, rows="follower(s)")
