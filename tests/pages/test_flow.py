"""The pages over plain HTTP (httpx with cookies), on both databases: sign in with LINE,
register, card, claim, redeem, coupons, staff join and the counter."""

from __future__ import annotations

from tests.pages.support import hidden, text


def test_register_card_claim_redeem_staff(site):
    cli = site.cli
    v = site.visitor(name="สมชาย")
    r = v.get("/m/cafe")
    assert r.status_code == 200, r.text
    assert 'name="phone"' in r.text and "ข้อกำหนด" in r.text
    # LINE Login really happened: authorize, token (PKCE) and verify on the fake platform
    assert [c.status for c in site.line.calls("POST", "/oauth2/v2.1/token")] == [200]
    assert [c.status for c in site.line.calls("POST", "/oauth2/v2.1/verify")] == [200]

    r = v.post("/m/cafe/register", {"phone": "812345678", "name": "สมชาย ใจดี", "accept_terms": "1"},
               csrf_from="/m/cafe")
    assert r.status_code == 200, r.text
    page = text(r.text)
    assert "สมชาย ใจดี" in page and "20" in page
    member = cli.json("member", "show", "0812345678")
    assert member["status"] == "registered" and member["consent_terms_version"] == 1 and member["points"] == 20

    cli.ok("points", "give", "0812345678", "--spend", "500")
    assert ">40<" in v.get("/m/cafe").text.replace(" ", "")
    print(text(v.get("/m/cafe/history").text))
