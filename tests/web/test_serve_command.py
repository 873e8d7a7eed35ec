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


def test_the_access_log_keeps_tokens_and_phones_out(cli):
    """The access log (info level) writes each request line, but not a QR claim token, a
    staff invitation token, a member card's phone or a query value (a LINE Login code)."""
    cli.ok("store", "create", "cafe", "--name", "Cafe")
    token = "Zq8xT0kenThatMustNotBeLogged"
    with serving(cli.db_url, "--log-level", "info") as srv:
        for path in (f"/claim/{token}", f"/staff/join/{token}", "/api/v1/members/0812345678?lots=2",
                     f"/login/cafe?code={token}&state=s1"):
            httpx.get(srv.url + path, timeout=5)
    assert srv.returncode == 0, srv.err
    assert srv.out == ""  # the access log is on stderr too: stdout is data
    assert '"GET /claim/*** HTTP/1.1"' in srv.err and '"GET /staff/join/*** HTTP/1.1"' in srv.err
    assert '"GET /api/v1/members/***5678?lots=*** HTTP/1.1" 401' in srv.err
    assert '"GET /login/cafe?code=***&state=*** HTTP/1.1"' in srv.err
    assert token not in srv.err and "0812345678" not in srv.err and "12345678" not in srv.err


def test_log_path_hides_the_tail_and_the_query_values():
    from crm_cli.web.server import log_path

    assert log_path("/api/v1/members/+66812345678") == "/api/v1/members/***5678"
    assert log_path("/api/v1/members/12") == "/api/v1/members/***"
    assert log_path("/claim/abc?x=1&flag") == "/claim/***?x=***&flag"
    assert log_path("/m/cafe/rewards/R7") == "/m/cafe/rewards/R7"
    assert log_path("/claim/") == "/claim/"
