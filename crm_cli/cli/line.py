"""`crm line`: connect the store's LINE Official Account (Messaging API + LINE Login channels)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.run import current_store, current_store_id

app = typer.Typer(help="The store's LINE Official Account: connect, status, disconnect.", no_args_is_help=True,
                  rich_markup_mode=None)


def read_secret(value: str, what: str) -> str:
    """``-`` reads the value from standard input (so it stays out of the shell history)."""
    if value != "-":
        return value.strip()
    from crm_cli.domain.errors import InvalidInput

    data = sys.stdin.readline().strip()
    if not data:
        raise InvalidInput(f"{what}: nothing on standard input")
    return data


def client_for(token: str):
    from crm_cli.line.client import MessagingApi

    return MessagingApi(token, timeout=10.0)


@app.command("connect")
def line_connect(
    ctx: typer.Context,
    channel_id: Annotated[str, typer.Option("--channel-id", help="Messaging API channel ID (Basic settings).")],
    channel_secret: Annotated[str, typer.Option("--channel-secret", help="Channel secret ('-': read from stdin).")],
    access_token: Annotated[str, typer.Option("--access-token", help="Long-lived channel access token ('-': read from stdin).")],
    login_channel_id: Annotated[Optional[str], typer.Option("--login-channel-id", help="LINE Login channel ID (member pages).")] = None,
    login_channel_secret: Annotated[Optional[str], typer.Option("--login-channel-secret", help="LINE Login channel secret ('-': stdin).")] = None,
) -> None:
    """Connect (or reconnect) the store to its LINE channels. The token is checked with
    LINE (GET /v2/bot/info) before anything is stored; secrets are never shown again.

    Example: crm line connect --channel-id 1656000000 --channel-secret 0123abcd... --access-token - < token.txt
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import line_channel as svc

    if [channel_secret, access_token, login_channel_secret].count("-") > 1:
        raise InvalidInput("only one of the secrets can be read from standard input ('-')")
    secret = read_secret(channel_secret, "--channel-secret")
    token = read_secret(access_token, "--access-token")
    login_secret = read_secret(login_channel_secret, "--login-channel-secret") if login_channel_secret is not None else None
    svc.check_credentials(channel_id=channel_id.strip(), channel_secret=secret, access_token=token,
                          login_channel_id=login_channel_id.strip() if login_channel_id else None,
                          login_channel_secret=login_secret)
    st = state(ctx)
    with st.reading():  # the store exists before LINE is asked
        pass
    with client_for(token) as api:
        bot = api.bot_info()
    with st.transaction() as tx:
        view = svc.connect(tx.session, store_id=current_store_id(tx), channel_id=channel_id.strip(), channel_secret=secret,
                           access_token=token, login_channel_id=login_channel_id.strip() if login_channel_id else None,
                           login_channel_secret=login_secret, bot_user_id=bot.user_id, bot_basic_id=bot.basic_id,
                           bot_name=bot.display_name, now=st.now())
        tx.audit(f"connected LINE channel {view.channel_id} ({view.bot_basic_id or 'no basic id'})")
    st.info(f"connected: set the webhook URL in the LINE Developers console to {view.webhook_url}")
    st.render(view)


@app.command("status")
def line_status(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option("--offline", help="Do not ask LINE; show only what is stored.")] = False,
) -> None:
    """The connection (secrets as fingerprints only), the webhook URL, and LINE's bot info and quota.

    Example: crm line status
    """
    import dataclasses

    from crm_cli.line.client import LineApiError
    from crm_cli.services import line_channel as svc

    st = state(ctx)
    with st.reading() as tx:
        view = svc.status(tx.session, store_id=current_store_id(tx))
        creds = svc.credentials(tx.session, store_id=current_store_id(tx))
    out = dataclasses.asdict(view)
    if not offline:
        try:
            with client_for(creds.access_token) as api:
                bot = api.bot_info()
                quota = api.quota()
                used = api.quota_consumption()
            out.update(line="ok", bot_name=bot.display_name, bot_basic_id=bot.basic_id, bot_user_id=bot.user_id,
                       chat_mode=bot.chat_mode, quota_type=quota.get("type"), quota=quota.get("value"),
                       quota_used=used.get("totalUsage"))
        except LineApiError as exc:
            out.update(line=f"error: {exc.message}")
    st.render(out)


@app.command("disconnect")
def line_disconnect(ctx: typer.Context) -> None:
    """Forget the store's LINE channels (followers and chats are kept); the webhook answers 404.

    Example: crm line disconnect
    """
    from crm_cli.services import line_channel as svc

    st = state(ctx)
    with st.transaction() as tx:
        channel_id = svc.disconnect(tx.session, store_id=current_store_id(tx))
        tx.audit(f"disconnected LINE channel {channel_id}")
        slug = current_store(tx).slug
    st.render({"store": slug, "channel_id": channel_id, "connected": False})
