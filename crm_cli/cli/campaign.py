"""`crm campaign`: broadcasts to a segment on LINE, kept as campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import out_option, segment_option
from crm_cli.cli.run import apply, current_store_id, show

app = typer.Typer(help="Broadcast campaigns to a segment on LINE: create, schedule, send, stats.",
                  no_args_is_help=True, rich_markup_mode=None)

NameArg = Annotated[str, typer.Argument(help="Campaign name.")]
AtOpt = Annotated[Optional[str], typer.Option("--at", metavar="'YYYY-MM-DD HH:MM'", help="Send at this Bangkok time (maintenance run sends it).")]
LIST_COLUMNS = ["name", "state", "status", "audience", "messages", "scheduled_at", "recipients", "accepted", "failed", "pending"]
SEND_COLUMNS = ["campaign", "status", "recipients", "skipped", "requests_sent", "accepted", "failed", "pending", "already_accepted", "note"]


def _at(raw: str | None):
    if raw is None:
        return None
    from crm_cli.domain.timeutil import parse_moment

    return parse_moment(raw)


def _client(tx):
    from crm_cli.cli.line import client_for
    from crm_cli.services import line_channel

    return client_for(line_channel.credentials(tx.session, store_id=current_store_id(tx)).access_token)


@app.command("create")
def campaign_create(
    ctx: typer.Context,
    name: NameArg,
    segment: Annotated[Optional[str], segment_option("Send to this segment.")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Send to every follower and member on LINE.")] = False,
    text: Annotated[Optional[list[str]], typer.Option("--text", help="A text message (repeat for more); {display_name}, {points}, {tier} and {promo_code} are filled in per person.")] = None,
    image: Annotated[Optional[str], typer.Option("--image", help="An image message: https:// URL (with --preview).")] = None,
    video: Annotated[Optional[str], typer.Option("--video", help="A video message: https:// URL (with --preview).")] = None,
    preview: Annotated[Optional[list[str]], typer.Option("--preview", help="Preview image URL for --image, then for --video.")] = None,
    imagemap: Annotated[Optional[Path], typer.Option("--imagemap", help="A tappable image: imagemap message JSON file.")] = None,
    flex: Annotated[Optional[Path], typer.Option("--flex", help="A flex message JSON file (message, bubble or carousel).")] = None,
    alt_text: Annotated[Optional[str], typer.Option("--alt-text", help="Alt text of the flex message.")] = None,
    promo: Annotated[Optional[str], typer.Option("--promo", help="Promo pool that {promo_code} comes from (one code per person).")] = None,
    at: AtOpt = None,
) -> None:
    """Create a campaign: a draft, or scheduled with --at. At most 5 messages, sent in the
    order text(s), image, video, imagemap, flex.

    Example: crm campaign create november --segment coffee-gold --text "Hi {display_name}, you have {points} points" --at "2026-12-01 10:00"
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.fileio.text import read_text
    from crm_cli.services import campaigns as svc

    previews = list(preview or [])
    messages = [svc.text_message(t) for t in text or []]
    if image:
        messages.append(svc.image_message(image, previews.pop(0) if previews else None))
    if video:
        messages.append(svc.video_message(video, previews.pop(0) if previews else None))
    if previews:
        raise InvalidInput("--preview goes with --image or --video (one each)")
    if imagemap:
        messages.append(svc.imagemap_message(read_text(imagemap, what="--imagemap")))
    if flex:
        messages.append(svc.flex_message(read_text(flex, what="--flex"), alt_text))
    elif alt_text:
        raise InvalidInput("--alt-text goes with --flex")
    apply(ctx, svc.create, name=name, segment=segment, everyone=everyone, messages=messages, promo=promo,
          at=_at(at), audit=lambda res: f"created campaign '{res.name}' ({res.status}, {res.audience})")


@app.command("list")
def campaign_list(ctx: typer.Context,
                  state_: Annotated[Optional[str], typer.Option("--state", help="active (scheduled or sending), inactive (sent or cancelled) or draft.")] = None) -> None:
    """Campaigns: active ones (scheduled or sending) first, then drafts, then inactive ones (sent, cancelled).

    Example: crm campaign list --state active
    """
    from crm_cli.services import campaigns as svc

    show(ctx, svc.list_campaigns, state=state_, columns=LIST_COLUMNS)


@app.command("show")
def campaign_show(ctx: typer.Context, name: NameArg) -> None:
    """A campaign: audience, messages, schedule, progress.

    Example: crm campaign show november
    """
    from crm_cli.services import campaigns as svc

    show(ctx, svc.show, name=name)


@app.command("copy")
def campaign_copy(ctx: typer.Context, name: NameArg, new: Annotated[str, typer.Argument(help="Name of the copy.")],
                  at: AtOpt = None) -> None:
    """Copy a campaign (audience, messages, promo pool) into a new draft, or scheduled with --at.

    Example: crm campaign copy november december --at "2027-01-01 10:00"
    """
    from crm_cli.services import campaigns as svc

    apply(ctx, svc.copy, name=name, new=new, at=_at(at), audit=lambda res: f"copied campaign '{name}' to '{res.name}'")


@app.command("cancel")
def campaign_cancel(ctx: typer.Context, name: NameArg) -> None:
    """Cancel a draft, scheduled or sending campaign (batches not yet sent are not sent).

    Example: crm campaign cancel november
    """
    from crm_cli.services import campaigns as svc

    apply(ctx, svc.cancel, name=name, audit=lambda res: f"cancelled campaign '{res.name}'")


@app.command("send")
def campaign_send(
    ctx: typer.Context,
    name: NameArg,
    partial: Annotated[bool, typer.Option("--partial", help="When the monthly quota is short, send to as many as it allows.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write the requests it would make (JSON) and send nothing.")] = False,
    out: Annotated[Optional[Path], out_option(".json", help="With --dry-run: write the request payloads to FILE instead of stdout.")] = None,
    takeover: Annotated[bool, typer.Option("--takeover", help="Also resend batches another sender claimed and never reported (safe: same retry key).")] = False,
) -> None:
    """Send a campaign now, or resume one that stopped. Same messages for everybody go by
    multicast (500 a request), personalized ones by push; every request carries a retry
    key stored before it is made, so nothing is sent twice.

    Example: crm campaign send november
    """
    import json

    from crm_cli.services import campaigns as svc

    st = state(ctx)
    if dry_run:
        with st.reading() as tx:
            with _client(tx) as api:
                quota = svc.read_quota(api)
        with st.transaction(dry_run=True) as tx:
            plan = svc.dry_run(tx.session, store_id=current_store_id(tx), name=name, now=st.now(), quota=quota, partial=partial)
        doc = {"campaign": plan.campaign, "recipients": plan.recipients, "skipped": plan.skipped,
               "requests": plan.payloads}
        if out is not None:
            from crm_cli.fileio.outfile import atomic_write

            atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"))
            st.info(f"dry run: {plan.requests} request(s) for {plan.recipients} recipient(s) written to {out}; nothing sent")
            st.render({"campaign": plan.campaign, "recipients": plan.recipients, "skipped": plan.skipped,
                       "requests": plan.requests, "file": str(out)})
        else:
            st.info(f"dry run: {plan.requests} request(s) for {plan.recipients} recipient(s); nothing sent")
            from crm_cli.domain.safetext import escape_json

            typer.echo(escape_json(json.dumps(doc, ensure_ascii=False, indent=1)))  # member text: no raw C1 or bidi
        return
    with st.reading() as tx:
        store_id = current_store_id(tx)
        api = _client(tx)
    engine = st.engine()
    with api, st.progress(None, f"sending {name}") as bar:
        res = svc.send(engine, store_id=store_id, name=name, api=api, clock=st.now, partial=partial,
                       takeover=takeover, progress=bar)
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services.audit import record

    with unit_of_work(engine, write=True) as session:
        record(session, store_id=store_id, actor=st.actor_name(), command=st.command,
               summary=f"sent campaign '{res.campaign}': {res.accepted} accepted, {res.failed} failed", now=st.now())
    st.render(res, columns=SEND_COLUMNS)


@app.command("stats")
def campaign_stats(ctx: typer.Context, name: NameArg,
                   insight: Annotated[bool, typer.Option("--insight", help="Also ask LINE for delivery and open numbers of each multicast request.")] = False) -> None:
    """Recipients, accepted, failed and pending, by Bangkok day; with --insight LINE's own
    numbers per request (GET /v2/bot/insight/message/event).

    Example: crm campaign stats november
    """
    from dataclasses import replace

    from crm_cli.services import campaigns as svc

    st = state(ctx)
    with st.reading() as tx:
        res = svc.stats(tx.session, store_id=current_store_id(tx), name=name)
        ids = svc.request_ids(tx.session, store_id=current_store_id(tx), name=name) if insight else []
        api = _client(tx) if insight else None
    if api is not None:
        with api:
            res = replace(res, insight=[{"request_id": rid, **api.insight_event(rid)} for rid in ids])
    st.render(res)
