"""crm demo: build a demo store in the current database and show it."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli.context import read_config, state, write_config


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        slug: Annotated[str, typer.Option("--slug", help="Slug of the demo store.")] = "demo-cafe",
    ) -> None:
        """Build a demo store (branches, staff, members, points, rewards) and show it.

        It becomes the current store only when none is selected yet.
        Example: crm demo
        """
        from crm_cli.services import demo as demo_service

        st = state(ctx)
        with st.transaction(store=False) as tx:
            built, result = demo_service.build_demo(tx.session, slug=slug, now=st.now(), actor=st.actor_name())
            tx.audit(f"{'built' if built else 'showed'} demo store {slug}", store_id=result.store_id)
        current = st.store_slug_resolved(required=False)
        if current is None:  # only a first store becomes current: the operator's choice is never changed
            cfg = read_config()
            cfg["store"] = slug
            write_config(cfg)
            where = "it is now the current store. Try: crm member list, crm reward list"
        elif current == slug:
            where = "it is the current store"
        else:
            where = f"the current store is still '{current}' (try: crm --store {slug} member list)"
        if built:
            st.info(f"demo store '{slug}' built; {where}")
        else:
            st.info(f"demo store '{slug}' already exists (shown below); {where}; `crm demo --slug NAME` builds another")
        from crm_cli.cli.render import Document, Section

        st.render(Document([Section(title, rows, cols) for title, rows, cols in result.sections()], whole=result))
