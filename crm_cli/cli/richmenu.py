"""`crm richmenu`: LINE rich menus, a default one and one per segment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import segment_option
from crm_cli.cli.run import current_store_id, listing

app = typer.Typer(help="LINE rich menus: create, default, link to a segment, list, remove.",
                  no_args_is_help=True, rich_markup_mode=None)

NameArg = Annotated[str, typer.Argument(help="Rich menu name.")]
COLUMNS = ["name", "default", "segment", "linked", "areas", "tags", "line_richmenu_id", "created_at"]


def _api(tx):
    from crm_cli.cli.line import client_for
    from crm_cli.services import line_channel

    return client_for(line_channel.credentials(tx.session, store_id=current_store_id(tx)).access_token)


@app.command("create")
def richmenu_create(
    ctx: typer.Context,
    name: NameArg,
    image: Annotated[Path, typer.Option("--image", help="PNG or JPEG, at most 1 MB, e.g. 2500x1686 or 2500x843.")],
    layout: Annotated[Path, typer.Option("--layout", help="LINE's rich menu object (JSON): chatBarText and areas with bounds and an action (uri, message or none) and an optional tag.")],
) -> None:
    """Create a rich menu on LINE from an image and a layout.

    Example: crm richmenu create main --image menu.png --layout menu.json
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.fileio.text import read_text
    from crm_cli.services import richmenus as svc

    try:
        data = image.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"--image {image}: {exc.strerror or exc}") from None
    raw = read_text(layout, what="--layout")
    svc.check_image(data)
    st = state(ctx)
    with st.transaction() as tx:
        with _api(tx) as api:
            res = svc.create(tx.session, store_id=current_store_id(tx), name=name, image=data, layout_raw=raw, api=api, now=st.now())
        tx.audit(f"created rich menu '{res.name}' ({res.areas} areas)")
    st.render(res, columns=COLUMNS)


@app.command("default")
def richmenu_default(ctx: typer.Context, name: NameArg) -> None:
    """Show this menu to every follower without a menu of their own.

    Example: crm richmenu default main
    """
    from crm_cli.services import richmenus as svc

    st = state(ctx)
    with st.transaction() as tx:
        with _api(tx) as api:
            res = svc.make_default(tx.session, store_id=current_store_id(tx), name=name, api=api)
        tx.audit(f"made rich menu '{res.name}' the default")
    st.render(res, columns=COLUMNS)


@app.command("link")
def richmenu_link(ctx: typer.Context, name: NameArg,
                  segment: Annotated[str, segment_option("Link the segment's followers to this menu.")]) -> None:
    """Link a segment's followers to this menu (500 a request); `maintenance run` keeps it
    up to date as people join and leave the segment.

    Example: crm richmenu link gold-menu --segment gold
    """
    from crm_cli.services import richmenus as svc

    st = state(ctx)
    with st.transaction() as tx:
        with _api(tx) as api:
            res = svc.link(tx.session, store_id=current_store_id(tx), name=name, segment=segment, api=api, now=st.now())
        tx.audit(f"linked rich menu '{res.menu}' to segment '{res.segment}': {res.linked} linked, {res.unlinked} unlinked")
    st.render(res)


listing(app, "richmenus:list_menus", columns=COLUMNS,
        help="Rich menus: default, segment, followers linked, areas and action tags.\n\nExample: crm richmenu list")


@app.command("remove")
def richmenu_remove(ctx: typer.Context, name: NameArg) -> None:
    """Delete the menu on LINE (its followers see the default again) and here.

    Example: crm richmenu remove gold-menu
    """
    from crm_cli.services import richmenus as svc

    st = state(ctx)
    with st.transaction() as tx:
        with _api(tx) as api:
            removed = svc.remove(tx.session, store_id=current_store_id(tx), name=name, api=api, now=st.now())
        tx.audit(f"removed rich menu '{removed}'")
    st.render({"removed": removed})
