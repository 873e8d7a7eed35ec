"""A real `crm serve` app on uvicorn, 127.0.0.1, a free port, in a thread of the test process."""

from __future__ import annotations

import threading
import time

import httpx


class Served:
    def __init__(self, db_url: str, *, line_url: str | None = None, line_timeout: float = 0.5) -> None:
        from crm_cli.line.client import MessagingApi, RetryPolicy
        from crm_cli.line.endpoints import Endpoints
        from crm_cli.web.app import create_app
        from crm_cli.web.context import WebConfig
        from crm_cli.web.server import bind, make_server

        factory = None
        if line_url:
            def factory(token: str):
                return MessagingApi(token, endpoints=Endpoints(api=line_url, data_api=line_url, login=line_url),
                                    timeout=line_timeout, retry=RetryPolicy(attempts=3, base_backoff=0.05, max_wait=1.0))
        self.app = create_app(WebConfig(db_url=db_url, line_client=factory))
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = make_server(self.app, log_level="warning", access_log=False)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("crm serve did not start")
            time.sleep(0.01)
        self.http = httpx.Client(base_url=self.url, timeout=10)
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def wait_idle(self, check, timeout: float = 15.0) -> None:
        """Wait until ``check()`` is true (work done after the answer, e.g. replies)."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError("background work did not finish in time")
            time.sleep(0.02)
