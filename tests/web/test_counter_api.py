"""POST /api/v1/points/give on a real server: the same service, idempotency and errors as the CLI."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from crm_cli.domain.errors import ExitCode

PHONE = "0812345678"


def key_for(shop, branch="Siam") -> str:
    return shop.json("apikey", "create", "--branch", branch, "--label", "POS 1")["key"]


def give(served, api_key, **body):
    return served.http.post("/api/v1/points/give", json=body, headers={"Authorization": f"Bearer {api_key}"})


def test_give_matches_the_cli_and_is_idempotent(shop, served):
    shop.ok("points", "rule", "--points", "1", "--per", "25")
    key = key_for(shop)
    r = give(served, key, phone="081-234-5678", spend="350.00", key="R-1001")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["points"] == 14 and out["phone"] == "+66812345678" and out["branch"] == "Siam"
    assert out["spend"] == "350.00" and out["channel"] == "counter" and out["duplicate"] is False
    again = give(served, key, phone=PHONE, spend="350.00", key="R-1001").json()
    assert again["duplicate"] is True and again["entry_id"] == out["entry_id"]
    # the CLI with the same key sees the same entry: one service, one idempotency rule
    cli = shop.json("points", "give", PHONE, "--spend", "350", "--key", "R-1001")
    assert cli["duplicate"] is True and cli["entry_id"] == out["entry_id"]
    assert shop.json("points", "balance", PHONE)["balance"] == 14
    rows = shop.json("apikey", "list")
    assert rows[0]["last_used_at"] is not None and rows[0]["prefix"].endswith("...")
    assert key not in repr(rows)
    audit = shop("audit", "list", fmt="json").stdout
    assert "apikey:1" in audit and key not in audit


def test_errors_are_json_with_exit_code_names(shop, served):
    key = key_for(shop)
    give(served, key, phone=PHONE, spend="100.00", key="R-1")
    r = give(served, key, phone=PHONE, spend="999.00", key="R-1")
    assert r.status_code == 409
    assert r.json()["error"] == "refused" and r.json()["exit_code"] == 4
    r = give(served, key, phone="12345", spend="100.00")
    assert r.status_code == 422 and r.json()["error"] == "invalid_input" and r.json()["exit_code"] == 5
    r = give(served, key, phone=PHONE, spend=350.5)  # a float is refused: money travels as text
    assert r.status_code == 422 and r.json()["exit_code"] == 5
    r = give(served, key, phone=PHONE, spend="1e3")
    assert r.status_code == 422
    r = give(served, key, phone=PHONE, spend="10.00", staff="0899999999")
    assert r.status_code == 404 and r.json()["error"] == "not_found" and r.json()["exit_code"] == 3
    r = served.http.post("/api/v1/points/give", content=b"{oops", headers={"Authorization": f"Bearer {key}",
                                                                          "content-type": "application/json"})
    assert r.status_code == 422


def test_keys_authenticate_per_branch_and_revoke(shop, served):
    key = key_for(shop, "Ari")
    assert give(served, "crm_wrong", phone=PHONE, spend="100.00").status_code == 401
    r = served.http.post("/api/v1/points/give", json={"phone": PHONE, "spend": "100.00"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert give(served, key, phone=PHONE, spend="100.00").json()["branch"] == "Ari"
    shop.ok("apikey", "revoke", "1")
    assert give(served, key, phone=PHONE, spend="100.00").status_code == 401
    assert "already revoked" in shop.fails(ExitCode.CONFLICT, "apikey", "revoke", "1")
    assert "no API key 9" in shop.fails(ExitCode.NOT_FOUND, "apikey", "revoke", "9")
    assert "branch 'Nowhere' not found" in shop.fails(ExitCode.NOT_FOUND, "apikey", "create", "--branch", "Nowhere")


def test_concurrent_same_receipt_gives_once(shop, served):
    key = key_for(shop)

    def one(_):
        return give(served, key, phone=PHONE, spend="250.00", key="R-77")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(20)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    assert len({r.json()["entry_id"] for r in results}) == 1
    assert sum(not r.json()["duplicate"] for r in results) == 1
    assert shop.json("points", "balance", PHONE)["balance"] == 10


def test_suspended_store_refuses(shop, served):
    key = key_for(shop)
    shop.ok("billing", "subscribe", "--date", "2020-01-01")
    shop.ok("billing", "cancel", "--date", "2020-01-15")
    r = give(served, key, phone=PHONE, spend="100.00")
    assert r.status_code == 403 and r.json()["error"] == "store_suspended" and r.json()["exit_code"] == 7


def test_the_counter_routes_answer_http_errors_in_json(shop, served):
    """The counter API's own front (ahead of FastAPI's routing): a wrong method, a body too
    large or not JSON, and a bad ``lots`` are one JSON error each; nothing is written."""
    key = key_for(shop)
    auth = {"Authorization": f"Bearer {key}"}
    r = served.http.get("/api/v1/points/give", headers=auth)
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["exit_code"] == 5
    r = served.http.post(f"/api/v1/members/{PHONE}", headers=auth)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    big = b'{"phone": "' + b"1" * (2 * 1024 * 1024) + b'"}'
    r = served.http.post("/api/v1/points/give", content=big, headers={**auth, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "invalid_input"
    r = served.http.post("/api/v1/points/give", data={"phone": PHONE, "spend": "100.00"}, headers=auth)
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["message"]
    r = served.http.post("/api/v1/points/give", json={"phone": PHONE, "spend": "100.00", "tip": 1}, headers=auth)
    assert r.status_code == 422 and r.json()["message"].startswith("tip: ")
    r = served.http.get(f"/api/v1/members/{PHONE}?lots=many", headers=auth)
    assert r.status_code == 422 and "lots must be a whole number" in r.json()["message"]
    assert served.http.get(f"/api/v1/members/{PHONE}/lots", headers=auth).status_code == 404
    assert "no member or points account" in shop.fails(ExitCode.NOT_FOUND, "points", "balance", PHONE)
    # and a give without a Content-Type is read as JSON, as before
    r = served.http.post("/api/v1/points/give", content=b'{"phone": "0812345678", "spend": "100.00"}', headers=auth)
    assert r.status_code == 200, r.text
