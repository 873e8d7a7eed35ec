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
        """Build a demo store (branches, staff, members, points, rewards) and show it. Example: crm demo"""
        from crm_cli.services import demo as demo_service

        st = state(ctx)
        with st.transaction(store=False) as tx:
            result = demo_service.build_demo(tx.session, slug=slug, now=st.now(), progress=st.progress)
            tx.audit(f"built demo store {slug}", store_id=result.store_id)
        cfg = read_config()
        cfg["store"] = slug
        write_config(cfg)
        st.info(f"demo store '{slug}' is ready and is now the current store; try: crm member list")
        for title, rows, cols in result.sections():
            st.render(rows, columns=cols, title=title)
