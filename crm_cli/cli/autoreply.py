"""`crm autoreply`: keyword auto-replies answered through the LINE webhook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.options import whole
from crm_cli.cli.run import apply, show

app = typer.Typer(help="Keyword auto-replies (text, image, tappable image) with hit statistics.",
                  no_args_is_help=True, rich_markup_mode=None)

LIST_COLUMNS = ["id", "keyword", "match", "kind", "reply", "hits", "last_hit_at", "created_at"]


@app.command("add")
def autoreply_add(
    ctx: typer.Context,
    keyword: Annotated[str, typer.Argument(help="The keyword followers type.")],
    text: Annotated[Optional[str], typer.Option("--text", help="Reply with this text.")] = None,
    image: Annotated[Optional[str], typer.Option("--image", help="Reply with the image at this https:// URL.")] = None,
    preview: Annotated[Optional[str], typer.Option("--preview", help="Preview image URL (default: the image).")] = None,
    imagemap: Annotated[Optional[Path], typer.Option("--imagemap", help="Reply with a tappable image: an imagemap message JSON file.")] = None,
    match: Annotated[str, typer.Option("--match", help="exact: the whole message; contains: anywhere in it.")] = "exact",
) -> None:
    """Add a keyword auto-reply: exactly one of --text, --image or --imagemap.

    Example: crm autoreply add "opening hours" --text "Open daily 8:00-20:00" --match contains
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import autoreplies as svc

    if sum(x is not None for x in (text, image, imagemap)) != 1:
        raise InvalidInput("give exactly one of --text, --image or --imagemap")
    if preview is not None and image is None:
        raise InvalidInput("--preview goes with --image")
    if text is not None:
        kind, message = "text", svc.text_message(text)
    elif image is not None:
        kind, message = "image", svc.image_message(image, preview)
    elif imagemap is not None:
        from crm_cli.fileio.text import read_text

        kind, message = "imagemap", svc.imagemap_message(read_text(imagemap, what="--imagemap"))
    apply(ctx, svc.add_rule, keyword=keyword, match=match, kind=kind, message=message,
          audit=lambda row: f"added auto-reply #{row.id} for '{row.keyword}' ({row.match}, {row.kind})")


@app.command("list")
def autoreply_list(
    ctx: typer.Context,
    by_day: Annotated[bool, typer.Option("--by-day", help="Hits per Bangkok day instead of totals.")] = False,
    days: Annotated[int, typer.Option("--days", parser=whole("--days", 1, 3660), metavar="N", help="With --by-day: the last N days.")] = 30,
) -> None:
    """Auto-replies with their hit counts, most typed first (or hits per day with --by-day).

    Example: crm autoreply list --by-day --days 7
    """
    from crm_cli.services import autoreplies as svc

    if by_day:
        show(ctx, svc.hits_by_day, with_now=True, days=days, columns=["day", "id", "keyword", "hits"])
    else:
        show(ctx, svc.list_rules, columns=LIST_COLUMNS)


@app.command("remove")
def autoreply_remove(ctx: typer.Context, rule: Annotated[str, typer.Argument(help="The rule's id or keyword.")]) -> None:
    """Remove an auto-reply (its past hits stay in the chat history).

    Example: crm autoreply remove "opening hours"
    """
    from crm_cli.services import autoreplies as svc

    apply(ctx, svc.remove_rule, rule=rule, audit=lambda row: f"removed auto-reply #{row.id} for '{row.keyword}'")


@app.command("test")
def autoreply_test(ctx: typer.Context, text: Annotated[str, typer.Argument(help="A message a follower might send.")]) -> None:
    """Which auto-reply would answer TEXT (exit 3 when none would).

    Example: crm autoreply test "what are your opening hours?"
    """
    from crm_cli.services import autoreplies as svc

    show(ctx, svc.test_text, text=text)
