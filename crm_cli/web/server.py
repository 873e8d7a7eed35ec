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

#: path prefixes whose last part is a token or a phone number: never written to a log whole
#: (a QR claim token, a staff invitation token, a member card's phone: keep its last 4 digits)
_HIDDEN_TAILS = {"/claim/": 0, "/staff/join/": 0, "/api/v1/members/": 4}


def log_path(path: str) -> str:
    """``path`` (with its query string, if any) as the logs show it: a token or a phone at
    the end of the path hidden, every query value hidden (a LINE Login callback carries
    its authorization code there): ``/claim/***``, ``/api/v1/members/***5678?lots=***``."""
    path, sep, query = path.partition("?")
    for prefix, keep in _HIDDEN_TAILS.items():
        if path.startswith(prefix) and len(path) > len(prefix):
            tail = path[len(prefix):]
            path = prefix + "***" + (tail[-keep:] if keep and len(tail) > keep else "")
            break
    if sep:
        query = "&".join(part.partition("=")[0] + ("=***" if "=" in part else "") for part in query.split("&"))
    return path + sep + query


class _AccessLogPaths:
    """A filter of uvicorn's access log: the request line's path through :func:`log_path`."""

    def filter(self, record) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], log_path(args[2]), *args[3:])
        return True


def hide_paths_in_access_log() -> None:
    """Install :class:`_AccessLogPaths` on uvicorn's access logger (once per process)."""
    import logging

    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _AccessLogPaths) for f in logger.filters):
        logger.addFilter(_AccessLogPaths())


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _log_config() -> dict:
    """uvicorn's logging, with the access log on stderr like every other line (stdout is data:
    a server writes nothing there)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return cfg


def _config(app, *, log_level: str, access_log: bool, forwarded_allow_ips: str | None, workers: int = 1):
    import uvicorn

    return uvicorn.Config(
        app, log_level=log_level, access_log=access_log, log_config=_log_config(), lifespan="on", interface="asgi3",
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
