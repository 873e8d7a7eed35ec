"""crm survey on both databases: create, send through the campaign sender (fake LINE
platform), answers with active tags, results, export, and deletion after retention."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from crm_cli.domain.errors import ExitCode
from tests.engage.support import import_followers, uid

NOTICE = "เราเก็บคำตอบเพื่อปรับปรุงเมนู\nWe keep your answers to improve the menu."


def _survey(cli, tmp_path, name="taste", days="30", *extra):
    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    return cli.json("survey", "create", name, "--notice", str(notice), "--retention-days", days,
                    "--question", "Favourite drink?", "--choice", "1=coffee:coffee-lover", "--choice", "1=tea",
                    "--question", "Anything else?", *extra)


def _member(cli, tmp_path):
    terms = tmp_path / "terms.md"
    terms.write_text("Terms", encoding="utf-8")
    cli.ok("form", "terms", "--file", str(terms))
    cli.ok("member", "register", "0812345678", "--name", "Somchai", "--accept-terms")


def _engine(cli):
    from crm_cli.cli.context import AppState

    return AppState(db_url=cli.db_url).engine()


def _answer(cli, survey_id, user_id, raw, now):
    from sqlalchemy import select

    from crm_cli.db.models import Store
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import surveys

    with unit_of_work(_engine(cli), write=True) as session:
        store_id = session.execute(select(Store.id).where(Store.slug == "cafe")).scalar_one()
        return surveys.answer(session, store_id=store_id, survey_id=survey_id, user_id=user_id, raw=raw, now=now)


def test_create_show_list_and_bad_input(shop, tmp_path):
    res = _survey(shop, tmp_path)
    assert res["name"] == "taste" and res["retention_days"] == 30 and res["notice"] == NOTICE
    assert res["link"] == f"https://crm.example.com/m/cafe/survey/{res['id']}"
    q1, q2 = res["questions"]
    assert q1["kind"] == "choice" and q1["required"] is True
    assert q1["choices"] == [{"value": "coffee", "tag": "coffee-lover"}, {"value": "tea", "tag": None}]
    assert q2["kind"] == "text" and q2["required"] is False and q2["choices"] == []
    assert shop.json("survey", "show", "taste")["questions"] == res["questions"]
    rows = shop.json("survey", "list")
    assert [(r["name"], r["questions"], r["answers"], r["retention_days"]) for r in rows] == [("taste", 2, 0, 30)]
    table = shop.ok("survey", "show", "taste").stdout
    assert "coffee (tag coffee-lover)" in table and "Favourite drink?" in table

    # a questions file does the same
    qfile = tmp_path / "q.json"
    qfile.write_text(json.dumps([{"text": "Size?", "choices": ["S", "M:medium", {"value": "L", "tag": "large"}]},
                                 {"text": "Why?", "required": True}]), encoding="utf-8")
    notice = tmp_path / "notice.txt"
    r = shop.json("survey", "create", "size", "--notice", str(notice), "--retention-days", "7", "--questions", str(qfile))
    assert [c["tag"] for c in r["questions"][0]["choices"]] == [None, "medium", "large"] and r["questions"][1]["required"]

    assert "already exists" in shop.fails(ExitCode.CONFLICT, "survey", "create", "taste", "--notice", str(notice), "--retention-days", "5",
                                          "--question", "x")
    assert "no question 3" in shop.fails(ExitCode.INVALID_INPUT, "survey", "create", "t2", "--notice", str(notice), "--retention-days", "5",
                                         "--question", "a", "--choice", "3=x")
    assert "at least two choices" in shop.fails(ExitCode.INVALID_INPUT, "survey", "create", "t2", "--notice", str(notice),
                                                "--retention-days", "5", "--question", "a", "--choice", "1=x")
    err = shop.fails(ExitCode.INVALID_INPUT, "survey", "create", "t2", "--notice", str(notice), "--retention-days", "5",
                     "--question", "evil\u202etxt.exe")
    assert "control character" in err and "\u202e" not in err
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    assert "notice file is empty" in shop.fails(ExitCode.INVALID_INPUT, "survey", "create", "t2", "--notice", str(empty),
                                                "--retention-days", "5", "--question", "a")
    shop.fails(ExitCode.INVALID_INPUT, "survey", "create", "t2", "--notice", str(notice), "--retention-days", "0", "--question", "a")
    assert "not found" in shop.fails(ExitCode.NOT_FOUND, "survey", "show", "nope")


def test_send_pushes_the_link_once_through_the_campaign_sender(connected, tmp_path):
    cli, line = connected, connected.line
    import_followers(cli, tmp_path, [(uid(1), "Ann", "", "coffee"), (uid(2), "Ben", "", "coffee"),
                                     (uid(3), "Cat", "", "tea")])
    line.quota_value = 100
    cli.ok("segment", "create", "coffee", "--tag", "coffee")
    s = _survey(cli, tmp_path)
    res = cli.json("survey", "send", "taste", "--segment", "coffee")
    assert res["campaign"] == "survey:taste:coffee" and res["status"] == "sent"
    assert res["recipients"] == 2 and res["accepted"] == 2 and res["requests_sent"] == 2
    pushes = [r for r in line.calls("POST", "/v2/bot/message/push") if r.status == 200]
    assert sorted(r.json()["to"] for r in pushes) == [uid(1), uid(2)]
    assert len({r.headers["x-line-retry-key"] for r in pushes}) == 2
    texts = {r.json()["to"]: r.json()["messages"][0]["text"] for r in pushes}
    link = f"https://crm.example.com/m/cafe/survey/{s['id']}"
    assert texts[uid(1)] == f'Hi Ann! Please answer our survey "taste": {link}'
    assert texts[uid(2)].startswith("Hi Ben!") and texts[uid(2)].endswith(link)
    assert not line.calls("POST", "/v2/bot/message/multicast")
    # the send is a campaign like the others, and nobody gets it twice
    assert [c["name"] for c in cli.json("campaign", "list")] == ["survey:taste:coffee"]
    assert "already sent" in cli.fails(ExitCode.CONFLICT, "survey", "send", "taste", "--segment", "coffee")
    assert len(line.calls("POST", "/v2/bot/message/push")) == 2
    assert cli.json("survey", "show", "taste")["sends"] == ["survey:taste:coffee (sent)"]


def test_a_500_stops_the_send_and_the_next_run_resumes_with_the_same_key(connected, tmp_path):
    cli, line = connected, connected.line
    import_followers(cli, tmp_path, [(uid(1), "Ann", "", ""), (uid(2), "Ben", "", "")])
    line.quota_value = 100
    cli.ok("segment", "create", "all")
    _survey(cli, tmp_path)
    line.fail("POST", "/v2/bot/message/push", 500, times=10)
    err = cli.fails(ExitCode.UPSTREAM, "survey", "send", "taste", "--segment", "all", "--text", "Tell us: {link}")
    assert "run `crm campaign send survey:taste:all` again" in err
    line.faults.clear()
    res = cli.json("survey", "send", "taste", "--segment", "all")
    assert res["status"] == "sent" and res["accepted"] == 2
    calls = line.calls("POST", "/v2/bot/message/push")
    by_user: dict[str, set] = {}
    for r in calls:
        by_user.setdefault(r.json()["to"], set()).add(r.headers["x-line-retry-key"])
    assert all(len(keys) == 1 for keys in by_user.values())  # every retry carried its first key
    assert sorted(u for u, _ in line.delivered) == [uid(1), uid(2)]
    assert line.delivered[0][1]["text"].startswith("Tell us: https://")


def test_answers_tags_results_export_and_retention(shop, tmp_path):
    from crm_cli.domain.errors import Conflict, InvalidInput

    s = _survey(shop, tmp_path, "taste", "30")
    _member(shop, tmp_path)
    import_followers(shop, tmp_path, [(uid(1), "Ann", "", ""), (uid(2), "Ben", "0812345678", "")])
    t0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)
    a = _answer(shop, s["id"], uid(1), {1: "coffee", 2: "สั่งง่ายดี\nขอบคุณ"}, t0)
    assert a.tags == ["coffee-lover"]
    assert shop.json("follower", "show", uid(1))["active_tags"] == ["coffee-lover"]
    _answer(shop, s["id"], uid(2), {1: "coffee"}, t0 + timedelta(days=10))  # a member: the tag goes on the member
    assert "coffee-lover" in shop.json("member", "show", "0812345678")["tags"]
    # one answer set per person
    try:
        _answer(shop, s["id"], uid(1), {1: "tea"}, t0 + timedelta(days=1))
        raise AssertionError("a second answer set was stored")
    except Conflict as exc:
        assert "already answered this survey on 2026-11-01" in exc.message
    # untrusted text: control and bidi characters are refused, choices must be choices
    for raw, words in (({1: "tea", 2: "hi\x1b[2J"}, "control character"), ({1: "tea", 2: "a\u202eb"}, "control character"),
                       ({1: "juice"}, "not one of the choices"), ({2: "only text"}, "needs an answer")):
        try:
            _answer(shop, s["id"], uid(3), raw, t0)
            raise AssertionError(f"{raw!r} was accepted")
        except InvalidInput as exc:
            assert words in exc.message
    _answer(shop, s["id"], uid(3), {1: "tea"}, t0 + timedelta(days=20))

    res = shop.json("survey", "results", "taste")
    assert res["answers"] == 3 and res["retention_days"] == 30
    assert [(c["choice"], c["count"]) for c in res["choices"]] == [("coffee", 2), ("tea", 1)]
    assert [t["answer"] for t in res["texts"]] == ["สั่งง่ายดี\nขอบคุณ"]
    table = shop.ok("survey", "results", "taste").stdout
    assert "coffee-lover" in table and "Text answers" in table

    out = tmp_path / "taste.csv"
    exp = shop.json("survey", "export", "taste", "--out", str(out))
    assert exp["rows"] == 3
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["answered_at", "user_id", "display_name", "phone", "name"]
    assert rows[0]["user_id"] == uid(1) and rows[0]["q1 Favourite drink?"] == "coffee"
    assert rows[1]["phone"].endswith("+66812345678") and rows[1]["name"] == "Somchai" and rows[1]["q2 Anything else?"] == ""
    xlsx = tmp_path / "taste.xlsx"
    assert shop.json("survey", "export", "taste", "--out", str(xlsx))["rows"] == 3

    # retention: 30 days after each answer, at a pinned time; the job's line says how many
    with freeze_time(t0 + timedelta(days=35)):  # only the first answer is older than 30 days
        out = shop.ok("maintenance", "run", "--only", "surveys").stdout
    assert "surveys: ok: 1 survey answers past retention deleted (cafe/taste 1)" in out
    assert shop.json("survey", "results", "taste")["answers"] == 2
    with freeze_time(t0 + timedelta(days=50, hours=1)):
        out = shop.ok("maintenance", "run", "--only", "surveys").stdout
    assert "surveys: ok: 2 survey answers past retention deleted" in out
    assert shop.json("survey", "list")[0]["answers"] == 0
    # the tags stay: they are what the person chose, not the answer text
    assert shop.json("follower", "show", uid(1))["active_tags"] == ["coffee-lover"]


def test_erasing_a_member_deletes_their_survey_answers(shop, tmp_path):
    s = _survey(shop, tmp_path)
    _member(shop, tmp_path)
    import_followers(shop, tmp_path, [(uid(2), "Ben", "0812345678", "")])
    _answer(shop, s["id"], uid(2), {1: "tea", 2: "my phone is 0812345678"}, datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert shop.json("survey", "results", "taste")["answers"] == 1
    shop.ok("member", "forget", "0812345678", "--yes")
    assert shop.json("survey", "results", "taste")["answers"] == 0
