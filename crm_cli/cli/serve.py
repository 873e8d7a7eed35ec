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
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes sharing the port (default 1; about one per core).")] = 1,
) -> None:
    """Serve every store over HTTP: POST /line/webhook/{store}, POST /api/v1/points/give, GET /healthz.

    With --workers N, N processes answer on the same port (they share the database, so
    sessions and rate limits hold across them).

    Example: crm serve --host 127.0.0.1 --port 8080 --workers 2   (behind Caddy or nginx for TLS)
    """
    from crm_cli.cli.context import state
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.web.app import create_app
    from crm_cli.web.context import WebConfig
    from crm_cli.web.server import bind, make_server, run_workers

    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise InvalidInput("--log-level must be one of: critical, error, warning, info, debug")
    st = state(ctx)
    target = st.target()
    st.engine()  # the schema is checked (or the embedded database created) before listening
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    real_port = sock.getsockname()[1]
    many = f", {workers} worker processes" if workers > 1 else ""
    st.info(f"crm serve: http://{host}:{real_port} (database {target.safe_url}{many}); Ctrl-C stops")
    try:
        if workers > 1:
            from crm_cli.cli.context import dispose_engines

            dispose_engines()  # the workers open their own connections
            run_workers(sock, db_url=target.url, workers=workers, log_level=log_level,
                        forwarded_allow_ips=forwarded_allow_ips)
        else:
            make_server(create_app(WebConfig(db_url=st.db_url)), log_level=log_level,
                        forwarded_allow_ips=forwarded_allow_ips).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: requests in flight were finished
        pass
    st.info("crm serve: stopped")
