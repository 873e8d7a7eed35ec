"""Campaign senders as real processes: killed in the middle, and two at once."""

from __future__ import annotations

import json
import subprocess
import time

from tests.engage.support import many_followers
from tests.support import crm_command, crm_env


def _env(tmp_path, line):
    return crm_env(tmp_path, CRM_LINE_API_URL=line.url, CRM_LINE_DATA_API_URL=line.url, CRM_LINE_BACKOFF="0.01")


def _sender(cli, tmp_path, line, *extra):
    argv = crm_command("--db", cli.db_url, "--store", "cafe", "--format", "json", "campaign", "send", "c", *extra)
    return subprocess.Popen(argv, env=_env(tmp_path, line), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _batches(cli):
    from sqlalchemy import func, select

    from crm_cli.cli.context import AppState
    from crm_cli.db.models import CampaignBatch
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(AppState(db_url=cli.db_url).engine(), write=False) as session:
        return dict(session.execute(select(CampaignBatch.status, func.count()).group_by(CampaignBatch.status)).all())


def test_a_sender_killed_mid_request_then_resumed_never_sends_twice(connected, tmp_path):
    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 1201)
    line.quota_value = 5000
    cli.ok("campaign", "create", "c", "--all", "--text", "hi")
    line.fail("POST", "/v2/bot/message/multicast", 200, times=2)  # batches 1 and 2 at once
    line.fail("POST", "/v2/bot/message/multicast", 200, delay=3.0)  # batch 3 hangs: the sender dies waiting
    proc = _sender(cli, tmp_path, line)
    deadline = time.monotonic() + 30
    # killed once batch 3 is marked sending AND its request has reached LINE (it is hanging there)
    while (_batches(cli).get("accepted", 0) < 2 or _batches(cli).get("sending", 0) < 1
           or line.faults):  # the hanging answer's fault is taken when batch 3's request arrives
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else "timeout"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    time.sleep(3.5)  # LINE finishes the request the dead sender made: batch 3 was delivered
    assert len(line.delivered) == 1201
    # without --takeover the claimed batch waits out its lease; with it, the same key goes again
    res = cli.json("campaign", "send", "c")
    assert res["status"] == "sending" and res["pending"] == 201
    res = cli.json("campaign", "send", "c", "--takeover")
    assert res["status"] == "sent" and res["accepted"] == 1201 and res["already_accepted"] == 1
    calls = line.calls("POST", "/v2/bot/message/multicast")
    assert [r.status for r in calls] == [200, 200, 200, 409]
    assert calls[2].headers["x-line-retry-key"] == calls[3].headers["x-line-retry-key"]
    assert len(line.delivered) == 1201  # nobody got it twice


def test_two_concurrent_senders_split_the_batches(connected, tmp_path):
    cli, line = connected, connected.line
    ids = many_followers(cli, tmp_path, 4600)  # 10 multicasts
    line.quota_value = 10_000
    cli.ok("campaign", "create", "c", "--all", "--text", "hi")
    line.fail("POST", "/v2/bot/message/multicast", 200, delay=0.15, times=20)  # slow enough to interleave
    # the first multicast is answered only once the other sender's first one has arrived too,
    # however late that process starts on a busy machine
    line.gate("POST", "/v2/bot/message/multicast", parties=2, timeout=60)
    procs = [_sender(cli, tmp_path, line), _sender(cli, tmp_path, line)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    calls = line.calls("POST", "/v2/bot/message/multicast")
    assert [r.status for r in calls] == [200] * 10  # no batch went twice, not even as a 409
    assert len({r.headers["x-line-retry-key"] for r in calls}) == 10
    delivered = [u for u, _ in line.delivered]
    assert sorted(delivered) == sorted(ids)
    assert sum(o["requests_sent"] for o in outs) == 10
    assert all(o["requests_sent"] >= 1 for o in outs), outs  # both took part
    assert cli.json("campaign", "show", "c")["status"] == "sent"
