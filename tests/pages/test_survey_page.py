"""The survey page on a real `crm serve` (httpx with cookies, LINE Login on the fake
platform), both databases: the notice first, the answers stored once, CSRF required."""

from __future__ import annotations

from tests.pages.support import csrf, text


def _create(cli, tmp_path):
    notice = tmp_path / "notice.txt"
    notice.write_text("We keep your answers to improve the menu.\nเราเก็บคำตอบเพื่อปรับปรุงเมนู", encoding="utf-8")
    return cli.json("survey", "create", "taste", "--notice", str(notice), "--retention-days", "30",
                    "--question", "Favourite drink?", "--choice", "1=coffee:coffee-lover", "--choice", "1=tea",
                    "--question", "Anything else?")


def test_survey_page_notice_answer_once(site, tmp_path):
    cli = site.cli
    s = _create(cli, tmp_path)
    path = f"/m/cafe/survey/{s['id']}"
    v = site.visitor(name="Ann LINE", lang="en")
    r = v.get(path)
    assert r.status_code == 200, r.text
    page = text(r.text)
    assert "Privacy notice" in page and "We keep your answers to improve the menu." in page
    assert "เราเก็บคำตอบเพื่อปรับปรุงเมนู" in page and "kept for 30 days" in page
    assert page.index("Privacy notice") < page.index("Favourite drink?")  # the notice comes before the questions
    assert 'value="coffee"' in r.text and 'name="q_2"' in r.text

    # no CSRF token: refused, nothing stored
    bad = v.http.post(path, data={"q_1": "coffee"})
    assert bad.status_code == 403
    # a required question left out, and a control character in a text answer: both said, nothing stored
    r = v.post(path, {"q_2": "hi\u202eevil"})
    assert r.status_code == 422
    page = text(r.text)
    assert "'Favourite drink?' needs an answer" in page and "control character" in page
    assert cli.json("survey", "results", "taste")["answers"] == 0

    r = v.post(path, {"q_1": "coffee", "q_2": "<b>more oat milk</b>"})
    assert r.status_code == 200, r.text
    assert "Thank you for your answers" in text(r.text)
    res = cli.json("survey", "results", "taste")
    assert res["answers"] == 1 and [c["count"] for c in res["choices"]] == [1, 0]
    assert res["texts"][0]["answer"] == "<b>more oat milk</b>"
    assert cli.json("follower", "show", v.user_id)["active_tags"] == ["coffee-lover"]
    audit = cli.json("audit", "list")
    assert any("answered survey 'taste'" in a["summary"] for a in audit)

    # one answer set per person: the page says so, a second POST is refused
    r = v.get(path)
    assert "You already answered this survey" in text(r.text) and 'name="q_1"' not in r.text
    r = v.post(path, {"q_1": "tea", "csrf": csrf(v.get("/m/cafe").text)})
    assert r.status_code == 409 and "already answered" in text(r.text)
    assert cli.json("survey", "results", "taste")["answers"] == 1

    assert v.get("/m/cafe/survey/999999").status_code == 404
    assert v.get("/m/cafe/survey/abc").status_code == 404
    v.close()


def test_survey_page_signs_in_with_line_first(site, tmp_path):
    s = _create(site.cli, tmp_path)
    import httpx

    with httpx.Client(base_url=site.url, follow_redirects=False) as http:
        r = http.get(f"/m/cafe/survey/{s['id']}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/cafe?next=")
