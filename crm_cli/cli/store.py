"""crm store: create, use, list, show, edit, delete."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import config_path, read_config, state, write_config
from crm_cli.cli.options import YesOpt, amount, fine_amount, whole

app = typer.Typer(help="Stores (shops): create, select, show, edit and delete.", no_args_is_help=True)


def _remember(slug: str) -> None:
    cfg = read_config()
    cfg["store"] = slug
    write_config(cfg)


@app.command("create")
def store_create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short unique id, e.g. 'coffee-siam'.")],
    name: Annotated[str, typer.Option("--name", help="Display name of the shop.")],
    phone: Annotated[Optional[str], typer.Option("--phone", help="Shop contact phone.")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Shop contact email.")] = None,
    use: Annotated[bool, typer.Option("--use/--no-use", help="Also remember it as the current store.")] = True,
) -> None:
    """Create a store. Example: crm store create coffee --name "Coffee Siam" --phone 02-123-4567"""
    from crm_cli.services import stores

    st = state(ctx)
    with st.transaction(store=False) as tx:
        store_id, info = stores.create_store(tx.session, slug=slug, name=name, phone_raw=phone, email=email, now=st.now())
        tx.audit(f"created store {slug}", store_id=store_id)
    if use:
        _remember(slug)
        st.info(f"current store is now '{slug}' (remembered in {config_path()})")
    st.render(info)


@app.command("use")
def store_use(ctx: typer.Context, slug: Annotated[str, typer.Argument(autocompletion=complete.stores, help="Store slug to remember as current.")]) -> None:
    """Remember SLUG as the current store. Example: crm store use coffee"""
    from crm_cli.domain.errors import NotFound
    from crm_cli.services import stores

    st = state(ctx)
    with st.reading(store=False) as tx:
        if not stores.store_exists(tx.session, slug):
            raise NotFound(f"store '{slug}' not found: see `crm store list`")
    _remember(slug)
    st.info(f"current store is now '{slug}' (remembered in {config_path()})")


@app.command("list")
def store_list(ctx: typer.Context) -> None:
    """List every store in the database. Example: crm store list --format json"""
    from crm_cli.services import store_state  # plain SQL: no model classes to build at start-up

    st = state(ctx)
    with st.reading(store=False, core=True) as tx:
        rows = store_state.list_stores(tx.conn, now=st.now())
    st.render(rows, columns=["slug", "name", "phone", "branches", "staff", "members", "subscription", "suspended"])


@app.command("show")
def store_show(ctx: typer.Context) -> None:
    """Show the current store and its settings. Example: crm --store coffee store show"""
    from crm_cli.services import store_state

    st = state(ctx)
    with st.reading(allow_suspended=True, core=True) as tx:
        info = store_state.store_info(tx.conn, tx.store.id, with_terms=True, now=st.now())
    st.render(info)


@app.command("edit")
def store_edit(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Option("--name", help="New display name.")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="Contact phone.")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Contact email.")] = None,
    terms_file: Annotated[Optional[Path], typer.Option("--terms-file", help="Terms and conditions / privacy policy text file.")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Base URL for invite, sign-up and claim links.")] = None,
    import_max_rows: Annotated[Optional[int], typer.Option("--import-max-rows", parser=whole("--import-max-rows", 1), metavar="N", help="Row limit for member import (default 5000).")] = None,
    answer_retention_days: Annotated[Optional[int], typer.Option("--answer-retention-days", parser=whole("--answer-retention-days", 1, 36_500), metavar="DAYS", help="Delete registration answers this many days after they were given.")] = None,
    point_value: Annotated[Optional[Decimal], typer.Option("--point-value", parser=amount("--point-value", what="point value", example="0.05 or 0.25", check=fine_amount(4, Decimal(100000))), metavar="THB", help="THB value of one point, used by `crm report liability` (e.g. 0.05).")] = None,
) -> None:
    """Edit the current store. Example: crm store edit --name "Coffee Siam 2" --base-url https://crm.example.com"""
    from crm_cli.services import stores

    st = state(ctx)
    pv = None
    if point_value is not None:
        from crm_cli.domain.points import parse_point_value

        pv = parse_point_value(point_value)
    terms = None
    if terms_file is not None:
        from crm_cli.fileio.text import read_text

        terms = read_text(terms_file, what="terms file")
    with st.transaction() as tx:
        info = stores.edit_store(
            tx.session, store_id=tx.store.id, name=name, phone_raw=phone, email=email, terms=terms,
            link_base=base_url, import_max_rows=import_max_rows, answer_retention_days=answer_retention_days,
            point_value=pv, now=st.now(),
        )
        changed = [k for k, v in dict(name=name, phone=phone, email=email, terms=terms, base_url=base_url,
                                      import_max_rows=import_max_rows, answer_retention_days=answer_retention_days,
                                      point_value=pv).items() if v is not None]
        tx.audit("edited " + (", ".join(changed) or "nothing"))
    st.render(info)


@app.command("delete")
def store_delete(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Slug of the store to delete.")],
    yes: YesOpt = False,
    purge: Annotated[bool, typer.Option("--purge", help="Also erase its members and their points (refused without it while it has members).")] = False,
) -> None:
    """Delete a store and its data for good; its invoices and audit records are kept.

    Refused while the store has members unless --purge. Asks for confirmation on a
    terminal; scripts pass --yes. If it was the current store, none is current afterwards.
    Example: crm store delete demo-cafe --purge --yes
    """
    import sys

    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import stores

    st = state(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput(f"deleting store '{slug}' cannot be undone: pass --yes to confirm when not on a terminal")
        what = " and all its members" if purge else ""
        if not typer.confirm(f"Delete store '{slug}'{what} for good? This cannot be undone", default=False, err=True):
            from crm_cli.domain.errors import Declined

            raise Declined(f"not confirmed: store '{slug}' was not deleted")
    with st.transaction(store=False) as tx:
        res = stores.delete_store(tx.session, slug=slug, purge=purge, now=st.now())
        tx.audit(f"deleted store {slug}: {res.members_erased} member(s) erased, {res.rows_deleted} rows deleted",
                 store_id=res.store_id)
        tx.store_label = f"{slug} (deleted)"
    cfg = read_config()
    if cfg.get("store") == slug:
        cfg.pop("store")
        write_config(cfg)
        st.info(f"'{slug}' was the current store: none is selected now (`crm store use SLUG`)")
    st.render(res)
