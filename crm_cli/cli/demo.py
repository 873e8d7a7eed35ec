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
            built, result = demo_service.build_demo(tx.session, slug=slug, now=st.now(), actor=st.actor_name())
            tx.audit(f"{'built' if built else 'showed'} demo store {slug}", store_id=result.store_id)
        cfg = read_config()
        cfg["store"] = slug
        write_config(cfg)
        if built:
            st.info(f"demo store '{slug}' built; it is now the current store. Try: crm member list, crm reward list")
        else:
            st.info(f"demo store '{slug}' already exists (shown below); `crm demo --slug NAME` builds another")
        if st.fmt == "json":
            st.render(result)
        elif st.fmt == "csv":
            st.render(result.members, columns=["phone", "name", "tier", "points", "tags"])
        else:
            for title, rows, cols in result.sections():
                st.render(rows, columns=cols, title=title)
