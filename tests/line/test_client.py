"""The Messaging API client against the fake platform (no database)."""

from __future__ import annotations

import time
import uuid

import pytest

from crm_cli.line.client import LineApiError, MessagingApi, RetryPolicy
from crm_cli.line.endpoints import Endpoints
from crm_cli.line.webhook import WebhookFormatError, parse, signature, verify_signature
from tests.fakeline import events as ev

SLEEPS: list[float] = []


def api(line, token, **kw):
    kw.setdefault("retry", RetryPolicy(sleep=SLEEPS.append))
    return MessagingApi(token, endpoints=Endpoints(api=line.url, data_api=line.url, login=line.url), **kw)


def test_endpoints_from_environment(monkeypatch):
    monkeypatch.setenv("CRM_LINE_API_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("CRM_LINE_DATA_API_URL", raising=False)
    e = Endpoints.from_env()
    assert e.api == "http://127.0.0.1:9" and e.data_api == "https://api-data.line.me"
    assert e.login == "https://access.line.me" or e.login.startswith("http")


def test_push_and_multicast_carry_a_uuid_retry_key_and_never_deliver_twice(fake_line, line_token):
    a = api(fake_line, line_token)
    user = fake_line.add_follower()
    key = str(uuid.uuid4())
    first = a.push(user, [{"type": "text", "text": "hi"}], retry_key=key)
    assert first.message_ids and not first.already_accepted
    fake_line.fail("POST", "/v2/bot/message/push", 500, times=1)  # the platform fails once: retried, same key
    again = a.push(user, [{"type": "text", "text": "hi"}], retry_key=key)
    assert again.already_accepted and again.request_id
    pushes = fake_line.calls("POST", "/v2/bot/message/push")
    assert {p.headers["x-line-retry-key"] for p in pushes} == {key}
    assert len(fake_line.delivered) == 1
    # a push without an explicit key still gets one (a UUID) so its retries are safe
    a.push(user, [{"type": "text", "text": "again"}])
    assert len(fake_line.calls("POST", "/v2/bot/message/push")[-1].headers["x-line-retry-key"]) == 36
    users = [fake_line.add_follower() for _ in range(3)]
    a.multicast(users, [{"type": "text", "text": "sale"}])
    assert fake_line.calls("POST", "/v2/bot/message/multicast")[-1].json()["to"] == users
    with pytest.raises(LineApiError, match="1 to 500"):
        a.multicast(["U" + "0" * 32] * 501, [{"type": "text", "text": "x"}])
    with pytest.raises(LineApiError, match="1 to 5 messages"):
        a.push(user, [{"type": "text", "text": "x"}] * 6)


def test_the_fake_checks_what_line_checks(fake_line, line_token):
    import httpx

    base = fake_line.url
    h = {"Authorization": f"Bearer {line_token}"}
    assert httpx.get(base + "/v2/bot/info").status_code == 401
    assert httpx.get(base + "/v2/bot/info", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = httpx.post(base + "/v2/bot/message/push", headers={**h, "X-Line-Retry-Key": "not-a-uuid"},
                   json={"to": "U" + "0" * 32, "messages": [{"type": "text", "text": "x"}]})
    assert r.status_code == 400 and "Retry-Key" in r.json()["message"]
    r = httpx.post(base + "/v2/bot/message/multicast", headers=h,
                   json={"to": ["U" + "0" * 32] * 501, "messages": [{"type": "text", "text": "x"}]})
    assert r.status_code == 400 and r.json()["details"][0]["property"] == "to"
    r = httpx.post(base + "/v2/bot/message/push", headers=h, json={"to": "U" + "0" * 32, "messages": [{"type": "text"}]})
    assert r.status_code == 400
    r = httpx.post(base + "/v2/bot/message/push", headers=h, json={"to": "U" + "0" * 32,
                   "messages": [{"type": "image", "originalContentUrl": "http://x", "previewImageUrl": "https://x"}]})
    assert r.status_code == 400


def test_429_waits_retry_after_then_gives_up_clearly(fake_line, line_token):
    SLEEPS.clear()
    a = api(fake_line, line_token)
    fake_line.fail("GET", "/v2/bot/info", 429, retry_after="7", times=2)
    assert a.bot_info().display_name == "Cafe Siam"
    assert SLEEPS == [7.0, 7.0]
    fake_line.fail("GET", "/v2/bot/info", 429, retry_after="9999", times=4)
    with pytest.raises(LineApiError, match="rate-limiting"):
        a.bot_info()
    assert max(SLEEPS) == 30.0  # never waits longer than max_wait


def test_reply_is_retried_on_5xx_but_a_post_without_key_is_not_resent_on_4xx(fake_line, line_token):
    a = api(fake_line, line_token)
    user = fake_line.add_follower()
    token = fake_line.new_reply_token(user)
    fake_line.fail("POST", "/v2/bot/message/reply", 502, times=1)
    a.reply(token, [{"type": "text", "text": "hello"}])
    with pytest.raises(LineApiError, match="Invalid reply token"):
        a.reply(token, [{"type": "text", "text": "hello"}])
    assert len(fake_line.delivered) == 1
    assert [r.status for r in fake_line.calls("POST", "/v2/bot/message/reply")] == [502, 200, 400]


def test_timeouts_and_unreachable(fake_line, line_token):
    a = api(fake_line, line_token, timeout=0.3, retry=RetryPolicy(attempts=2, sleep=lambda s: None))
    fake_line.fail("GET", "/v2/bot/info", 200, delay=1.0, times=2)
    t0 = time.monotonic()
    with pytest.raises(LineApiError, match="did not answer in time"):
        a.bot_info()
    assert time.monotonic() - t0 < 1.5
    dead = MessagingApi("t" * 20, endpoints=Endpoints(api="http://127.0.0.1:9"),
                        retry=RetryPolicy(attempts=1))
    with pytest.raises(LineApiError, match="cannot reach LINE") as exc:
        dead.bot_info()
    assert "t" * 20 not in str(exc.value)


def test_followers_paging_and_quota(fake_line, line_token):
    a = api(fake_line, line_token)
    ids = [fake_line.add_follower() for _ in range(7)]
    fake_line.page_size = 3
    assert list(a.follower_ids()) == ids
    assert a.quota() == {"type": "limited", "value": 1000}
    assert a.quota_consumption() == {"totalUsage": 0}
    assert a.profile("U" + "9" * 32) is None


def test_signature_and_parsing():
    body = ev.body(ev.follow("U" + "a" * 32), ev.text("U" + "a" * 32, "สวัสดี"), ev.postback("U" + "a" * 32, "tag=x"))
    sig = signature("secret", body)
    assert verify_signature("secret", body, sig)
    assert not verify_signature("secret", body + b" ", sig)
    assert not verify_signature("other", body, sig)
    assert not verify_signature("secret", body, None)
    assert not verify_signature("secret", body, "ไม่ใช่")
    p = parse(body)
    assert [e.type for e in p.events] == ["follow", "message", "postback"]
    assert p.events[1].message.text == "สวัสดี" and p.events[2].postback_data == "tag=x"
    for bad in (b"[]", b'{"events": [1]}', b'{"events": [{"type": "follow"}]}', b"\xff"):
        with pytest.raises(WebhookFormatError):
            parse(bad)
