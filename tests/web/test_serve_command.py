"""`crm serve` as operators run it: a subprocess on 127.0.0.1, a free port, both databases."""

from __future__ import annotations

import httpx

from crm_cli.domain.errors import ExitCode
from tests.support import serving


def test_crm_serve_process_answers_and_stops_cleanly(cli, fake_line, tmp_path):
    cli.ok("store", "create", "cafe", "--name", "Cafe")
    with serving(cli.db_url, "--log-level", "warning", env={"CRM_LINE_API_URL": fake_line.url}) as srv:
        r = httpx.get(srv.url + "/healthz", timeout=2)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        r = httpx.post(srv.url + "/line/webhook/cafe", content=b"{}", headers={"x-line-signature": "x"}, timeout=5)
        assert r.status_code == 404  # the store has no LINE channel
        r = httpx.post(srv.url + "/api/v1/points/give", json={"phone": "0812345678", "spend": "10.00"}, timeout=5)
        assert r.status_code == 401
    assert srv.returncode == 0, srv.err
    assert srv.out == ""  # stdout is data: the server writes nothing there
    assert "Traceback" not in srv.err


def test_crm_serve_refuses_a_busy_port(cli):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        err = cli.fails(ExitCode.INVALID_INPUT, "serve", "--port", str(port))
        assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}:")
    finally:
        s.close()
