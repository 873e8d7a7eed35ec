"""PDPA: no form of a member's phone number survives in the audit log, the ledger or an
export once the member is erased (both databases)."""

from __future__ import annotations

import json
import re

from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import ExitCode
from crm_cli.domain.redact import mask_phone, phone_pattern, redact_phones

NOW = "2026-11-24 03:00:00"
E164 = "+66812345678"
FORMS = ("+66812345678", "66812345678", "0812345678", "081-234-5678", "081 234 5678", "812345678", "2345678")


def _leaks(blob: str) -> list[str]:
    digits_only = re.sub(r"[ \-.]", "", blob)
    found = [f for f in FORMS if f in blob]
    if "812345678" in digits_only:
        found.append("812345678 (with separators)")
    if mask_phone(E164) in blob:
        found.append(mask_phone(E164))
    return found


def test_redaction_masks_every_form_and_leaves_other_numbers():
    for form in ("0812345678", "081-234-5678", "081 234 5678", "+66812345678", "+66 81 234 5678", "66812345678"):
        assert redact_phones(f"gave 5 points to {form} for 350.00 THB") == "gave 5 points to +6681***5678 for 350.00 THB"
    for kept in ("on 2026-11-30", "invoice 2026-000123", "key R-1001", "token a0812345678b", "0001234567"):
        assert redact_phones(kept) == kept
    pat = phone_pattern(E164)
    for form in ("+66812345678", "0812345678", "081-234-5678", "081.234.5678", "+66 081 234 5678", "+6681***5678"):
        assert pat.sub("X", f"a {form} b") == "a X b"
    assert pat.sub("X", "08123456789") == "08123456789"  # a longer number is another number


def test_forget_leaves_no_form_of_the_phone(shop, engine, tmp_path):
    terms = tmp_path / "TERMS.md"
    terms.write_text("We keep your data for the points programme.\n", encoding="utf-8")
    with engine.begin() as conn:  # a record written before summaries were masked
        sid = conn.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
        conn.execute(text("INSERT INTO audit_log (store_id, actor, command, summary, created_at) "
                          "VALUES (:s, 'old', 'points adjust', :m, :t)"),
                     {"s": sid, "m": "adjusted +66812345678 by -5 points; also 081-234-5678 and +6681***5678",
                      "t": "2026-11-01 00:00:00"})
    with freeze_time(NOW):
        shop.ok("form", "terms", "--file", str(terms))
        shop.ok("points", "give", "081-234-5678", "--spend", "500", "--branch", "Siam", "--key", "R-1")
        shop.ok("points", "adjust", "0812345678", "--points", "-5", "--reason", "typo for 081 234 5678")
        ticket = shop.json("points", "qr", "--spend", "300", "--branch", "Ari")
        shop.ok("points", "claim", ticket["token"], "--phone", "+66812345678", store=None)
        shop.ok("member", "register", "0812345678", "--name", "Somsri Jaidee", "--accept-terms")
        shop.ok("reward", "create", "Free latte", "--kind", "in-store", "--cost", "10")
        shop.ok("reward", "redeem", "Free latte", "--phone", "081-234-5678")

        # before erasure: summaries hold only the masked form
        audit = shop.json("audit", "list", "--limit", "100")
        new = [a["summary"] for a in audit if a["actor"] != "old"]
        assert any(mask_phone(E164) in s for s in new)
        assert [s for s in new if _leaks(s.replace(mask_phone(E164), ""))] == []

        anon = shop.json("member", "forget", "0812345678", "--yes")["anon_id"]
        audit = shop.json("audit", "list", "--limit", "100")
        ledger = tmp_path / "ledger.csv"
        members = tmp_path / "members.csv"
        shop.ok("points", "export", "--out", str(ledger))
        shop.ok("member", "export", "--out", str(members))
        history = shop.json("audit", "list", "--limit", "100")

    blob = json.dumps(audit, ensure_ascii=False)
    assert _leaks(blob) == [], blob
    assert any(anon in a["summary"] for a in audit if a["actor"] == "old")
    for path in (ledger, members):
        content = path.read_text(encoding="utf-8")
        assert _leaks(content) == [], content
    assert _leaks(json.dumps(history, ensure_ascii=False)) == []
    with engine.connect() as conn:
        reasons = [r[0] or "" for r in conn.execute(text("SELECT reason FROM ledger_entry"))]
        summaries = [r[0] for r in conn.execute(text("SELECT summary FROM audit_log"))]
    assert _leaks(" | ".join(reasons + summaries)) == []


def test_forget_anonymises_the_buyers_orders_and_a_later_refund_still_claws_back(shop, tmp_path):
    header = "order_id,phone,paid_at,amount,status,refund_amount\n"
    paid = "LS-1,081-234-5678,2026-11-10T12:00:00+07:00,500.00,paid,\n"
    refunded = "LS-1,081-234-5678,2026-11-10T12:00:00+07:00,500.00,refunded,500.00\n"
    feed = tmp_path / "orders.csv"
    with freeze_time("2026-11-05T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-01")
    with freeze_time("2026-11-20T19:00:00+07:00"):
        feed.write_text(header + paid, encoding="utf-8")
        shop.ok("orders", "import", str(feed), "--channel", "line-shopping")
        assert shop.json("orders", "sync")["awarded"] == 1
        anon = shop.json("member", "forget", "0812345678", "--yes")["anon_id"]
        orders = shop.json("orders", "list")
        assert [o["phone"] for o in orders] == [anon]
        assert _leaks(json.dumps(orders, ensure_ascii=False)) == []
        # the shop's feed sends the order again, now refunded: accepted, the number not stored again
        feed.write_text(header + refunded, encoding="utf-8")
        again = shop.json("orders", "import", str(feed), "--channel", "line-shopping")
        assert (again["new"], again["updated"]) == (0, 1)
        sync = shop.json("orders", "sync")
        assert sync["points_clawed"] == 20
        orders = shop.json("orders", "list")
        assert [(o["phone"], o["points_clawed"]) for o in orders] == [(anon, 20)]
        assert _leaks(json.dumps(orders, ensure_ascii=False)) == []
        # no phone-only account came back for the erased number
        shop.fails(ExitCode.NOT_FOUND, "member", "show", "0812345678")
