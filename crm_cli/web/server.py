"""Run the ASGI app on uvicorn (``crm serve`` and the tests use the same function)."""

from __future__ import annotations

import socket


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def make_server(app, *, log_level: str = "info", access_log: bool = True, forwarded_allow_ips: str | None = None):
    import uvicorn

    config = uvicorn.Config(
        app, log_level=log_level, access_log=access_log, lifespan="on", interface="asgi3",
        proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips or "127.0.0.1",
        timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
    )
    return uvicorn.Server(config)
