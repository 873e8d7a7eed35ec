"""GET /api/v1/members/PHONE on a real server: the card `crm points balance` prints, with
the counter API's key, store scoping and errors (both databases)."""

from __future__ import annotations

PHONE = "0812345678"


def key_for(shop, branch="Siam") -> str:
    return shop.json("apikey", "create", "--branch", branch, "--label", "POS 1")["key"]


def card(served, api_key, phone, **params):
    return served.http.get(f"/api/v1/members/{phone}", params=params,
                           headers={"Authorization": f"Bearer {api_key}"} if api_key else {})


def test_card_is_what_points_balance_prints(shop, served):
    shop.ok("points", "rule", "--points", "1", "--per", "25")
    shop.ok("points", "expiry", "rolling", "12")
    key = key_for(shop)
    for spend in ("350", "100", "250"):
        shop.ok("points", "give", PHONE, "--spend", spend)
    r = card(served, key, "081-234-5678")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out == shop.json("points", "balance", PHONE)
    assert out["balance"] == 14 + 4 + 10 and out["phone"] == "+66812345678" and len(out["lots"]) == 3
    assert sum(lot["remaining"] for lot in out["lots"]) == out["balance"]
    two = card(served, key, PHONE, lots=2).json()
    assert two["balance"] == out["balance"] and two["lots"] == out["lots"][:2]


def test_card_refuses_bad_keys_unknown_members_and_other_stores(shop, served):
    key = key_for(shop)
    shop.ok("points", "give", PHONE, "--spend", "100")
    r = card(served, None, PHONE)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized" and r.json()["exit_code"] == 6
    assert card(served, "crm_wrong", PHONE).status_code == 401
    r = card(served, key, "0899999999")
    assert r.status_code == 404 and r.json()["error"] == "not_found" and r.json()["exit_code"] == 3
    r = card(served, key, "12345")
    assert r.status_code == 422 and r.json()["exit_code"] == 5
    r = card(served, key, PHONE, lots=101)
    assert r.status_code == 422 and r.json()["exit_code"] == 5
    # a key of another store does not see this store's member
    shop.ok("store", "create", "deli", "--name", "Deli")
    shop.ok("branch", "add", "Ari", store="deli")
    other = shop.json("apikey", "create", "--branch", "Ari", "--label", "POS 2", store="deli")["key"]
    assert card(served, other, PHONE).status_code == 404
    shop.ok("apikey", "revoke", "1")
    assert card(served, key, PHONE).status_code == 401


def test_an_unexpected_failure_is_one_json_answer_and_a_log_line_without_the_phone(shop, served, monkeypatch, caplog):
    """A failure no rule expects (here the balance service raising) answers 500 with one JSON
    line and no detail; the log names the route with the phone masked and the error's class."""
    import logging

    from crm_cli.domain.errors import ExitCode
    from crm_cli.services import points

    key = key_for(shop)

    def broken(*args, **kwargs):
        raise RuntimeError(f"broke on {PHONE}")

    monkeypatch.setattr(points, "balance", broken)
    with caplog.at_level(logging.ERROR, logger="crm.web"):
        r = card(served, key, PHONE)
    assert r.status_code == 500
    assert r.json() == {"error": "internal", "exit_code": ExitCode.INTERNAL, "message": "internal error"}
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "crm.web"]
    assert lines == ["GET /api/v1/members/***5678: RuntimeError"], lines
