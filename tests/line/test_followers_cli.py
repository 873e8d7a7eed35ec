"""crm follower|chat|autoreply on both databases, with the fake LINE platform for sync."""

from __future__ import annotations

import json

from crm_cli.domain.errors import ExitCode
from tests.fakeline import events as ev
from tests.fakeline.fixtures import SECRET

U1 = "U" + "1" * 32
U2 = "U" + "2" * 32
U3 = "U" + "3" * 32


def test_sync_pages_followers_and_fetches_profiles_with_backoff(connected):
    cli, line = connected, connected.line
    line.page_size = 2  # five followers: three pages (start/next)
    ids = [line.add_follower(display_name=f"Friend {i}") for i in range(5)]
    line.fail("GET", "/v2/bot/profile/", 429, retry_after="0", times=2)
    res = cli.json("follower", "sync")
    assert res == {"followers": 5, "new": 5, "profiles": 5, "no_longer_following": 0}
    pages = line.calls("GET", "/v2/bot/followers/ids")
    assert [p.query.get("start") for p in pages] == [None, "2", "4"]
    listed = cli.json("follower", "list")
    assert {f["user_id"] for f in listed} == set(ids)
    assert {f["display_name"] for f in listed} == {f"Friend {i}" for i in range(5)}
    # one leaves; a second sync marks them, and (profiles=new) fetches no profile again
    line.remove_follower(ids[0])
    before = len(line.calls("GET", "/v2/bot/profile/"))
    res = cli.json("follower", "sync")
    assert res["no_longer_following"] == 1 and res["new"] == 0
    assert len(line.calls("GET", "/v2/bot/profile/")) == before
    assert cli.json("follower", "show", ids[0])["status"] == "blocked"


def test_sync_when_line_keeps_failing_writes_nothing(connected):
    cli, line = connected, connected.line
    line.add_follower()
    line.fail("GET", "/v2/bot/followers/ids", 500, times=10)
    err = cli.fails(ExitCode.UPSTREAM, "follower", "sync")
    assert err.startswith("error: LINE failed to list the followers (500")
    assert cli.json("follower", "list") == []


def _seed(cli, line, served=None):
    for uid, name in ((U1, "Anong"), (U2, "Boon")):
        line.add_follower(uid, display_name=name)
    line.page_size = 1000
    cli.ok("follower", "sync")


def test_tags_notes_link_show(connected):
    cli, line = connected, connected.line
    _seed(cli, line)
    cli.ok("points", "give", "081-234-5678", "--spend", "100")  # a phone-only points account
    out = cli.json("follower", "tag", U1, "vip", "regular", "vip")
    assert out["tags"] == ["regular", "vip"] and out["kind"] == "chat"
    cli.ok("follower", "tag", U1, "coffee-lover", "--kind", "active")
    out = cli.json("follower", "untag", U1, "regular")
    assert out["changed"] == ["regular"] and out["tags"] == ["vip"]
    # operators' text on a follower follows the member-field rule at the door
    for hostile in ("Evil\x1b[31mRED", "a\u202egnp", "bell\x07", "c1\x9b31m"):
        err = cli.fails(ExitCode.INVALID_INPUT, "follower", "note", U1, hostile)
        assert "note" in err and "\x1b" not in err
        assert "tag" in cli.fails(ExitCode.INVALID_INPUT, "follower", "tag", U1, hostile)
    cli.ok("follower", "note", U1, "line one\nline two")  # a note keeps its line breaks
    assert cli.json("follower", "show", U1)["note"] == "line one\nline two"
    cli.ok("follower", "note", U1, "prefers oat milk")
    link = cli.json("follower", "link", U1, "0812345678")
    assert link == {"user_id": U1, "member_phone": "+66812345678", "member_name": None}
    assert "already linked" in cli.fails(ExitCode.CONFLICT, "follower", "link", U2, "0812345678")
    shown = cli.json("follower", "show", U1)
    assert shown["chat_tags"] == ["vip"] and shown["active_tags"] == ["coffee-lover"]
    assert shown["note"] == "prefers oat milk" and shown["member_phone"] == "+66812345678"
    assert [f["user_id"] for f in cli.json("follower", "list", "--tag", "coffee-lover")] == [U1]
    assert [f["user_id"] for f in cli.json("follower", "list", "--unlinked")] == [U2]
    assert "not a LINE user ID" in cli.fails(ExitCode.INVALID_INPUT, "follower", "show", "nobody")
    assert "no follower" in cli.fails(ExitCode.NOT_FOUND, "follower", "show", U3)
    assert "tag kind" in cli.fails(ExitCode.INVALID_INPUT, "follower", "tag", U1, "x", "--kind", "other")
    # every listing format
    for fmt in ("csv", "plain", "markdown", "table"):
        r = cli("follower", "list", fmt=fmt)
        assert r.exit_code == 0 and U1 in r.stdout


def test_import_all_or_nothing_then_export(connected, tmp_path):
    cli = connected
    cli.ok("points", "give", "0812345678", "--spend", "100")
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,display_name,phone,tags\n"
                   f"{U1},Anong,081-234-5678,vip;regular\n"
                   "Uxyz,Bad,,\n"
                   f"{U2},Boon,0899999999,\n"
                   f"{U1},Again,,\n", encoding="utf-8")
    r = cli("follower", "import", str(bad), fmt="json")
    assert r.exit_code == 5
    problems = json.loads(r.stdout)
    assert [(p["row"], p["column"]) for p in problems] == [(3, "user_id"), (4, "phone"), (5, "user_id")]
    assert "nothing was imported" in r.stderr
    assert cli.json("follower", "list") == []
    good = tmp_path / "good.csv"
    good.write_text("\ufeffUser ID,Display Name,Phone,Tags\n"
                    f"{U1},Anong,081-234-5678,vip;regular\n"
                    f"{U2},=cmd|' /C calc'!A0,,\n", encoding="utf-8")
    dry = cli.json("follower", "import", str(good), "--dry-run")
    assert dry["created"] == 2 and dry["dry_run"] is True
    assert cli.json("follower", "list") == []
    res = cli.json("follower", "import", str(good))
    assert res == {"rows": 2, "created": 2, "updated": 0, "linked": 1, "tags_added": 2, "dry_run": False}
    shown = cli.json("follower", "show", U1)
    assert shown["chat_tags"] == ["regular", "vip"] and shown["member_phone"] == "+66812345678"
    assert shown["status"] == "unknown" and shown["source"] == "import"
    out = tmp_path / "followers.csv"
    assert cli.json("follower", "export", "--out", str(out))["rows"] == 2
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("user_id,display_name,status")
    assert "=cmd" not in text.replace("'=cmd", "")  # formula neutralized
    xlsx = tmp_path / "followers.xlsx"
    assert cli.json("follower", "export", "--out", str(xlsx))["rows"] == 2
    res = cli.json("follower", "import", str(xlsx))
    assert res["created"] == 0 and res["updated"] == 2


def test_autoreply_rules_match_and_stats(connected, served, tmp_path):
    cli, line = connected, connected.line
    cli.ok("autoreply", "add", "menu", "--text", "Our menu: latte, mocha")
    cli.ok("autoreply", "add", "coffee", "--image", "https://cdn.example/coffee.jpg", "--match", "contains")
    imagemap = tmp_path / "map.json"
    imagemap.write_text(json.dumps({"baseUrl": "https://cdn.example/map", "altText": "Promotions",
                                    "baseSize": {"width": 1040, "height": 1040},
                                    "actions": [{"type": "uri", "linkUri": "https://shop.example/",
                                                 "area": {"x": 0, "y": 0, "width": 520, "height": 1040}},
                                                {"type": "message", "text": "menu",
                                                 "area": {"x": 520, "y": 0, "width": 520, "height": 1040}}]}))
    cli.ok("autoreply", "add", "promo", "--imagemap", str(imagemap), "--match", "contains")
    assert "already exists" in cli.fails(ExitCode.CONFLICT, "autoreply", "add", "MENU", "--text", "again")
    assert "exactly one" in cli.fails(ExitCode.INVALID_INPUT, "autoreply", "add", "x", "--text", "a", "--image", "https://a.example/b.jpg")
    assert "https://" in cli.fails(ExitCode.INVALID_INPUT, "autoreply", "add", "x", "--image", "http://insecure.example/a.jpg")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"baseUrl": "https://x.example", "altText": "a", "baseSize": {"width": 1040, "height": 100},
                               "actions": [{"type": "uri", "linkUri": "https://a.example",
                                            "area": {"x": 0, "y": 0, "width": 2000, "height": 10}}]}))
    assert "outside" in cli.fails(ExitCode.INVALID_INPUT, "autoreply", "add", "y", "--imagemap", str(bad))

    assert cli.json("autoreply", "test", "  Menu ")["keyword"] == "menu"
    assert cli.json("autoreply", "test", "iced coffee promo please")["keyword"] == "coffee"  # longest keyword wins
    assert "no auto-reply answers" in cli.fails(ExitCode.NOT_FOUND, "autoreply", "test", "hello")

    user = line.add_follower(display_name="Ploy")
    sent = []
    for text in ("menu", "coffee?", "menu", "promo now"):
        token = line.new_reply_token(user)
        raw = ev.body(ev.text(user, text, reply_token=token))
        assert served.http.post("/line/webhook/cafe", content=raw, headers=ev.headers(SECRET, raw)).status_code == 200
        sent.append(token)
    served.wait_idle(lambda: len(line.delivered) == 4)
    kinds = [m["type"] for _u, m in line.delivered]
    assert sorted(kinds) == ["image", "imagemap", "text", "text"]
    stats = cli.json("autoreply", "list")
    assert [(s["keyword"], s["hits"]) for s in stats][0] == ("menu", 2)
    days = cli.json("autoreply", "list", "--by-day")
    assert sum(d["hits"] for d in days) == 4 and days[0]["keyword"] == "menu"
    removed = cli.json("autoreply", "remove", "menu")
    assert removed["hits"] == 2
    assert "no auto-reply" in cli.fails(ExitCode.NOT_FOUND, "autoreply", "remove", "menu")
    assert [s["keyword"] for s in cli.json("autoreply", "list")] == ["coffee", "promo"]


def test_chat_list_show_search(connected, served):
    cli, line = connected, connected.line
    a = line.add_follower(display_name="Anong")
    b = line.add_follower(display_name="Boon")
    for user, text in ((a, "Do you have oat milk?"), (b, "hello"), (a, "and OAT cookies")):
        raw = ev.body(ev.text(user, text))
        served.http.post("/line/webhook/cafe", content=raw, headers=ev.headers(SECRET, raw))
    conv = cli.json("chat", "list")
    assert [c["user_id"] for c in conv] == [a, b]
    assert conv[0]["messages"] == 2 and conv[0]["last_text"] == "and OAT cookies"
    hits = cli.json("chat", "search", "oat")
    assert [h["text"] for h in hits] == ["and OAT cookies", "Do you have oat milk?"]
    assert cli.json("chat", "search", "50%") == []
    assert [m["text"] for m in cli.json("chat", "show", a, "--limit", "1")] == ["and OAT cookies"]
