"""Hostile LINE display names and chat messages: stored as sent, shown safely."""

from __future__ import annotations

import json

from tests.fakeline import events as ev
from tests.fakeline.fixtures import SECRET
from tests.hostile import CORPUS, assert_terminal_safe

URL = "/line/webhook/cafe"


def _pg_safe(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL


def test_hostile_names_and_messages(connected, served):
    cli, line = connected, connected.line
    users = {}
    for label, text in CORPUS.items():
        user = line.add_follower(display_name=text[:200])
        users[label] = user
        raw = ev.body(ev.follow(user), ev.text(user, text))
        r = served.http.post(URL, content=raw, headers=ev.headers(SECRET, raw))
        assert r.status_code == 200, (label, r.text)
    served.wait_idle(lambda: all(f["display_name"] for f in cli.json("follower", "list")))
    for label, user in users.items():
        shown = cli.json("follower", "show", user)
        assert shown["display_name"] == _pg_safe(CORPUS[label][:200]), label
        chat = cli.json("chat", "show", user)
        assert chat[0]["text"] == _pg_safe(CORPUS[label]), label
    for args in (("follower", "list"), ("chat", "list"), ("chat", "show", users["csi colour"]),
                 ("chat", "search", "e")):
        for fmt in ("table", "plain", "markdown", "csv"):
            r = cli(*args, fmt=fmt)
            assert r.exit_code == 0, (args, fmt, r.stderr)
            assert_terminal_safe(r.stdout, f"{' '.join(args)} --format {fmt}")
        r = cli(*args, fmt="json")
        json.loads(r.stdout)
        assert_terminal_safe(r.stdout, f"{' '.join(args)} --format json")
