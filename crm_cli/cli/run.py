"""The two shapes most store commands have: read something of the current store and render
it (:func:`show`), or call one service in one transaction, audit what it did and render the
result (:func:`apply`).

``service`` is a service function that takes the session first and ``store_id=`` (plus the
command's own keyword arguments); ``audit`` turns its result into the audit line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from crm_cli.cli.context import AppState, StoreRef, Tx, state


def current_store(tx: Tx) -> StoreRef:
    """The current store: ``reading()`` and ``transaction()`` load it unless told not to
    (``store=False``), and a command that asks for it never says so."""
    if tx.store is None:
        raise RuntimeError("this transaction was opened without the current store")
    return tx.store


def current_store_id(tx: Tx) -> int:
    return current_store(tx).id


def read(ctx: typer.Context, service: Callable[..., Any], /, *, with_now: bool = False,
         **kwargs: Any) -> tuple[AppState, Any]:
    """The service's answer for the current store, in a read-only transaction (given
    ``now=`` when ``with_now``)."""
    st = state(ctx)
    with st.reading() as tx:
        if with_now:
            kwargs["now"] = st.now()
        return st, service(tx.session, store_id=current_store_id(tx), **kwargs)


def show(ctx: typer.Context, service: Callable[..., Any], /, *, columns: list[str] | None = None,
         **kwargs: Any) -> None:
    """Read (as :func:`read`) and render the answer."""
    st, res = read(ctx, service, **kwargs)
    st.render(res, columns=columns)


def listing(app: typer.Typer, service: str, /, *, columns: list[str] | None = None, help: str) -> None:
    """Register the group's ``list`` command: ``service`` ("module:function" of
    ``crm_cli.services``, imported when the command runs) read for the current store and
    rendered in ``columns``."""
    module, function = service.split(":")

    def command(ctx: typer.Context) -> None:
        from importlib import import_module

        show(ctx, getattr(import_module(f"crm_cli.services.{module}"), function), columns=columns)

    app.command("list", help=help)(command)


def write(ctx: typer.Context, service: Callable[..., Any], /, *, audit: Callable[[Any], str], with_now: bool = True,
          **kwargs: Any) -> tuple[AppState, Any]:
    """The service in one transaction for the current store (given ``now=`` unless told
    ``with_now=False``), audited by ``audit(result)``; committed when this returns."""
    st = state(ctx)
    with st.transaction() as tx:
        if with_now:
            kwargs["now"] = st.now()
        res = service(tx.session, store_id=current_store_id(tx), **kwargs)
        tx.audit(audit(res))
    return st, res


def apply(ctx: typer.Context, service: Callable[..., Any], /, *, audit: Callable[[Any], str],
          columns: list[str] | None = None, with_now: bool = True, **kwargs: Any) -> None:
    """Write (as :func:`write`) and render the answer in ``columns``."""
    st, res = write(ctx, service, audit=audit, with_now=with_now, **kwargs)
    st.render(res, columns=columns)


def export(ctx: typer.Context, service: Callable[..., Any], /, *, rows: str, **kwargs: Any) -> None:
    """A read-only export: the service writes the file and answers with ``rows`` and
    ``file``; say how many ``rows`` (e.g. "code(s)") went where, then render the answer."""
    st, res = read(ctx, service, **kwargs)
    st.info(f"{res.rows} {rows} written to {res.file}")
    st.render(res)
