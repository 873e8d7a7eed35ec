"""`crm serve --workers 2`: several processes answer on one port and share the database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_workers_share_the_port_and_the_database(shop):
    key = shop.json("apikey", "create", "--branch", "Siam", "--label", "POS 1")["key"]
    proc = subprocess.Popen([sys.executable, "-m", "crm_cli", "--db", shop.db_url, "serve", "--port", "0",
                             "--workers", "2", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+) .*2 worker processes", line)
        assert m, line
        url = f"http://127.0.0.1:{m.group(1)}"
        deadline = time.monotonic() + 60
        while True:  # the workers start their own interpreters
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no worker answered"
            time.sleep(0.1)
        workers = [p for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == proc.pid]
        assert len(workers) >= 2  # the supervisor's children: the two workers (and a resource tracker)

        def one(i: int):
            return httpx.post(url + "/api/v1/points/give", json={"phone": "0812345678", "spend": "100.00",
                                                                 "key": f"R-{i % 10}"},
                              headers={"Authorization": f"Bearer {key}"}, timeout=30)

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(one, range(30)))
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200]
        # ten receipts, each given once whichever worker answered it
        assert sum(not r.json()["duplicate"] for r in answers) == 10
        assert len({r.json()["entry_id"] for r in answers}) == 10
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err and "crm serve: stopped" in err
    assert shop.json("points", "balance", "0812345678")["balance"] == 40


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
