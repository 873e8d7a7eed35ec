"""The web side of the per-command state: one unit of work per request, like the CLI.

A route does::

    st = web_state(request, store=slug, command="api points give", actor="apikey:3")
    with st.transaction() as tx:                 # the CLI's AppState.transaction()
        result = points.give_for_spend(tx.session, store_id=tx.store.id, ..., now=st.now())
        tx.audit("...")
    return to_json(result)

``AppState`` is the CLI's own (database URL, store, actor, clock, audit); nothing the
server keeps in memory matters, so several ``crm serve`` processes can share one
PostgreSQL database behind a load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from crm_cli.cli.context import AppState


@dataclass
class WebConfig:
    """What the app factory was given: the database and how to reach LINE."""

    db_url: str | None = None
    #: builds a Messaging API client for an access token (tests: pointed at the fake platform)
    line_client: Callable[[str], Any] | None = None
    max_body: int = 1024 * 1024
    extra: dict = field(default_factory=dict)

    def messaging_api(self, access_token: str):
        if self.line_client is not None:
            return self.line_client(access_token)
        from crm_cli.line.client import MessagingApi

        return MessagingApi(access_token, timeout=10.0)


def config(request) -> WebConfig:
    return request.app.state.crm


def web_state(request, *, store: str | None = None, command: str, actor: str) -> AppState:
    """A fresh AppState for one request (engines are shared per database URL)."""
    return AppState(db_url=config(request).db_url, store_slug=store, quiet=True, actor=actor, command=command)


def to_json(data: Any) -> Any:
    """The same JSON as ``--format json`` on the CLI."""
    from crm_cli.cli.render import to_plain

    return to_plain(data)
