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

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from crm_cli.cli.context import AppState

#: database connections a server process keeps open for the counter API
POOL_SIZE = 10


@dataclass
class WebConfig:
    """What the app factory was given: the database and how to reach LINE."""

    db_url: str | None = None
    #: builds a Messaging API client for an access token (tests: pointed at the fake platform)
    line_client: Callable[[str], Any] | None = None
    max_body: int = 1024 * 1024
    extra: dict = field(default_factory=dict)
    _engine: Any = field(default=None, repr=False)

    def engine(self):
        """The counter API's engine (the schema checked on first use): its pool keeps
        :data:`POOL_SIZE` connections open, one per request in flight, so a busy counter does
        not open and close database connections as the requests come and go."""
        if self._engine is None:
            from crm_cli.db.engine import make_engine

            st = AppState(db_url=self.db_url, quiet=True)
            st.engine()  # the schema check every command makes
            self._engine = make_engine(st.target(), pool_size=POOL_SIZE)
        return self._engine

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


@dataclass
class ApiTx:
    """One counter-API request's unit of work: the session, and the key's store and branch."""

    session: Any
    now: datetime
    store_id: int
    store_slug: str
    branch: str
    key_id: int
    actor: str
    summary: str = ""

    def audit(self, summary: str) -> None:
        self.summary = summary


def bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@contextmanager
def api_unit(cfg: WebConfig, *, authorization: str | None, command: str, write: bool) -> Iterator[ApiTx | None]:
    """One transaction for a counter-API request: the key (with its branch and store), the
    store's service state, the route's work, then (``write``) the key's use and the audit
    record, committed together. Yields None when the key is not valid (nothing is written);
    a store whose service is off is refused as the CLI refuses it (StoreSuspended)."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import apikeys

    token = bearer(authorization)
    if token is None:
        yield None
        return
    now = AppState().now()
    with unit_of_work(cfg.engine(), write=write) as session:
        ident = apikeys.authenticate(session, key=token)
        if ident is None:
            yield None
            return
        _refuse_suspended(session, ident.store_id, ident.store_slug, now, list(ident.events))
        tx = ApiTx(session=session, now=now, store_id=ident.store_id, store_slug=ident.store_slug,
                   branch=ident.branch, key_id=ident.id, actor=f"apikey:{ident.id}")
        yield tx
        if write:
            from crm_cli.services.audit import record

            apikeys.touch(session, key_id=ident.id, now=now, last_used_at=ident.last_used_at)
            session.flush()
            record(session.connection(), store_id=ident.store_id, actor=tx.actor, command=command,
                   summary=tx.summary, now=now)


def _refuse_suspended(session, store_id: int, slug: str, now: datetime, events: list) -> None:
    from crm_cli.services import store_state

    service = store_state.service_state(session.connection(), store_id=store_id, now=now, events=events)
    if service.suspended:
        raise store_state.suspended_error(slug, service)


def to_json(data: Any) -> Any:
    """The same JSON as ``--format json`` on the CLI."""
    from crm_cli.cli.render import to_plain

    return to_plain(data)
