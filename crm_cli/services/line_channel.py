"""A store's LINE channels: connect, status, disconnect.

The channel secret, the access token and the Login channel secret are stored for the
server's use and never returned: views carry only a short fingerprint (the first 8 hex
digits of their SHA-256) so an operator can tell two values apart without seeing them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from crm_cli.db.models import LineChannel, Store
from crm_cli.domain.errors import InvalidInput, NotFound

CHANNEL_ID_RE = re.compile(r"^[0-9]{1,20}$")
SECRET_RE = re.compile(r"^[\x21-\x7e]{8,128}$")
TOKEN_RE = re.compile(r"^[\x21-\x7e]{16,1024}$")


def fingerprint(secret: str | None) -> str | None:
    if not secret:
        return None
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def check_credentials(*, channel_id: str, channel_secret: str, access_token: str,
                      login_channel_id: str | None = None, login_channel_secret: str | None = None) -> None:
    """Shape checks; the messages never echo a secret."""
    if not CHANNEL_ID_RE.match(channel_id or ""):
        raise InvalidInput("--channel-id must be the channel's numeric ID (Basic settings in the LINE Developers console)")
    if not SECRET_RE.match(channel_secret or ""):
        raise InvalidInput("--channel-secret does not look like a channel secret (8 to 128 visible characters)")
    if not TOKEN_RE.match(access_token or ""):
        raise InvalidInput("--access-token does not look like a channel access token (16 to 1,024 visible characters)")
    if (login_channel_id is None) != (login_channel_secret is None):
        raise InvalidInput("--login-channel-id and --login-channel-secret go together")
    if login_channel_id is not None and not CHANNEL_ID_RE.match(login_channel_id):
        raise InvalidInput("--login-channel-id must be the LINE Login channel's numeric ID")
    if login_channel_secret is not None and not SECRET_RE.match(login_channel_secret):
        raise InvalidInput("--login-channel-secret does not look like a channel secret (8 to 128 visible characters)")


@dataclass(frozen=True)
class ChannelView:
    store: str
    channel_id: str
    channel_secret: str | None
    access_token: str | None
    login_channel_id: str | None
    login_channel_secret: str | None
    bot_user_id: str | None
    bot_basic_id: str | None
    bot_name: str | None
    webhook_url: str
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Credentials:
    """What the server needs to talk to LINE for one store (never rendered)."""

    store_id: int
    channel_id: str
    channel_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    login_channel_id: str | None = None
    login_channel_secret: str | None = field(default=None, repr=False)


def webhook_url(store: Store) -> str:
    return f"{store.link_base.rstrip('/')}/line/webhook/{store.slug}"


def _view(store: Store, ch: LineChannel) -> ChannelView:
    return ChannelView(
        store=store.slug, channel_id=ch.channel_id, channel_secret=fingerprint(ch.channel_secret),
        access_token=fingerprint(ch.access_token), login_channel_id=ch.login_channel_id,
        login_channel_secret=fingerprint(ch.login_channel_secret), bot_user_id=ch.bot_user_id,
        bot_basic_id=ch.bot_basic_id, bot_name=ch.bot_name, webhook_url=webhook_url(store),
        connected_at=ch.connected_at, updated_at=ch.updated_at,
    )


def connect(session, *, store_id: int, channel_id: str, channel_secret: str, access_token: str,
            login_channel_id: str | None = None, login_channel_secret: str | None = None,
            bot_user_id: str | None = None, bot_basic_id: str | None = None, bot_name: str | None = None,
            now: datetime) -> ChannelView:
    check_credentials(channel_id=channel_id, channel_secret=channel_secret, access_token=access_token,
                      login_channel_id=login_channel_id, login_channel_secret=login_channel_secret)
    store = session.get(Store, store_id)
    ch = session.get(LineChannel, store_id)
    if ch is None:
        ch = LineChannel(store_id=store_id, channel_id=channel_id, channel_secret=channel_secret,
                         access_token=access_token, connected_at=now, updated_at=now)
    ch.channel_id, ch.channel_secret, ch.access_token = channel_id, channel_secret, access_token
    if login_channel_id is not None:
        ch.login_channel_id, ch.login_channel_secret = login_channel_id, login_channel_secret
    ch.bot_user_id, ch.bot_basic_id, ch.bot_name = bot_user_id, bot_basic_id, (bot_name or "")[:200] or None
    ch.updated_at = now
    session.add(ch)
    session.flush()
    return _view(store, ch)


def _channel(session, store_id: int) -> LineChannel:
    ch = session.get(LineChannel, store_id)
    if ch is None:
        raise NotFound("this store has no LINE channel: run `crm line connect --channel-id ID "
                       "--channel-secret SECRET --access-token -` first")
    return ch


def status(session, *, store_id: int) -> ChannelView:
    return _view(session.get(Store, store_id), _channel(session, store_id))


def credentials(session, *, store_id: int) -> Credentials:
    ch = _channel(session, store_id)
    return Credentials(store_id=store_id, channel_id=ch.channel_id, channel_secret=ch.channel_secret,
                       access_token=ch.access_token, login_channel_id=ch.login_channel_id,
                       login_channel_secret=ch.login_channel_secret)


def credentials_for_slug(session, *, slug: str) -> Credentials | None:
    """The webhook's lookup: None when the store is unknown, purged or not connected."""
    row = session.exec(select(Store.id, Store.purged_at).where(Store.slug == slug)).first()
    if row is None or row[1] is not None:
        return None
    ch = session.get(LineChannel, row[0])
    if ch is None:
        return None
    return credentials(session, store_id=row[0])


def disconnect(session, *, store_id: int) -> str:
    ch = _channel(session, store_id)
    channel_id = ch.channel_id
    session.delete(ch)
    session.flush()
    return channel_id
