"""crm points through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import create_engine, text

from crm_cli.domain.errors import CheckFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from crm_cli.domain.phone import InvalidPhone, normalize_phone

UTC = timezone.utc
PHONE = "081-234-5678"


def counts(db_url) -> tuple[int, int, int]:
    """(ledger entries, points accounts, claimed QR codes) straight from the database."""
    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            return tuple(c.execute(text(q)).scalar_one() for q in (
                "SELECT COUNT(*) FROM ledger_entry", "SELECT COUNT(*) FROM member",
                "SELECT COUNT(*) FROM qr_claim WHERE claimed_at IS NOT NULL"))
    finally:
        eng.dispose()


@pytest.fixture
def staffed(shop):
    """Staff: Nok (staff role, Siam) and Boss (admin, Ari)."""
    for branch, role, name, phone in (("Siam", "staff", "Nok", "0811111111"), ("Ari", "admin", "Boss", "0822222222")):
        token = shop.json("staff", "invite", "--branch", branch, "--role", role)["token"]
        shop.ok("staff", "join", token, "--name", name, "--phone", phone)
    return shop


def test_rule_and_expiry_policy(shop):
    out = shop.json("points", "rule")
    assert (out["earn_points"], out["earn_per"], out["welcome_points"], out["expiry_policy"]) == (1, "25.00", 0, "never")
    out = shop.json("points", "rule", "--points", "2", "--per", "50", "--welcome", "30")
    assert out["rule"] == "2 points per 50.00 THB (rounded down)" and out["welcome_points"] == 30
    assert shop.json("points", "expiry", "rolling", "12")["expiry"] == "rolling 12 months (end of the Bangkok day)"
    assert shop.json("points", "expiry", "year-end")["expiry_policy"] == "year_end"
    assert shop.json("points", "expiry", "never")["expiry_months"] is None
    err = shop.fails(InvalidInput.exit_code, "points", "expiry", "rolling", "25")
    assert err == "error: rolling expiry needs 1 to 24 months, got 25"
    err = shop.fails(InvalidInput.exit_code, "points", "rule", "--per", "-1")
    assert err == "error: --per amount must be greater than 0, got -1"
    assert shop.json("points", "rule")["earn_per"] == "50.00"


def test_worked_examples(shop):
    got = [shop.json("points", "give", PHONE, "--spend", s, "--branch", "Siam")["points"]
           for s in ("24.99", "25", "349.99", "350")]
    assert got == [0, 1, 13, 14]
    bal = shop.json("points", "balance", "0812345678")
    assert (bal["phone"], bal["balance"], bal["registered"]) == ("+66812345678", 28, False)
    hist = shop.json("points", "history", "+66 81 234 5678")
    assert [(h["kind"], h["points"], h["spend"], h["channel"], h["branch"]) for h in hist] == [
        ("earn", 1, "25.00", "counter", "Siam"), ("earn", 13, "349.99", "counter", "Siam"),
        ("earn", 14, "350.00", "counter", "Siam")]
    csv_out = shop.ok("points", "history", PHONE, fmt="csv").stdout.splitlines()
    assert csv_out[0] == "id,at,kind,points,spend,channel,branch,staff,reason" and len(csv_out) == 4
    shop.ok("points", "check")


def test_calendar_edges_with_frozen_time(shop):
    shop.ok("points", "expiry", "rolling", "12")
    with freeze_time("2024-02-29 05:00:00"):  # 12:00 Bangkok
        out = shop.json("points", "give", PHONE, "--spend", "100")
    assert out["expires_at"] == "2025-02-28T17:00:00+00:00"  # end of 2025-02-28 in Bangkok
    shop.ok("points", "expiry", "rolling", "1")
    with freeze_time("2026-01-31 02:00:00"):
        out = shop.json("points", "give", "0822222222", "--spend", "100")
    assert out["expires_at"] == "2026-02-28T17:00:00+00:00"
    shop.ok("points", "expiry", "year-end")
    with freeze_time("2026-12-31 16:30:00"):  # 23:30 Bangkok on 31 December
        out = shop.json("points", "give", "0833333333", "--spend", "100")
    assert out["expires_at"] == "2026-12-31T17:00:00+00:00"
    with freeze_time("2026-12-31 16:59:59"):
        bal = shop.json("points", "balance", "0833333333")
        assert bal["balance"] == 4 and bal["next_expiry_on"] == "2026-12-31" and bal["next_expiry_points"] == 4
    with freeze_time("2026-12-31 17:00:01"):  # one second after the expiry
        assert shop.json("points", "balance", "0833333333")["balance"] == 0
    with freeze_time("2025-02-28 16:59:59"):
        assert shop.json("points", "balance", PHONE)["balance"] == 4
    with freeze_time("2025-02-28 17:00:01"):
        assert shop.json("points", "balance", PHONE)["balance"] == 0


def test_fifo_through_cli(shop):
    shop.ok("points", "rule", "--points", "1", "--per", "1")
    shop.ok("points", "expiry", "rolling", "12")
    with freeze_time("2025-03-10 05:00:00"):
        march = shop.json("points", "give", PHONE, "--spend", "100")  # expires end of 2026-03-10
    shop.ok("points", "expiry", "rolling", "1")
    with freeze_time("2025-12-10 05:00:00"):
        jan = shop.json("points", "give", PHONE, "--spend", "50")  # expires end of 2026-01-10
    with freeze_time("2025-12-20 05:00:00"):
        bal = shop.json("points", "balance", PHONE)
        assert [(l["entry_id"], l["remaining"], l["expires_on"]) for l in bal["lots"]] == [
            (jan["entry_id"], 50, "2026-01-10"), (march["entry_id"], 100, "2026-03-10")]
        shop.ok("points", "adjust", PHONE, "--points", "-60", "--reason", "redeemed a mug")
        bal = shop.json("points", "balance", PHONE)
        assert [(l["entry_id"], l["remaining"]) for l in bal["lots"]] == [(march["entry_id"], 90)]
    with freeze_time("2026-01-11 00:00:00"):
        assert shop.json("points", "balance", PHONE)["balance"] == 90
        rows = shop.json("points", "expire")
        assert [(r["store"], r["lots_expired"], r["points_expired"]) for r in rows] == [("cafe", 0, 0)]
        assert shop.json("points", "balance", PHONE)["balance"] == 90
    with freeze_time("2026-06-01 00:00:00"):
        # late, with --as-of a past date, then again: the same ledger
        rows = shop.json("points", "expire", "--as-of", "2026-03-11")
        assert rows[0]["points_expired"] == 90 and rows[0]["as_of"] == "2026-03-10T17:00:00+00:00"
        assert shop.json("points", "expire")[0]["points_expired"] == 0
        hist = shop.json("points", "history", PHONE)
        assert hist[-1]["kind"] == "expire" and hist[-1]["points"] == -90
        assert hist[-1]["at"] == "2026-03-10T17:00:00+00:00"
        shop.ok("points", "check")
        err = shop.fails(InvalidInput.exit_code, "points", "expire", "--as-of", "2027-01-01")
        assert err.startswith("error: --as-of 2027-01-01 00:00 Bangkok is in the future (now 2026-06-01 07:00)")


def test_bad_input_writes_nothing(shop, db_url):
    shop.json("points", "give", PHONE, "--spend", "350", "--key", "R-1")
    before = counts(db_url)
    assert before == (1, 1, 0)
    cases = [
        (NotFound, ("points", "balance", "0899999999"), "error: no member or points account for 0899999999 in this store"),
        (NotFound, ("points", "history", "0899999999"), "error: no member or points account for 0899999999 in this store"),
        (InvalidInput, ("points", "give", PHONE, "--spend", "abc"), "error: invalid spend 'abc': give an amount in THB like 350 or 349.75"),
        (InvalidInput, ("points", "give", PHONE, "--spend", "-5"), "error: spend must be greater than 0, got -5"),
        (InvalidInput, ("points", "give", PHONE, "--spend", "10.005"), "error: spend '10.005' has more than 2 decimal places (satang)"),
        (Conflict, ("points", "give", PHONE, "--spend", "351", "--key", "R-1"),
         "error: key 'R-1' was already used for a different counter entry (#1, +14 points); use a new key, or correct the first entry with `crm points adjust`"),
        (Conflict, ("points", "give", "0899999999", "--spend", "350", "--key", "R-1"),
         "error: key 'R-1' was already used for a different counter entry (#1, +14 points); use a new key, or correct the first entry with `crm points adjust`"),
        (Conflict, ("points", "adjust", PHONE, "--points", "-15", "--reason", "x"),
         f"error: cannot take 15 points from {PHONE}: the balance is only 14"),
        (NotFound, ("points", "give", PHONE, "--spend", "10", "--branch", "Nowhere"), "error: branch 'Nowhere' not found: see `crm branch list`"),
    ]
    for bad in ("12ab", "0212"):
        try:
            normalize_phone(bad)
        except InvalidPhone as exc:
            reason = str(exc)
        cases.append((InvalidInput, ("points", "give", bad, "--spend", "100"), f"error: invalid phone number '{bad}': {reason}"))
        cases.append((InvalidInput, ("points", "balance", bad), f"error: invalid phone number '{bad}': {reason}"))
    for error, args, message in cases:
        assert shop.fails(error.exit_code, *args) == message, args
        assert counts(db_url) == before, args
    # the same request again is not an error: it returns the original and writes nothing
    out = shop.json("points", "give", "0812345678", "--spend", "350.00", "--key", "R-1")
    assert (out["duplicate"], out["entry_id"], out["points"]) == (True, 1, 14)
    assert counts(db_url) == before


def test_staff_roles(staffed, db_url):
    out = staffed.json("points", "give", PHONE, "--spend", "100", "--staff", "0811111111")
    assert (out["branch"], out["staff"]) == ("Siam", "Nok")
    err = staffed.fails(PermissionDenied.exit_code, "points", "give", PHONE, "--spend", "100", "--staff", "0811111111", "--branch", "Ari")
    assert err == "error: staff member 0811111111 works at another branch and cannot act at 'Ari'"
    err = staffed.fails(PermissionDenied.exit_code, "points", "adjust", PHONE, "--points", "5", "--reason", "x", "--staff", "0811111111")
    assert err == "error: staff member 0811111111 has role 'staff'; this needs an admin"
    out = staffed.json("points", "adjust", PHONE, "--points", "-1", "--reason", "typo", "--staff", "0822222222")
    assert (out["points"], out["balance"], out["staff"]) == (-1, 3, "Boss")
    hist = staffed.json("points", "history", PHONE)
    assert [(h["kind"], h["points"], h["branch"], h["staff"], h["reason"]) for h in hist] == [
        ("earn", 4, "Siam", "Nok", "spend 100.00 THB"), ("adjust", -1, "Ari", "Boss", "typo")]
    assert counts(db_url)[0] == 2


def test_qr_claim_flow(shop, db_url, tmp_path):
    png = tmp_path / "claim.png"
    with freeze_time("2026-11-24 05:00:00"):
        t = shop.json("points", "qr", "--spend", "350", "--branch", "Siam", "--out", str(png))
        assert t["points"] == 14 and t["expires_at"] == "2026-11-24T05:15:00+00:00"
        assert t["link"] == f"https://crm.example.com/claim/{t['token']}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        out = shop.json("points", "claim", t["token"], "--phone", PHONE, store=None)
        assert (out["points"], out["balance"], out["branch"]) == (14, 14, "Siam")
        before = counts(db_url)
        err = shop.fails(Conflict.exit_code, "points", "claim", t["token"], "--phone", "0899999999")
        assert err == "error: this QR code was already claimed at 2026-11-24 12:00 Bangkok: each code gives points once"
        err = shop.fails(NotFound.exit_code, "points", "claim", "f" * 40, "--phone", PHONE)
        assert err == "error: QR code not recognised: check the code, or ask the staff for a new one"
        assert counts(db_url) == before == (1, 1, 1)
        t2 = shop.json("points", "qr", "--spend", "100", "--branch", "Siam", "--valid-minutes", "5")
    with freeze_time("2026-11-24 05:05:00"):
        err = shop.fails(Conflict.exit_code, "points", "claim", t2["token"], "--phone", PHONE)
        assert err == "error: this QR code expired at 2026-11-24 12:05 Bangkok: ask the staff for a new one"
    assert counts(db_url) == before
    history = shop.json("points", "history", PHONE)
    assert [(h["channel"], h["points"], h["spend"]) for h in history] == [("qr", 14, "350.00")]
    err = shop.fails(InvalidInput.exit_code, "points", "qr", "--spend", "20", "--branch", "Siam")
    assert err == "error: a spend of 20.00 THB earns no points (rule: 1 point per 25.00 THB (rounded down)): no QR code made"
    shop.ok("points", "check")


def test_check_reports_breach(shop, db_url):
    shop.ok("points", "give", PHONE, "--spend", "500")
    shop.ok("points", "adjust", PHONE, "--points", "-5", "--reason", "x")
    report = shop.json("points", "check")
    assert report["ok"] is True and report["points_balance"] == 15
    eng = create_engine(db_url)
    with eng.begin() as c:  # tamper: an adjustment that took points without allocations
        c.execute(text("DELETE FROM lot_allocation"))
    eng.dispose()
    r = shop("points", "check", fmt="plain")
    assert r.exit_code == CheckFailed.exit_code
    # the lots' remainders went up without allocations: the per-member summary no longer matches either
    assert r.stderr.strip() == "error: 3 ledger invariant breaches in store 'cafe' (debit_allocations, balance, summary)"
    assert "debit #2 takes 5 points but its allocations add up to 0" in r.stdout


def test_balance_and_give_tables(shop):
    out = shop.ok("points", "give", PHONE, "--spend", "350").stdout
    assert "points" in out and "14" in out
    out = shop.ok("points", "balance", PHONE).stdout
    assert "balance" in out and "Lots (spent soonest-expiring first)" in out
    lines = shop.ok("points", "balance", PHONE, fmt="csv").stdout.splitlines()
    assert lines[:3] == ["# balance", "phone,registered,balance,debt,next_expiry_on,next_expiry_points",
                         "+66812345678,no,14,0,,0"]
    assert lines[4:6] == ["# lots (spent soonest-expiring first)", "entry_id,kind,earned_at,points,remaining,expires_on"]
