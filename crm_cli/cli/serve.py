"""`crm serve`: the web server for every store (LINE webhook, counter API, health)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Mount `crm serve` on the root app (a command, not a group; its imports stay inside)."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (put a TLS reverse proxy in front).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")] = 8080,
    log_level: Annotated[str, typer.Option("--log-level", help="critical|error|warning|info|debug.")] = "info",
    forwarded_allow_ips: Annotated[Optional[str], typer.Option("--forwarded-allow-ips", help="Proxies trusted for X-Forwarded-* headers (default 127.0.0.1).")] = None,
) -> None:
    """Serve every store over HTTP: POST /line/webhook/{store}, POST /api/v1/points/give, GET /healthz.

    Example: crm serve --host 127.0.0.1 --port 8080   (behind Caddy or nginx for TLS)
    """
    from crm_cli.cli.context import state
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.web.app import create_app
    from crm_cli.web.context import WebConfig
    from crm_cli.web.server import bind, make_server

    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise InvalidInput("--log-level must be one of: critical, error, warning, info, debug")
    st = state(ctx)
    target = st.target()
    st.engine()  # the schema is checked (or the embedded database created) before listening
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server = make_server(create_app(WebConfig(db_url=st.db_url)), log_level=log_level,
                         forwarded_allow_ips=forwarded_allow_ips)
    real_port = sock.getsockname()[1]
    st.info(f"crm serve: http://{host}:{real_port} (database {target.safe_url}); Ctrl-C stops")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: requests in flight were finished
        pass
    st.info("crm serve: stopped")
