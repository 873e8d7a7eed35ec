"""`crm chat`: 1:1 chats with followers, stored from the webhook."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crm_cli.cli.options import whole
from crm_cli.cli.run import show

app = typer.Typer(help="1:1 chats with LINE followers: conversations, one follower's messages, keyword search.",
                  no_args_is_help=True, rich_markup_mode=None)

LimitOpt = Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="At most N rows.")]


@app.command("list")
def chat_list(ctx: typer.Context, limit: LimitOpt = None) -> None:
    """Conversations, most recent first: follower, message count, last message.

    Example: crm chat list --limit 20
    """
    from crm_cli.services import chats

    show(ctx, chats.conversations, limit=limit,
         columns=["user_id", "display_name", "status", "messages", "last_at", "last_text"])


@app.command("show")
def chat_show(ctx: typer.Context, user_id: Annotated[str, typer.Argument(help="LINE user ID.")], limit: LimitOpt = None) -> None:
    """One follower's messages, oldest first ('in' from the follower, 'out' auto-replies).

    Example: crm chat show U4af4980629d3b1a8c0e6f0a2b3c4d5e6 --limit 50
    """
    from crm_cli.services import chats

    show(ctx, chats.show, user_id=user_id, limit=limit, columns=["at", "direction", "kind", "text", "delivery"])


@app.command("search")
def chat_search(ctx: typer.Context, keyword: Annotated[str, typer.Argument(help="Text to find (any case).")],
                limit: LimitOpt = 200) -> None:
    """Messages containing KEYWORD, newest first.

    Example: crm chat search "oat milk"
    """
    from crm_cli.services import chats

    show(ctx, chats.search, keyword=keyword, limit=limit, columns=["at", "user_id", "display_name", "direction", "text"])
