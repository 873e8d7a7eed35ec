"""The LINE webhook on a real `crm serve` (uvicorn, loopback) with the fake LINE platform."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from tests.fakeline import events as ev
from tests.fakeline.fixtures import SECRET

URL = "/line/webhook/cafe"


def post(served, *events, secret=SECRET, headers=None, raw=None):
    body = raw if raw is not None else ev.body(*events)
    h = ev.headers(secret, body)
    if headers is not None:
        h = headers
    return served.http.post(URL, content=body, headers=h)


def replies(line):
    return [r for r in line.calls("POST", "/v2/bot/message/reply")]


def test_follow_message_autoreply_postback_unfollow(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hours", "--text", "Open 8:00-20:00", "--match", "contains")
    user = line.add_follower(display_name="Somchai", picture_url="https://profile.example/p.jpg", language="th")

    r = post(served, ev.follow(user))
    assert r.status_code == 200 and r.json() == {}
    served.wait_idle(lambda: cli.json("follower", "show", user)["display_name"] == "Somchai")
    shown = cli.json("follower", "show", user)
    assert shown["status"] == "following" and shown["language"] == "th"
    assert shown["picture_url"] == "https://profile.example/p.jpg"

    token = line.new_reply_token(user)
    assert post(served, ev.text(user, "What are your HOURS?", reply_token=token)).status_code == 200
    served.wait_idle(lambda: len(line.delivered) == 1)
    sent = replies(line)[0]
    assert sent.status == 200
    assert sent.json() == {"replyToken": token, "messages": [{"type": "text", "text": "Open 8:00-20:00"}]}
    served.wait_idle(lambda: [m["delivery"] for m in cli.json("chat", "show", user)] == ["received", "sent"])
    chat = cli.json("chat", "show", user)
    assert [(m["direction"], m["text"]) for m in chat] == [("in", "What are your HOURS?"), ("out", "Open 8:00-20:00")]

    assert post(served, ev.postback(user, "tag=coffee-lover&tag=Morning Person")).status_code == 200
    shown = cli.json("follower", "show", user)
    assert shown["active_tags"] == sorted(shown["active_tags"]) and "coffee-lover" in shown["active_tags"]
    assert shown["chat_tags"] == []

    assert post(served, ev.unfollow(user)).status_code == 200
    shown = cli.json("follower", "show", user)
    assert shown["status"] == "blocked" and shown["unfollowed_at"] is not None
    assert shown["messages"] == 2  # history kept

    hits = cli.json("autoreply", "list")
    assert [(h["keyword"], h["hits"]) for h in hits] == [("hours", 1)]
    audit = cli("audit", "list", fmt="json").stdout
    assert "webhook: 1 of 1 events processed (follow 1)" in audit


def test_signature_and_body_rules(connected, served):
    line = connected.line
    user = line.add_follower()
    raw = ev.body(ev.text(user, "hello"))
    # forged: signed with another secret; missing; garbage
    for headers in (ev.headers("f" * 32, raw), {"content-type": "application/json"},
                    {"x-line-signature": "not base64 at all"}):
        r = served.http.post(URL, content=raw, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "bad_signature"
    # a signature over other bytes does not carry over to a tampered body
    tampered = raw.replace(b"hello", b"HELLO")
    assert served.http.post(URL, content=tampered, headers=ev.headers(SECRET, raw)).status_code == 401
    # correctly signed but not JSON
    junk = b"{not json"
    r = served.http.post(URL, content=junk, headers=ev.headers(SECRET, junk))
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    wrong_shape = b'{"events": "nope"}'
    assert served.http.post(URL, content=wrong_shape, headers=ev.headers(SECRET, wrong_shape)).status_code == 400
    # unknown store; too large
    assert served.http.post("/line/webhook/nope", content=raw, headers=ev.headers(SECRET, raw)).status_code == 404
    big = b" " * (1024 * 1024 + 1)
    r = served.http.post(URL, content=big, headers=ev.headers(SECRET, big))
    assert r.status_code == 413
    # LINE's Verify button: an empty event list
    empty = ev.body()
    assert served.http.post(URL, content=empty, headers=ev.headers(SECRET, empty)).status_code == 200
    # nothing was stored by any refused request
    assert connected.json("follower", "list") == []
    assert connected.json("chat", "list") == []


def test_replayed_and_redelivered_events_are_processed_once(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "menu", "--text", "Our menu")
    user = line.add_follower(display_name="Nok")
    token = line.new_reply_token(user)
    event = ev.text(user, "menu", reply_token=token)
    assert post(served, event).status_code == 200
    redelivered = dict(event, deliveryContext={"isRedelivery": True})
    for _ in range(3):
        assert post(served, redelivered).status_code == 200
    served.wait_idle(lambda: len(line.delivered) == 1)
    time.sleep(0.2)
    assert len(replies(line)) == 1
    chat = cli.json("chat", "show", user)
    assert [m["direction"] for m in chat] == ["in", "out"]
    assert "webhook: 0 of 1 events processed (none), 1 already processed" in cli("audit", "list", fmt="json").stdout


def test_hundred_concurrent_posts(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    users = [line.add_follower(display_name=f"user {i}") for i in range(20)]
    bodies = []
    for i in range(60):
        user = users[i % 20]
        bodies.append(ev.text(user, "hi", reply_token=line.new_reply_token(user)))
    # 100 posts at once: 60 events, 40 of them delivered a second time (LINE redelivers)
    work = bodies + bodies[:40]

    def send(event):
        return post(served, event).status_code

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        codes = list(pool.map(send, work))
    elapsed = time.monotonic() - t0
    assert codes == [200] * 100
    served.wait_idle(lambda: len(line.delivered) == 60, timeout=20)
    time.sleep(0.3)
    ok = [r for r in replies(line) if r.status == 200]
    assert len(ok) == 60 and len({r.json()["replyToken"] for r in ok}) == 60  # each answered once
    # a reply whose answer was slow (timeout) may be retried: LINE refuses the used token
    for r in replies(line):
        assert r.status == 200 or (r.status == 400 and r.json()["replyToken"] in line.used_reply_tokens)
    listed = {f["user_id"]: f for f in cli.json("follower", "list")}
    assert set(listed) == set(users)
    stats = cli.json("autoreply", "list")
    assert stats[0]["hits"] == 60
    total_in = sum(1 for u in users for m in cli.json("chat", "show", u) if m["direction"] == "in")
    assert total_in == 60
    assert served.http.get("/healthz").json() == {"status": "ok"}
    assert elapsed < 30


def test_slow_line_does_not_delay_the_answer(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    user = line.add_follower(display_name="Slow")
    # profile and reply answer after 1 s; the server's client gives up after 0.5 s per try
    line.fail("GET", "/v2/bot/profile/", 200, delay=1.0, times=2)
    line.fail("POST", "/v2/bot/message/reply", 200, delay=1.0, times=2)
    t0 = time.monotonic()
    r = post(served, ev.follow(user), ev.text(user, "hi", reply_token=line.new_reply_token(user)))
    assert r.status_code == 200
    # waiting on LINE would take at least 2 s (two tries of 0.5 s for the profile, two for the
    # reply); the answer comes before any of that
    assert time.monotonic() - t0 < 1.5
    chat = cli.json("chat", "show", user)  # stored at once
    assert [m["direction"] for m in chat] == ["in", "out"]
    assert served.http.get("/healthz").status_code == 200
    # crm never saw an answer, so it records the reply as failed; LINE delivered it at most once
    served.wait_idle(lambda: cli.json("chat", "show", user)[-1]["delivery"] == "failed", timeout=10)
    time.sleep(1.2)
    assert len(line.delivered) <= 1


def test_line_429_then_500_on_reply_is_retried_once_delivered(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    user = line.add_follower(display_name="Busy")
    line.fail("POST", "/v2/bot/message/reply", 429, retry_after="0", times=1)
    line.fail("POST", "/v2/bot/message/reply", 500, times=1)
    assert post(served, ev.text(user, "hi", reply_token=line.new_reply_token(user))).status_code == 200
    served.wait_idle(lambda: len(line.delivered) == 1)
    statuses = [r.status for r in replies(line)]
    assert statuses == [429, 500, 200]
    served.wait_idle(lambda: cli.json("chat", "show", user)[-1]["delivery"] == "sent")


def test_reply_refused_is_recorded_failed(connected, served):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    user = line.add_follower()
    # a reply token LINE never issued (expired): LINE answers 400, crm records it
    assert post(served, ev.text(user, "hi", reply_token="expired-token")).status_code == 200
    served.wait_idle(lambda: cli.json("chat", "show", user)[-1]["delivery"] == "failed")
    assert line.delivered == []


def test_hostile_display_name_and_message_stored_as_sent(connected, served):
    cli, line = connected, connected.line
    name = "=HYPERLINK(\"http://x\")<script>alert(1)</script>\u202e\x1b[31m"
    text = "'; DROP TABLE line_message; -- <b>bold</b> \u0000?"
    user = line.add_follower(display_name=name)
    assert post(served, ev.follow(user), ev.text(user, text.replace("\u0000", ""))).status_code == 200
    served.wait_idle(lambda: cli.json("follower", "show", user)["display_name"] == name)
    chat = cli.json("chat", "show", user)
    assert chat[0]["text"] == text.replace("\u0000", "")
    hits = cli.json("chat", "search", "DROP TABLE")
    assert hits[0]["user_id"] == user


def test_sticker_and_group_events_are_recorded(connected, served):
    cli, line = connected, connected.line
    user = line.add_follower()
    group_event = ev.text(user, "in a group")
    group_event["source"] = {"type": "group", "groupId": "C" + "0" * 32}
    unknown = {"type": "videoPlayComplete", "mode": "active", "timestamp": 1, "webhookEventId": ev.event_id(),
               "source": {"type": "user", "userId": user}, "deliveryContext": {"isRedelivery": False}}
    assert post(served, ev.sticker(user), group_event, unknown).status_code == 200
    chat = cli.json("chat", "show", user)
    assert [m["kind"] for m in chat] == ["sticker"]
    assert "(message 2, videoPlayComplete 1)" in cli("audit", "list", fmt="json").stdout


def test_healthz(served):
    r = served.http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert json.loads(r.text) == {"status": "ok"}


def test_no_secret_in_logs_or_answers(connected, served, caplog):
    import logging

    cli, line = connected, connected.line
    caplog.set_level(logging.DEBUG)
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    user = line.add_follower()
    raw = ev.body(ev.text(user, "hi", reply_token="never-issued"))
    r1 = served.http.post(URL, content=raw, headers=ev.headers("wrong" * 8, raw))
    r2 = post(served, ev.text(user, "hi", reply_token="never-issued"))
    served.wait_idle(lambda: cli.json("chat", "show", user)[-1]["delivery"] == "failed")
    seen = caplog.text + r1.text + r2.text + cli("audit", "list", fmt="json").stdout
    seen += cli("line", "status", fmt="json").stdout + cli("chat", "show", user, fmt="json").stdout
    assert "bad or missing signature" in caplog.text and "Invalid reply token" in caplog.text
    assert SECRET not in seen and connected.token not in seen


def test_reply_left_pending_by_a_stopped_process_is_sent_by_the_next_request(connected, served, uow):
    from datetime import datetime, timezone

    from crm_cli.line.webhook import parse
    from crm_cli.services import line_webhook

    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    user = line.add_follower(display_name="Left")
    token = line.new_reply_token(user)
    # a server recorded the event and its pending reply, then stopped before sending it
    with uow() as session:
        events = parse(ev.body(ev.text(user, "hi", reply_token=token))).events
        out = line_webhook.handle_events(session, store_id=1, events=events, now=datetime.now(timezone.utc))
    assert len(out.replies) == 1 and line.delivered == []
    assert post(served, ev.sticker(user)).status_code == 200  # any later event of the store
    served.wait_idle(lambda: len(line.delivered) == 1)
    assert replies(line)[0].json()["replyToken"] == token
    served.wait_idle(lambda: cli.json("chat", "show", user)[1]["delivery"] == "sent")
