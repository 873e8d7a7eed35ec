"""`crm serve` as operators run it: a subprocess on 127.0.0.1, a free port, both databases."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from crm_cli.domain.errors import ExitCode


def test_crm_serve_process_answers_and_stops_cleanly(cli, fake_line, tmp_path):
    cli.ok("store", "create", "cafe", "--name", "Cafe")
    env = dict(os.environ, CRM_LINE_API_URL=fake_line.url, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "crm_cli", "--db", cli.db_url, "serve", "--port", "0",
                             "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, line
        url = f"http://127.0.0.1:{m.group(1)}"
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        r = httpx.post(url + "/line/webhook/cafe", content=b"{}", headers={"x-line-signature": "x"}, timeout=5)
        assert r.status_code == 404  # the store has no LINE channel
        r = httpx.post(url + "/api/v1/points/give", json={"phone": "0812345678", "spend": "10.00"}, timeout=5)
        assert r.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert out == ""  # stdout is data: the server writes nothing there
    assert "Traceback" not in err


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
