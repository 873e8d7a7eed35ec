"""crm campaign against the fake LINE platform, on both databases."""

from __future__ import annotations

import json

from crm_cli.domain.errors import ExitCode
from tests.engage.support import import_followers, many_followers, uid


def _multicasts(line):
    return [r for r in line.calls("POST", "/v2/bot/message/multicast") if r.status == 200]


def test_1201_recipients_are_three_multicasts(connected, tmp_path):
    cli, line = connected, connected.line
    ids = many_followers(cli, tmp_path, 1201)
    line.quota_value = 5000
    cli.ok("segment", "create", "everyone")
    cli.ok("campaign", "create", "hello", "--segment", "everyone", "--text", "Hello from Cafe Siam")
    res = cli.json("campaign", "send", "hello")
    assert res["status"] == "sent" and res["recipients"] == 1201 and res["accepted"] == 1201
    calls = _multicasts(line)
    assert [len(r.json()["to"]) for r in calls] == [500, 500, 201]
    keys = [r.headers["x-line-retry-key"] for r in calls]
    assert len(set(keys)) == 3
    sent_to = [u for r in calls for u in r.json()["to"]]
    assert sorted(sent_to) == sorted(ids)
    listed = cli.json("campaign", "list")
    assert listed[0]["state"] == "inactive" and listed[0]["status"] == "sent"
    # sending again is refused and sends nothing
    err = cli.fails(ExitCode.CONFLICT, "campaign", "send", "hello")
    assert "already sent" in err
    assert len(_multicasts(line)) == 3


def test_blocked_followers_are_skipped_and_quota_refuses(connected, tmp_path):
    cli, line = connected, connected.line
    import_followers(cli, tmp_path, [(uid(1), "A", "", ""), (uid(2), "B", "", ""), (uid(3), "C", "", "")])
    for i in (1, 2, 3):
        line.add_follower(uid(i))
    cli.ok("follower", "sync", "--profiles", "none")
    line.remove_follower(uid(2))  # 2 and 3 block the account: the next sync marks them
    line.remove_follower(uid(3))
    cli.ok("follower", "sync", "--profiles", "none")
    cli.ok("campaign", "create", "c1", "--all", "--text", "hi")
    line.quota_value = 0 + len(line.delivered)  # nothing left this month
    err = cli.fails(ExitCode.CONFLICT, "campaign", "send", "c1")
    assert "only 0 of this month's" in err
    assert not line.calls("POST", "/v2/bot/message/multicast")
    assert cli.json("campaign", "show", "c1")["status"] == "draft"
    line.quota_value = 10
    res = cli.json("campaign", "send", "c1")
    assert res["recipients"] == 1 and res["skipped"] == 2
    assert _multicasts(line)[0].json()["to"] == [uid(1)]


def test_quota_partial_sends_to_as_many_as_it_allows(connected, tmp_path):
    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 7)
    line.quota_value = 5
    cli.ok("campaign", "create", "c", "--all", "--text", "hi")
    assert "--partial" in cli.fails(ExitCode.CONFLICT, "campaign", "send", "c")
    res = cli.json("campaign", "send", "c", "--partial")
    assert res["recipients"] == 5 and res["skipped"] == 2 and "monthly quota" in res["note"]
    assert len(_multicasts(line)[0].json()["to"]) == 5


def test_a_500_then_success_reuses_the_retry_key(connected, tmp_path):
    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 3)
    cli.ok("campaign", "create", "c", "--all", "--text", "hi")
    line.fail("POST", "/v2/bot/message/multicast", 500, times=1)
    res = cli.json("campaign", "send", "c")
    assert res["accepted"] == 3
    calls = line.calls("POST", "/v2/bot/message/multicast")
    assert [r.status for r in calls] == [500, 200]
    assert calls[0].headers["x-line-retry-key"] == calls[1].headers["x-line-retry-key"]
    assert len(line.delivered) == 3


def test_line_down_after_two_batches_then_resume_sends_only_the_third(connected, tmp_path):
    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 1201)
    line.quota_value = 5000
    cli.ok("campaign", "create", "c", "--all", "--text", "hi")
    # batches 1 and 2 go through; then LINE fails every retry of batch 3
    line.fail("POST", "/v2/bot/message/multicast", 200, times=2)
    line.fail("POST", "/v2/bot/message/multicast", 503, times=4)
    err = cli.fails(ExitCode.UPSTREAM, "campaign", "send", "c")
    assert "stopped after 1,000 of 1,201" in err and "run `crm campaign send c` again" in err
    show = cli.json("campaign", "show", "c")
    assert show["status"] == "sending" and show["accepted"] == 1000 and show["pending"] == 201
    assert cli.json("campaign", "list", "--state", "active")[0]["name"] == "c"
    failed_key = line.calls("POST", "/v2/bot/message/multicast")[-1].headers["x-line-retry-key"]
    res = cli.json("campaign", "send", "c")
    assert res["status"] == "sent" and res["requests_sent"] == 1 and res["accepted"] == 1201
    ok = _multicasts(line)
    assert [len(r.json()["to"]) for r in ok] == [500, 500, 201]
    assert ok[-1].headers["x-line-retry-key"] == failed_key
    assert len(line.delivered) == 1201


def test_personalized_text_is_pushed_with_each_persons_values(connected, tmp_path):
    cli, line = connected, connected.line
    cli.ok("points", "give", "081-234-5678", "--spend", "250")  # 10 points
    cli.ok("points", "give", "081-234-5679", "--spend", "50")
    nasty = 'Ann "the \\ quote" {points}\n</script>'
    import_followers(cli, tmp_path, [(uid(1), "สมชาย", "081-234-5678", ""), (uid(2), nasty, "081-234-5679", ""),
                                     (uid(3), "Boon", "", "")])
    cli.ok("promo", "load", "NY", "--generate", "5", "--prefix", "NY-")
    cli.ok("segment", "create", "members", "--min-points", "1")
    cli.ok("campaign", "create", "p", "--segment", "members", "--promo", "NY",
           "--text", "Hi {display_name}: {points} points, code {promo_code}")
    res = cli.json("campaign", "send", "p")
    assert res["recipients"] == 2 and res["accepted"] == 2
    pushes = line.calls("POST", "/v2/bot/message/push")
    assert len(pushes) == 2 and not line.calls("POST", "/v2/bot/message/multicast")
    by_user = {r.json()["to"]: r.json()["messages"][0]["text"] for r in pushes}
    codes = {c["user_id"]: c["code"] for c in _export_codes(cli, tmp_path)}
    assert by_user[uid(1)] == f"Hi สมชาย: 10 points, code {codes[uid(1)]}"
    assert by_user[uid(2)] == f"Hi {nasty}: 2 points, code {codes[uid(2)]}"
    assert codes[uid(1)] != codes[uid(2)]
    # a second campaign from the same pool gives each person the same code again, never a new one
    cli.ok("campaign", "copy", "p", "p2")
    cli.ok("campaign", "send", "p2")
    again = {r.json()["to"]: r.json()["messages"][0]["text"] for r in line.calls("POST", "/v2/bot/message/push")[2:]}
    assert again == by_user
    pools = cli.json("promo", "list")
    assert pools[0]["issued"] == 2 and pools[0]["free"] == 3


def _export_codes(cli, tmp_path):
    import csv

    out = tmp_path / "codes.csv"
    cli.ok("promo", "export", "NY", "--out", str(out))
    with out.open(encoding="utf-8-sig") as fh:
        return [r for r in csv.DictReader(fh) if r["status"] != "free"]


def test_dry_run_writes_the_payloads_and_sends_nothing(connected, tmp_path):
    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 2)
    cli.ok("campaign", "create", "c", "--all", "--text", "hi", "--image", "https://cdn.example.com/a.jpg",
           "--preview", "https://cdn.example.com/a-small.jpg")
    out = tmp_path / "payloads.json"
    cli.ok("campaign", "send", "c", "--dry-run", "--out", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["recipients"] == 2 and len(doc["requests"]) == 1
    req = doc["requests"][0]
    assert req["path"] == "/v2/bot/message/multicast" and len(req["body"]["to"]) == 2
    assert [m["type"] for m in req["body"]["messages"]] == ["text", "image"]
    assert not line.calls("POST")
    assert cli.json("campaign", "show", "c")["status"] == "draft"


def test_create_checks_messages_and_schedule(connected, tmp_path):
    cli = connected
    cli.ok("segment", "create", "s")
    assert "at most 5 messages" in cli.fails(ExitCode.INVALID_INPUT, "campaign", "create", "c", "--all", *sum((["--text", f"t{i}"] for i in range(6)), []))
    assert "--preview" in cli.fails(ExitCode.INVALID_INPUT, "campaign", "create", "c", "--all", "--image", "https://x.example/a.jpg")
    assert "--promo" in cli.fails(ExitCode.INVALID_INPUT, "campaign", "create", "c", "--all", "--text", "code {promo_code}")
    assert "exactly one" in cli.fails(ExitCode.INVALID_INPUT, "campaign", "create", "c", "--segment", "s", "--all", "--text", "x")
    flex = tmp_path / "flex.json"
    flex.write_text(json.dumps({"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": []}}))
    res = cli.json("campaign", "create", "c", "--segment", "s", "--flex", str(flex), "--alt-text", "News",
                   "--at", "2099-12-01 10:00")
    assert res["status"] == "scheduled" and res["scheduled_at"].startswith("2099-12-01T03:00")
    assert res["messages"][0]["type"] == "flex"
    assert cli.json("campaign", "cancel", "c")["status"] == "cancelled"
    assert cli.json("campaign", "list", "--state", "inactive")[0]["name"] == "c"


def test_maintenance_sends_the_campaigns_that_are_due(connected, tmp_path):
    from freezegun import freeze_time

    cli, line = connected, connected.line
    many_followers(cli, tmp_path, 3)
    ign = ["uvicorn", "asyncio", "h11", "tests.fakeline"]  # the fake platform keeps real time
    with freeze_time("2026-11-30 03:00:00", ignore=ign):
        cli.ok("campaign", "create", "later", "--all", "--text", "hi", "--at", "2026-12-01 10:00")
        assert cli.json("campaign", "list", "--state", "active")[0]["status"] == "scheduled"
    with freeze_time("2026-12-01 02:59:00", ignore=ign):  # 09:59 in Bangkok: not yet
        cli.ok("maintenance", "run", "--only", "campaigns")
        assert not line.calls("POST", "/v2/bot/message/multicast")
    with freeze_time("2026-12-01 03:00:30", ignore=ign):
        out = cli.ok("maintenance", "run", "--only", "campaigns").stdout
        assert "later: 3 sent" in out
    assert len(line.calls("POST", "/v2/bot/message/multicast")) == 1
    assert cli.json("campaign", "show", "later")["status"] == "sent"
