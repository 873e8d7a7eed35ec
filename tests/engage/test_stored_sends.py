"""Campaign batches go out as stored (``MessagingApi.send_stored``) on keep-alive
connections: the same retry key and answers as ``push``/``multicast``, and a connection
that was closed while idle is reopened without a lost or doubled message."""

from __future__ import annotations

import json
import socket
import uuid

from crm_cli.line.client import MessagingApi, RetryPolicy
from crm_cli.line.endpoints import Endpoints
from tests.fakeline.fixtures import fake_line, line_token  # noqa: F401

SLEEPS: list[float] = []


def _api(line, token) -> MessagingApi:
    return MessagingApi(token, endpoints=Endpoints(api=line.url, data_api=line.url, login=line.url),
                        retry=RetryPolicy(sleep=SLEEPS.append))


def test_a_stored_push_keeps_its_key_through_failures_and_a_closed_connection(fake_line, line_token):  # noqa: F811
    user = fake_line.add_follower()
    key = str(uuid.uuid4())
    body = json.dumps({"to": user, "messages": [{"type": "text", "text": "สวัสดี \"คุณ\" \\ 🎉"}]}, ensure_ascii=False)
    with _api(fake_line, line_token) as api:
        first = api.send_stored("push", body, retry_key=key)
        assert first.message_ids and not first.already_accepted
        # the idle connection is gone (as when the server closes it): reopened, same key, sent once
        for conn in api._direct._all if api._direct else []:
            assert conn.sock is not None
            conn.sock.shutdown(socket.SHUT_RDWR)
        fake_line.fail("POST", "/v2/bot/message/push", 503, times=1)  # then a failure: retried with the key
        SLEEPS.clear()
        again = api.send_stored("push", body, retry_key=key)
        assert again.already_accepted and again.request_id
        assert len(SLEEPS) == 1  # one back-off, for the 503: the closed connection was reopened at once
    pushes = fake_line.calls("POST", "/v2/bot/message/push")
    assert {p.headers["x-line-retry-key"] for p in pushes} == {key}
    assert pushes[0].json() == json.loads(body)  # the stored body, byte for byte the request
    assert [m["text"] for _, m in fake_line.delivered] == ["สวัสดี \"คุณ\" \\ 🎉"]


def test_a_stored_multicast_goes_to_everyone_once(fake_line, line_token):  # noqa: F811
    users = [fake_line.add_follower() for _ in range(3)]
    body = json.dumps({"to": users, "messages": [{"type": "text", "text": "sale"}]})
    with _api(fake_line, line_token) as api:
        sent = api.send_stored("multicast", body, retry_key=str(uuid.uuid4()))
    assert not sent.already_accepted
    assert fake_line.calls("POST", "/v2/bot/message/multicast")[-1].json()["to"] == users
    assert sorted(u for u, _ in fake_line.delivered) == sorted(users)


def test_a_proxy_in_the_environment_keeps_the_sends_on_httpx(fake_line, line_token, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with _api(fake_line, line_token) as api:
        assert api._direct is None
