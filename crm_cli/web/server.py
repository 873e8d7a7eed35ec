"""Run the ASGI app on uvicorn (``crm serve`` and the tests use the same function).

``crm serve --workers N`` runs N worker processes on one listening socket (uvicorn's
supervisor): each worker builds the app from :func:`worker_app` with the database URL
the parent passes in :data:`ENV_DB_URL`. Nothing a worker keeps in memory matters (web
sessions, rate limits and signing secrets are in the database), so the workers share
one database as separate servers would.
"""

from __future__ import annotations

import os
import socket

#: the database URL the workers of `crm serve --workers N` open
ENV_DB_URL = "CRM_SERVE_DATABASE_URL"


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _config(app, *, log_level: str, access_log: bool, forwarded_allow_ips: str | None, workers: int = 1):
    import uvicorn

    return uvicorn.Config(
        app, log_level=log_level, access_log=access_log, lifespan="on", interface="asgi3",
        proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips or "127.0.0.1",
        timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
        workers=workers, factory=isinstance(app, str),
    )


def make_server(app, *, log_level: str = "info", access_log: bool = True, forwarded_allow_ips: str | None = None):
    import uvicorn

    return uvicorn.Server(_config(app, log_level=log_level, access_log=access_log,
                                  forwarded_allow_ips=forwarded_allow_ips))


def worker_app():
    """The app of one worker process of `crm serve --workers N` (uvicorn builds it by name)."""
    from crm_cli.web.app import create_app
    from crm_cli.web.context import WebConfig

    return create_app(WebConfig(db_url=os.environ.get(ENV_DB_URL)))


def run_workers(sock: socket.socket, *, db_url: str, workers: int, log_level: str = "info",
                forwarded_allow_ips: str | None = None) -> None:
    """Serve on ``sock`` with ``workers`` processes until SIGINT or SIGTERM (then each worker
    finishes the requests in flight). A worker that dies is replaced."""
    from uvicorn.supervisors import Multiprocess

    os.environ[ENV_DB_URL] = db_url  # the workers are spawned with this environment
    config = _config(f"{__name__}:worker_app", log_level=log_level, access_log=True,
                     forwarded_allow_ips=forwarded_allow_ips, workers=workers)
    Multiprocess(config, sockets=[sock]).run()
