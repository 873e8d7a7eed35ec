"""The pages' rules on both databases: a member sees only their own data, CSRF on every
POST, cookies signed/HttpOnly/SameSite/Secure behind TLS, the CLI's error words next to
the field, escaping, rate limits, imported members confirming, a suspended store."""

from __future__ import annotations

import re

import httpx

from crm_cli.domain.errors import ExitCode
from tests.pages.support import csrf, hidden, text


def _register(v, phone, name):
    r = v.post("/m/cafe/register", {"phone": phone, "name": name, "accept_terms": "1"}, csrf_from="/m/cafe")
    assert r.status_code == 200, r.text
    return r


def test_own_data_only_csrf_cookies_and_errors(site):
    cli = site.cli
    cli.ok("reward", "create", "Cake", "--kind", "in-store", "--cost", "10")
    alice = site.visitor(name="Alice")
    _register(alice, "0811111111", "Alice")
    link = re.findall(r'href="(/m/cafe/rewards/R\d+)"', alice.get("/m/cafe/rewards").text)[0]
    page = alice.get(link)
    r = alice.post(link, {"csrf": csrf(page.text), "key": hidden(page.text, "key")})
    code = re.search(r'id="coupon-code">([^<]+)<', r.text).group(1)
    assert alice.get(f"/m/cafe/coupons/{code}").status_code == 200

    # another member opening Alice's coupon URL: refused, nothing of it shown
    bob = site.visitor(name="Bob")
    _register(bob, "0822222222", "<script>alert(1)</script>")
    r = bob.get(f"/m/cafe/coupons/{code}")
    assert r.status_code == 404 and "Cake" not in r.text and "Alice" not in r.text
    assert "not found among your coupons" in text(r.text)
    # what Bob typed is escaped, never markup
    card = bob.get("/m/cafe").text
    assert "<script>alert(1)</script>" not in card and "&lt;script&gt;alert(1)&lt;/script&gt;" in card

    # CSRF: a POST without the token (or with another session's) writes nothing
    before = cli.json("points", "balance", "0811111111")["balance"]
    r = alice.http.post(link, data={"key": "x"})
    assert r.status_code == 403 and "form expired" in text(r.text)
    r = alice.http.post(link, data={"key": "y", "csrf": csrf(bob.get("/m/cafe").text)})
    assert r.status_code == 403
    assert cli.json("points", "balance", "0811111111")["balance"] == before

    # cookies: signed, HttpOnly, SameSite=Lax; Secure when the proxy says https
    fresh = httpx.Client(base_url=site.url, follow_redirects=False)
    r = fresh.get("/m/cafe")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/cafe?next=")
    r = fresh.get("/login/cafe")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert r.headers["location"].startswith(site.line.url + "/oauth2/v2.1/authorize?")
    assert "code_challenge_method=S256" in r.headers["location"] and "nonce=" in r.headers["location"]
    r = fresh.get("/login/cafe", headers={"x-forwarded-proto": "https"})
    assert "Secure" in r.headers["set-cookie"]
    # a forged cookie is nobody
    forged = alice.http.cookies.get("crm_session")
    tampered = forged[:-3] + ("aaa" if not forged.endswith("aaa") else "bbb")
    forger = httpx.Client(base_url=site.url, follow_redirects=False, cookies={"crm_session": tampered})
    r = forger.get("/m/cafe")
    forger.close()
    assert r.status_code == 303 and r.headers["location"].startswith("/login/")
    # a callback that did not start here, and a next= pointing elsewhere
    r = fresh.get("/auth/line/callback?code=abc&state=forged")
    assert r.status_code == 422 and "sign-in" in text(r.text).lower() or "เข้าสู่ระบบ" in text(r.text)
    eve = site.visitor(name="Eve")
    r = eve.get("/login/cafe?next=//evil.example/x")
    assert r.url.host == "127.0.0.1" and r.url.path == "/m/cafe"
    fresh.close()

    # the CLI's words next to the field, and nothing written
    r = eve.post("/m/cafe/register", {"phone": "12", "name": "Eve"}, csrf_from="/m/cafe")
    assert r.status_code == 422
    assert re.search(r'id="phone-error">invalid phone number &#39;12&#39;: too short', r.text)
    r = eve.post("/m/cafe/register", {"phone": "0833333333", "name": ""}, csrf_from="/m/cafe")
    assert 'id="name-error">invalid name: required: the full name is missing<' in r.text
    r = eve.post("/m/cafe/register", {"phone": "0833333333", "name": "Eve", "birthday": "31/02/1990"}, csrf_from="/m/cafe")
    assert 'id="birthday-error">invalid birthday' in r.text
    r = eve.post("/m/cafe/register", {"phone": "0833333333", "name": "Eve"}, csrf_from="/m/cafe")
    assert r.status_code == 409 and 'id="accept_terms-error">registration needs the member&#39;s consent' in r.text
    assert 'value="0833333333"' in r.text  # what was typed stays in the form
    cli.fails(ExitCode.NOT_FOUND, "member", "show", "0833333333")
    # a registered phone cannot be taken over from another LINE account
    r = eve.post("/m/cafe/register", {"phone": "0811111111", "name": "Eve", "accept_terms": "1"}, csrf_from="/m/cafe")
    assert r.status_code == 409 and "already a registered member" in text(r.text)
    assert cli.json("member", "show", "0811111111")["name"] == "Alice"


def test_claim_rate_limit_and_sign_in_cancelled(site):
    cli = site.cli
    v = site.visitor(name="Nid")
    _register(v, "0844444444", "Nid")
    ticket = cli.json("points", "qr", "--spend", "100", "--branch", "Siam")
    claim = f"/claim/{ticket['token']}"
    token = csrf(v.get(claim).text)
    codes = [v.http.post(claim, data={"csrf": token}).status_code for _ in range(11)]
    assert codes == [200] + [409] * 9 + [429]
    assert cli.json("points", "balance", "0844444444")["balance"] == 24
    # signing out
    r = v.post("/logout/cafe", {}, csrf_from="/m/cafe")
    assert r.status_code == 200
    assert v.http.get("/m/cafe", follow_redirects=False).headers["location"].startswith("/login/cafe")
    # an unknown store, and a store without LINE Login
    assert v.get("/m/nosuch").status_code == 404
    cli.ok("store", "create", "bakery", "--name", "Bakery")
    r = v.get("/m/bakery")
    assert r.status_code == 503 and "login-channel-id" in r.text
    # a bogus claim token
    assert v.get("/claim/" + "f" * 40).status_code == 404
    # the user cancels on LINE's consent screen
    site.login.deny = True
    other = site.visitor(name="Cancel")
    r = other.get("/m/cafe")
    assert r.status_code == 400 and "ยกเลิกการเข้าสู่ระบบ" in r.text


def test_imported_member_confirms_and_suspended_store(site, tmp_path):
    cli = site.cli
    f = tmp_path / "members.csv"
    f.write_text("phone,full name,points\n0861234567,นภา ศรีสุข,120\n", encoding="utf-8")
    cli.ok("member", "import", str(f), "--branch", "Siam")
    v = site.visitor(name="Napa")
    # a follower the shop linked to the imported member sees their own details to confirm
    linked = tmp_path / "followers.csv"
    linked.write_text(f"user_id,display_name,phone\n{v.user_id},Napa,0861234567\n", encoding="utf-8")
    cli.ok("follower", "import", str(linked))
    r = v.get("/m/cafe")
    assert "ยืนยันข้อมูลสมาชิก" in r.text and 'value="นภา ศรีสุข"' in r.text and 'value="+66861234567"' in r.text
    r = v.post("/m/cafe/register", {"phone": "861234567", "name": "นภา ศรีสุข", "email": "napa@example.com",
                                    "accept_terms": "1"}, csrf_from="/m/cafe")
    assert r.status_code == 200, r.text
    assert "ยืนยันข้อมูลเรียบร้อย" in r.text and "120 แต้ม" in text(r.text)
    m = cli.json("member", "show", "0861234567")
    assert m["consent_terms_version"] == 1 and m["email"] == "napa@example.com" and m["points"] == 120
    assert m["source"] == "import"
    # erased on request: the LINE account no longer leads to the member's data
    cli.ok("member", "forget", "0861234567", "--yes")
    r = v.get("/m/cafe")
    assert r.status_code == 200 and 'name="accept_terms"' in r.text and "นภา" not in r.text
    assert "0861234567" not in str(cli.json("follower", "show", v.user_id))

    # a suspended store says so on every page
    cli.ok("billing", "subscribe", "--date", "2025-01-01")
    cli.ok("billing", "cancel", "--date", "2025-02-10")
    r = v.get("/m/cafe")
    assert r.status_code == 403 and "ปิดให้บริการ" in r.text and "suspended" in text(r.text)


def test_two_server_processes_share_sessions_and_limits(site, db_url, fake_line):
    """Behind a load balancer each request may reach another `crm serve`: the signing secret
    and the rate-limit counts live in the database, so a second server accepts the first
    one's cookie and counts the same attempts."""
    from tests.web.serving import Served

    v = site.visitor(name="Two")
    _register(v, "0866666666", "Two")
    second = Served(db_url, line_url=fake_line.url).start()
    try:
        other = httpx.Client(base_url=second.url, follow_redirects=False, cookies=dict(v.http.cookies))
        r = other.get("/m/cafe")
        assert r.status_code == 200 and "Two" in r.text
        ticket = site.cli.json("points", "qr", "--spend", "100", "--branch", "Siam")
        claim = f"/claim/{ticket['token']}"
        token = csrf(v.get(claim).text)
        codes = []
        for i in range(11):  # alternate between the two servers
            client = v.http if i % 2 == 0 else other
            codes.append(client.post(claim, data={"csrf": token}).status_code)
        assert codes == [200] + [409] * 9 + [429]
        other.close()
    finally:
        second.stop()
