"""Tier "points earned" less the points a refund clawed back (both databases, pinned times)."""

from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time
from sqlmodel import select

from tests.services.test_tiers_helpers import member

HEADER = "order_id,phone,paid_at,amount,status,refund_amount\n"
A, B, C, D = "0811111111", "0822222222", "0833333333", "0844444444"


def _feed(tmp_path, *rows):
    p = tmp_path / "orders.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _tier(uow, phone):
    from crm_cli.db.models import Member
    from crm_cli.services.common import phone as norm
    from crm_cli.services.tiers import current_tier

    with uow() as s:
        m = s.exec(select(Member).where(Member.phone == norm(phone))).one()
        t = current_tier(s, m.id)
        return t.name if t is not None else None


def _earned(uow, phone, at):
    from crm_cli.db.models import Member
    from crm_cli.services import tiers
    from crm_cli.services.common import phone as norm
    from tests.services.test_tiers_helpers import store_row

    with uow() as s:
        m = s.exec(select(Member).where(Member.phone == norm(phone))).one()
        return tiers.earned_in_window(s, store_row(s), m.id, at)


def test_refunded_orders_come_off_the_earned_points_other_debits_do_not(shop, uow, tmp_path):
    with freeze_time("2026-11-05T10:00:00+07:00"):
        shop.ok("billing", "subscribe", "--date", "2026-11-01")
        shop.ok("tier", "on")
        shop.ok("tier", "set", "Silver", "--threshold", "100")
        with uow() as s:
            for phone in (A, B, C, D):
                member(s, phone, now=datetime.now(timezone.utc))
    paid = "2026-11-20T10:00:00+07:00"
    with freeze_time("2026-11-20T19:00:00+07:00"):
        shop.ok("orders", "import", str(_feed(tmp_path, *(f"O{p},{p},{paid},2500.00,paid," for p in (A, C, D)))),
                "--channel", "myshop")
        assert shop.json("orders", "sync")["points_awarded"] == 300  # 1 point per 25 THB: 100 each
        shop.ok("points", "give", B, "--spend", "3000", "--branch", "Siam")  # 120 points
        assert [_tier(uow, p) for p in (A, B, C, D)] == ["Silver"] * 4
    with freeze_time("2026-11-21T10:00:00+07:00"):
        shop.ok("points", "adjust", B, "--points", "-30", "--reason", "double scan")  # not a refund
        shop.ok("points", "adjust", D, "--points", "-100", "--reason", "counter error")  # D's points are gone
        shop.ok("orders", "import", str(_feed(tmp_path,
                                              f"O{A},{A},{paid},2500.00,refunded,2500.00",   # all 100 back
                                              f"O{C},{C},{paid},2500.00,refunded,500.00",    # 20 back
                                              f"O{D},{D},{paid},2500.00,cancelled,")),       # 100 as debt
                "--channel", "myshop")
        r = shop.json("orders", "sync")
        assert (r["points_clawed"], r["debt"]) == (220, 100)  # D: nothing left to take, all debt
        now = datetime.now(timezone.utc)
        assert [_earned(uow, p, now) for p in (A, B, C, D)] == [0, 120, 80, 0]
        # the immediate lift uses the same total: 10 more points do not lift A back to Silver
        shop.ok("points", "give", A, "--spend", "250", "--branch", "Siam")
        assert _earned(uow, A, datetime.now(timezone.utc)) == 10
    with freeze_time("2026-11-22T00:00:00+07:00"):
        moved = shop.json("tier", "recalc")
        assert sorted((m["phone"], m["old_tier"], m["new_tier"], m["direction"]) for m in moved) == [
            ("+66811111111", "Silver", None, "down"), ("+66833333333", "Silver", None, "down"),
            ("+66844444444", "Silver", None, "down")]
        assert [_tier(uow, p) for p in (A, B, C, D)] == [None, "Silver", None, None]
        assert shop.json("tier", "recalc") == []  # idempotent
    history = shop.json("tier", "history", A)
    assert [(h["old_tier"], h["new_tier"], h["reason"], h["earned_points"]) for h in history][-1] == \
        ("Silver", None, "recalc", 10)
