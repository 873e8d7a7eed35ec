"""The pages in a real headless Chromium (Debian's package, driven by Playwright) against a
real `crm serve` and the fake LINE platform, on both databases, at 360 px wide in Thai.

A missing browser is a failure, never a skip: `.ci/run` installs it.
``CRM_PAGE_SCREENSHOTS=docs/img`` writes the screenshots shown in docs/pages.md.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), (
        f"no Chromium at {CHROMIUM}: install it (apt-get install -y chromium fonts-thai-tlwg) or set CRM_CHROMIUM")
    from playwright.sync_api import (
        sync_playwright,  # the test extra; never `playwright install`
    )

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _context(browser, site, user_id: str, name: str):
    site.login.user(user_id, name)
    ctx = browser.new_context(viewport=PHONE, locale="th-TH", device_scale_factor=2)
    ctx.set_default_timeout(15_000)
    return ctx


def _fits(page) -> None:
    """Nothing wider than the phone: no sideways scrolling at 360 px."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _shot(page, tmp_path, name: str) -> None:
    out = tmp_path / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 5_000
    target = os.environ.get("CRM_PAGE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, Path(target) / f"{name}.png")


def test_member_and_staff_in_the_browser(site, browser, backend, tmp_path):
    cli = site.cli
    cli.ok("tier", "on")
    cli.ok("tier", "set", "Silver", "--threshold", "0")
    cli.ok("tier", "set", "Gold", "--threshold", "200", "--benefits", "10% off")
    cli.ok("points", "expiry", "rolling", "12")
    cli.ok("form", "question", "add", "ชอบกาแฟแบบไหน", "--kind", "choice", "--choice", "ร้อน:hot", "--choice", "เย็น:iced")
    cli.ok("reward", "create", "กาแฟฟรี 1 แก้ว", "--kind", "in-store", "--cost", "30", "--stock", "50")
    cli.ok("reward", "create", "แก้วเก็บความเย็น", "--kind", "delivery", "--cost", "150", "--stock", "10")
    cli.ok("reward", "create", "ส่วนลด 50 บาท", "--kind", "in-store", "--cost", "60")

    # --- a member registers: Thai name, a phone that lost its leading zero
    somchai = "U" + "a1" * 16
    ctx = _context(browser, site, somchai, "Somchai")
    page = ctx.new_page()
    page.goto(f"{site.url}/m/cafe")  # -> LINE Login on the fake platform -> back, signed in
    assert page.url == f"{site.url}/m/cafe"
    page.get_by_label("เบอร์โทรศัพท์").fill("812345678")
    page.get_by_label("ชื่อ-นามสกุล").fill("สมชาย ใจดี")
    page.get_by_label("ชอบกาแฟแบบไหน").select_option("เย็น")
    page.get_by_label("ฉันยอมรับข้อกำหนดและเงื่อนไข").check()
    _fits(page)
    page.get_by_role("button", name="สมัครสมาชิก").click()
    assert page.locator("#points").inner_text() == "20"
    assert page.locator("#tier").inner_text() == "Silver"
    expect(page.locator("body")).to_contain_text("สมชาย ใจดี")  # waits until the page shows it
    m = cli.json("member", "show", "0812345678")
    assert m["status"] == "registered" and m["tags"] == ["iced"]

    # --- points from the counter, seen on the card
    cli.ok("points", "give", "0812345678", "--spend", "2500", "--branch", "Siam")
    page.reload()
    assert page.locator("#points").inner_text() == "120"
    expect(page.locator("body")).to_contain_text("Gold")  # waits until the page shows it
    assert page.locator("img.qr").evaluate("i => i.naturalWidth") > 100  # the member QR drew
    _fits(page)
    _shot(page, tmp_path, "member-card")

    # --- a QR claim, twice
    ticket = cli.json("points", "qr", "--spend", "250", "--branch", "Siam")
    page.goto(f"{site.url}/claim/{ticket['token']}")
    page.get_by_role("button", name="รับแต้ม").click()
    assert "ได้รับ 10 แต้ม" in page.locator("#claim-result").inner_text()
    _shot(page, tmp_path, "claim")
    page.goto(f"{site.url}/claim/{ticket['token']}")
    page.get_by_role("button", name="รับแต้ม").click()
    assert "already claimed" in page.locator("#claim-error").inner_text()

    # --- rewards, redeem with a confirmation step
    page.goto(f"{site.url}/m/cafe/rewards")
    _fits(page)
    _shot(page, tmp_path, "rewards")
    page.locator("li.reward", has_text="กาแฟฟรี 1 แก้ว").get_by_role("link", name="แลก").click()
    expect(page.locator("body")).to_contain_text("แต้มคงเหลือหลังแลก: 100")  # waits until the page shows it
    page.get_by_role("button", name="ยืนยันการแลก").click()
    code = page.locator("#coupon-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9-]{6,20}", code)
    assert cli.json("points", "balance", "0812345678")["balance"] == 100
    coupon_url = page.url
    _shot(page, tmp_path, "coupon")
    ctx.close()

    # --- another member tries Somchai's coupon URL: refused
    malee = "U" + "b2" * 16
    ctx2 = _context(browser, site, malee, "Malee")
    p2 = ctx2.new_page()
    p2.goto(f"{site.url}/m/cafe")
    p2.get_by_label("เบอร์โทรศัพท์").fill("0898765432")
    p2.get_by_label("ชื่อ-นามสกุล").fill("มาลี มีสุข")
    p2.get_by_label("ฉันยอมรับข้อกำหนดและเงื่อนไข").check()
    p2.get_by_role("button", name="สมัครสมาชิก").click()
    resp = p2.goto(coupon_url)
    refused = p2.locator("main").inner_text()
    assert resp.status == 404 and "not found among your coupons" in refused and "กาแฟ" not in refused
    ctx2.close()

    # --- staff join by the invite link, give points, use the coupon
    invite = cli.json("staff", "invite", "--branch", "Siam", "--role", "staff")
    ctx3 = _context(browser, site, "U" + "c3" * 16, "Nok")
    p3 = ctx3.new_page()
    p3.goto(f"{site.url}/staff/join/{invite['token']}")
    _fits(p3)
    _shot(p3, tmp_path, "staff-join")
    p3.get_by_label("ชื่อ-นามสกุล").fill("นก พนักงาน")
    p3.get_by_label("เบอร์โทรศัพท์").fill("0811111111")
    p3.get_by_role("button", name="เข้าร่วม").click()
    expect(p3.locator("body")).to_contain_text("เข้าร่วมเป็นพนักงานเรียบร้อย")  # waits until the page shows it
    p3.get_by_label("เบอร์โทรหรือ QR สมาชิก").fill("0898765432")
    p3.get_by_label("ยอดซื้อ (บาท)").fill("350")
    p3.get_by_role("button", name="ให้แต้ม").click()
    assert "ให้ 14 แต้ม" in p3.locator("#done").inner_text()
    p3.get_by_label("รหัสคูปอง").fill(code)
    p3.get_by_role("button", name="ใช้คูปอง").click()
    assert code in p3.locator("#done").inner_text()
    assert "+14" in p3.locator("#today").inner_text()
    _fits(p3)
    _shot(p3, tmp_path, "staff")
    ctx3.close()
    assert cli.json("points", "balance", "0898765432")["balance"] == 34
    hist = cli.json("points", "history", "0898765432")
    assert hist[-1]["staff"] == "นก พนักงาน" and hist[-1]["branch"] == "Siam"


def test_survey_page_in_the_browser(site, browser, backend, tmp_path):
    """The survey page's own words (text/survey.toml) and the shared ones, in Thai, at 360 px."""
    cli = site.cli
    notice = tmp_path / "notice.txt"
    notice.write_text("เราเก็บคำตอบเพื่อปรับปรุงเมนู", encoding="utf-8")
    s = cli.json("survey", "create", "taste", "--notice", str(notice), "--retention-days", "30",
                 "--question", "ชอบเครื่องดื่มอะไร", "--choice", "1=กาแฟ:coffee-lover", "--choice", "1=ชา")
    ctx = _context(browser, site, "U" + "d4" * 16, "Dao")
    page = ctx.new_page()
    page.goto(f"{site.url}/m/cafe/survey/{s['id']}")
    body = page.locator("main")
    expect(body).to_contain_text("ประกาศความเป็นส่วนตัว")
    expect(body).to_contain_text("คำตอบจะถูกเก็บไว้ 30 วัน แล้วลบโดยอัตโนมัติ")
    _fits(page)
    _shot(page, tmp_path, "survey")
    page.get_by_label("กาแฟ").check()
    page.get_by_role("button", name="ส่งคำตอบ").click()
    expect(page.locator("main")).to_contain_text("ขอบคุณที่ตอบแบบสอบถาม")
    assert cli.json("survey", "results", "taste")["answers"] == 1
    ctx.close()
