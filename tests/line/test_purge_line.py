"""Purging a store removes its LINE channel, followers, chats, auto-replies and API keys."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.fakeline import events as ev
from tests.fakeline.fixtures import SECRET


def test_purge_deletes_line_data(connected, served, uow):
    from sqlalchemy import text

    from crm_cli.services.purge import purge_store

    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "hi", "--text", "Hello!")
    cli.ok("apikey", "create", "--branch", "Siam")
    user = line.add_follower(display_name="Gone")
    raw = ev.body(ev.follow(user), ev.text(user, "hi", reply_token=line.new_reply_token(user)),
                  ev.postback(user, "tag=x"))
    assert served.http.post("/line/webhook/cafe", content=raw, headers=ev.headers(SECRET, raw)).status_code == 200
    served.wait_idle(lambda: cli.json("chat", "show", user)[-1]["delivery"] == "sent")
    with uow() as session:
        res = purge_store(session, store_id=1, now=datetime.now(timezone.utc))
    assert res.counts["line_message"] == 2 and res.counts["line_follower"] == 1
    assert res.counts["line_follower_tag"] == 1 and res.counts["autoreply_rule"] == 1
    assert res.counts["line_channel"] == 1 and res.counts["api_key"] == 1 and res.counts["line_webhook_event"] == 3
    with uow(write=False) as session:
        for table in ("line_message", "line_follower", "line_follower_tag", "line_channel", "api_key",
                      "autoreply_rule", "line_webhook_event"):
            assert session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0, table
    # the webhook of a purged store is unknown
    assert served.http.post("/line/webhook/cafe", content=raw, headers=ev.headers(SECRET, raw)).status_code == 404
