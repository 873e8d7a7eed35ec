"""`crm serve --workers 2`: several processes answer on one port and share the database."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support import serving


def test_workers_share_the_port_and_the_database(shop):
    key = shop.json("apikey", "create", "--branch", "Siam", "--label", "POS 1")["key"]
    with serving(shop.db_url, "--workers", "2", "--log-level", "warning", banner=r" .*2 worker processes",
                 start_within=60, stop_within=30) as srv:
        url, proc = srv.url, srv.proc
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
    assert srv.returncode == 0, srv.err
    assert srv.out == "" and "Traceback" not in srv.err and "crm serve: stopped" in srv.err
    assert shop.json("points", "balance", "0812345678")["balance"] == 40


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
