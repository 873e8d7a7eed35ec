"""The pages over plain HTTP (httpx with cookies) on a real `crm serve`, both databases:
sign in with LINE, register, card, counter give, history, QR claim, redeem, coupons,
staff join and the counter; the same rules, errors and audit records as the CLI."""

from __future__ import annotations

import re

from tests.pages.support import csrf, hidden, text


def _register(v, phone="812345678", name="สมชาย ใจดี", **extra):
    return v.post("/m/cafe/register", {"phone": phone, "name": name, "accept_terms": "1", **extra}, csrf_from="/m/cafe")


def test_member_register_card_claim_redeem(site):
    cli = site.cli
    cli.ok("form", "question", "add", "อาชีพ", "--kind", "choice", "--choice", "พนักงานออฟฟิศ:working-age",
           "--choice", "นักศึกษา:student")
    v = site.visitor(name="Somchai LINE")
    r = v.get("/m/cafe")
    assert r.status_code == 200, r.text
    for name in ("phone", "name", "birthday", "gender", "email", "accept_terms"):
        assert f'name="{name}"' in r.text
    qid = re.search(r'name="(q_\d+)"', r.text).group(1)
    assert "ร้านเก็บเบอร์โทรและชื่อ" in r.text  # the terms in full
    # LINE Login really ran on the fake platform: authorize, token (PKCE), verify
    assert [c.status for c in site.line.calls("GET", "/oauth2/v2.1/authorize")] == [302]
    assert [c.status for c in site.line.calls("POST", "/oauth2/v2.1/token")] == [200]
    assert [c.status for c in site.line.calls("POST", "/oauth2/v2.1/verify")] == [200]

    # points collected before registering merge in
    cli.ok("points", "give", "0812345678", "--spend", "100")
    r = _register(v, birthday="15/03/2533", gender="female", **{qid: "พนักงานออฟฟิศ"})
    assert r.status_code == 200, r.text
    page = text(r.text)
    assert "สมชาย ใจดี" in page and "24 แต้ม" in page  # 4 merged + 20 welcome
    assert "CRM-M" in r.text and "data:image/png;base64," in r.text  # the member QR, inline
    m = cli.json("member", "show", "0812345678")
    assert m["status"] == "registered" and m["consent_terms_version"] == 1 and m["points"] == 24
    assert m["tags"] == ["working-age"] and m["birthday"] == "1990-03-15" and m["line_name"] == "Somchai LINE"
    follower = cli.json("follower", "show", v.user_id)
    assert "+66812345678" in str(follower)  # the follower is linked to the member

    # a counter give through the counter API, seen on the card
    key = cli.json("apikey", "create", "--branch", "Siam")["key"]
    g = site.served.http.post("/api/v1/points/give", json={"phone": "0812345678", "spend": "500.00", "key": "R-1"},
                              headers={"Authorization": f"Bearer {key}"})
    assert g.status_code == 200, g.text
    assert "44 แต้ม" in text(v.get("/m/cafe").text)
    hist = text(v.get("/m/cafe/history").text)
    assert "500.00 THB" in hist and "+20" in hist and "Siam" in hist

    # a points QR: claimed once; the second claim says so
    ticket = cli.json("points", "qr", "--spend", "250", "--branch", "Siam")
    claim = f"/claim/{ticket['token']}"
    r = v.get(claim)
    assert r.status_code == 200 and "รับแต้ม" in r.text
    r = v.post(claim, {"csrf": csrf(r.text)})
    assert r.status_code == 200, r.text
    assert "ได้รับ 10 แต้ม" in text(r.text) and ">54<" in r.text
    r = v.post(claim, {}, csrf_from=claim)
    assert r.status_code == 409 and "already claimed" in text(r.text)
    assert cli.json("points", "balance", "0812345678")["balance"] == 54

    # rewards and redeem with a confirmation step
    cli.ok("reward", "create", "กาแฟฟรี", "--kind", "in-store", "--cost", "30", "--stock", "5")
    cli.ok("reward", "create", "Mug", "--kind", "delivery", "--cost", "50")
    cli.ok("reward", "create", "Hidden", "--kind", "in-store", "--cost", "1", "--hidden")
    r = v.get("/m/cafe/rewards")
    page = text(r.text)
    assert "กาแฟฟรี" in page and "Mug" in page and "Hidden" not in page and "เหลือ 5" in page
    link = re.search(r'href="(/m/cafe/rewards/R\d+)"', r.text).group(1)
    confirm = v.get(link)
    assert "ยืนยันการแลก" in confirm.text and "แต้มคงเหลือหลังแลก: 24" in text(confirm.text)
    assert cli.json("points", "balance", "0812345678")["balance"] == 54  # nothing taken yet
    r = v.post(link, {"csrf": csrf(confirm.text), "key": hidden(confirm.text, "key")})
    assert r.status_code == 200, r.text
    code = re.search(r'id="coupon-code">([^<]+)<', r.text).group(1)
    assert re.fullmatch(r"[A-Z0-9-]{6,20}", code) and "พร้อมใช้" in r.text and "data:image/png" in r.text
    # the same confirmation posted twice redeems once
    again = v.post(link, {"csrf": csrf(confirm.text), "key": hidden(confirm.text, "key")})
    assert again.status_code == 200
    assert cli.json("points", "balance", "0812345678")["balance"] == 24
    coupons = text(v.get("/m/cafe/coupons").text)
    assert coupons.count("กาแฟฟรี") == 1 and code in coupons

    # a delivery needs the address: asked on the confirmation page, with the CLI's words when missing
    cli.ok("points", "adjust", "0812345678", "--points", "100", "--reason", "test")
    mug_link = [m for m in re.findall(r'href="(/m/cafe/rewards/R\d+)"', v.get("/m/cafe/rewards").text)
                if "Mug" in v.get(m).text][0]
    page = v.get(mug_link)
    assert 'name="address"' in page.text
    r = v.post(mug_link, {"csrf": csrf(page.text), "key": hidden(page.text, "key"), "address": ""})
    assert r.status_code == 422 and "pass --address" in text(r.text)
    r = v.post(mug_link, {"csrf": csrf(page.text), "key": hidden(page.text, "key"),
                          "address": "99/1 ถนนสุขุมวิท กรุงเทพฯ 10110"})
    assert r.status_code == 200
    delivery = cli.json("delivery", "list")[0]
    cli.ok("delivery", "update", str(delivery["id"]), "--status", "preparing")
    cli.ok("delivery", "update", str(delivery["id"]), "--status", "shipped", "--carrier", "Kerry", "--tracking", "TH123456")
    coupons = text(v.get("/m/cafe/coupons").text)
    assert "จัดส่งแล้ว" in coupons and "Kerry TH123456" in coupons

    # the same audit records as the commands, by the LINE account
    audit = cli.json("audit", "list")
    mine = {a["command"] for a in audit if a["actor"] == f"line:{v.user_id}"}
    assert {"member register", "points claim", "reward redeem"} <= mine
    assert all("0812345678" not in a["summary"] and "+66812345678" not in a["summary"] for a in audit)

    # English on request
    assert "Member card" in v.get("/m/cafe?lang=en").text
    assert "Points history" in v.get("/m/cafe/history").text  # remembered


def test_staff_join_give_and_coupon(site):
    cli = site.cli
    member = site.visitor(name="Member")
    _register(member, phone="0898765432", name="Malee")
    cli.ok("reward", "create", "Cake", "--kind", "in-store", "--cost", "10")
    link = re.findall(r'href="(/m/cafe/rewards/R\d+)"', member.get("/m/cafe/rewards").text)[0]
    page = member.get(link)
    r = member.post(link, {"csrf": csrf(page.text), "key": hidden(page.text, "key")})
    code = re.search(r'id="coupon-code">([^<]+)<', r.text).group(1)
    qr_value = re.search(r"CRM-M\d+-[A-Z2-7]+", member.get("/m/cafe").text).group(0)

    token = cli.json("staff", "invite", "--branch", "Siam", "--role", "staff")["token"]
    s = site.visitor(name="Staff LINE")
    r = s.get(f"/staff/join/{token}")
    assert r.status_code == 200 and 'name="phone"' in r.text
    r = s.post(f"/staff/join/{token}", {"name": "", "phone": "0811111111"})
    assert r.status_code == 422 and "staff name must not be empty" in text(r.text)
    r = s.post(f"/staff/join/{token}", {"name": "Nok", "phone": "0811111111"}, csrf_from=f"/staff/join/{token}")
    assert r.status_code == 200, r.text
    assert "Nok" in text(r.text) and 'name="spend"' in r.text
    assert [x["name"] for x in cli.json("staff", "list")] == ["Nok"]
    # the invite is single use
    other = site.visitor(name="Other")
    r = other.post(f"/staff/join/{token}", {"name": "Other", "phone": "0822222222"}, csrf_from=f"/staff/join/{token}")
    assert r.status_code == 409 and "already been used" in text(r.text)

    # give by phone, then by the member QR value
    r = s.post("/staff/cafe/give", {"member": "0898765432", "spend": "250"}, csrf_from="/staff/cafe")
    assert r.status_code == 200 and "10" in text(r.text)
    r = s.post("/staff/cafe/give", {"member": qr_value, "spend": "100"}, csrf_from="/staff/cafe")
    assert r.status_code == 200
    bal = cli.json("points", "balance", "0898765432")["balance"]
    assert bal == 20 - 10 + 10 + 4
    hist = cli.json("points", "history", "0898765432")
    assert [(h["branch"], h["staff"]) for h in hist if h["kind"] == "earn"] == [("Siam", "Nok"), ("Siam", "Nok")]
    # the CLI's errors, next to the field
    r = s.post("/staff/cafe/give", {"member": "12", "spend": "100"}, csrf_from="/staff/cafe")
    assert r.status_code == 422 and "invalid phone number '12'" in text(r.text)
    forged = qr_value[:-1] + ("A" if qr_value[-1] != "A" else "B")
    r = s.post("/staff/cafe/give", {"member": forged, "spend": "100"}, csrf_from="/staff/cafe")
    assert r.status_code == 404 and "not recognised" in text(r.text)
    # a staff member acts at their own branch only
    r = s.post("/staff/cafe/give", {"member": "0898765432", "spend": "100", "branch": "Ari"}, csrf_from="/staff/cafe")
    assert r.status_code == 403 and "works at another branch" in text(r.text)

    # use the coupon; a second use is refused with the CLI's words
    r = s.post("/staff/cafe/coupon", {"code": code}, csrf_from="/staff/cafe")
    assert r.status_code == 200 and code in text(r.text)
    r = s.post("/staff/cafe/coupon", {"code": code}, csrf_from="/staff/cafe")
    assert r.status_code == 409 and "already used" in text(r.text)
    today = text(s.get("/staff/cafe").text)
    assert "+10" in today and "+4" in today and "Nok" in today
    # amounts read as on the member's history page (thousands grouped)
    r = s.post("/staff/cafe/give", {"member": "0898765432", "spend": "2500"}, csrf_from="/staff/cafe")
    assert r.status_code == 200 and "2,500.00 THB" in text(s.get("/staff/cafe").text)

    # an admin picks any branch
    token = cli.json("staff", "invite", "--branch", "Ari", "--role", "admin")["token"]
    a = site.visitor(name="Admin", lang="en")  # Accept-Language: en
    r = a.post(f"/staff/join/{token}", {"name": "Boss", "phone": "0833333333"}, csrf_from=f"/staff/join/{token}")
    assert "Give points" in r.text and "Today at Ari" in text(r.text)
    r = a.post("/staff/cafe/give", {"member": "0898765432", "spend": "50", "branch": "Siam"}, csrf_from="/staff/cafe")
    assert r.status_code == 200
    assert cli.json("points", "history", "0898765432")[-1]["branch"] == "Siam"
    # members are not staff
    r = member.get("/staff/cafe")
    assert r.status_code == 403
    audit = cli.json("audit", "list")
    assert {"staff join", "points give", "coupon use"} <= {x["command"] for x in audit if x["actor"].startswith("line:")}


def test_printed_links_lead_to_the_pages(site):
    cli = site.cli
    assert cli.json("form", "link")["link"] == "https://crm.example.com/m/cafe"
    ticket = cli.json("points", "qr", "--spend", "100", "--branch", "Siam")
    assert ticket["link"] == f"https://crm.example.com/claim/{ticket['token']}"
    invite = cli.json("staff", "invite", "--branch", "Siam")
    assert invite["link"] == f"https://crm.example.com/staff/join/{invite['token']}"
    # on the server, each leads to its page (the older link forms redirect)
    v = site.visitor(name="Link")
    assert v.get("/cafe/register").url.path == "/m/cafe"
    assert v.get(f"/cafe/staff/join?token={invite['token']}").url.path == f"/staff/join/{invite['token']}"
    assert v.get(f"/cafe/claim?token={ticket['token']}").url.path == "/m/cafe"  # register first, then the claim
    # the whole link pasted into the commands works too
    out = cli.json("points", "claim", ticket["link"], "--phone", "0812345678")
    assert out["points"] == 4
    joined = cli.json("staff", "join", invite["link"], "--name", "Nok", "--phone", "0811111111")
    assert joined["branch"] == "Siam"


def test_language_link_keeps_the_page(site):
    v = site.visitor(name="Lang")
    r = v.post("/m/cafe/register", {"phone": "12", "name": "x"}, csrf_from="/m/cafe")
    assert 'class="lang" href="/m/cafe?lang=en"' in r.text  # not the POST address
    _register_ok = v.post("/m/cafe/register", {"phone": "0877777777", "name": "Lang", "accept_terms": "1"},
                          csrf_from="/m/cafe")
    assert _register_ok.status_code == 200
    r = v.get("/m/cafe/history")
    assert 'class="lang" href="/m/cafe/history?lang=en"' in r.text
    assert "Points history" in v.get("/m/cafe/history?lang=en").text


def test_a_rate_limit_is_a_429_page(site):
    """Past the QR claim page's limit per address (60 in 10 minutes) the page answers 429
    with the rate-limit title, as the error class declares."""
    v = site.visitor(name="Many")
    statuses = [v.get("/claim/" + "0" * 40).status_code for _ in range(61)]
    assert statuses[:60] == [404] * 60  # an unknown code: counted, then not recognised
    r = v.get("/claim/" + "0" * 40)
    assert r.status_code == 429 and "too many QR claim attempts" in text(r.text)
