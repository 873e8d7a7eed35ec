"""The current store is never switched behind the operator's back, every write names its
store on stderr, and `crm store delete` (both databases)."""

from __future__ import annotations

import json

from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.cli.context import read_config
from crm_cli.domain.errors import ExitCode

NOW = "2026-11-24 03:00:00"


def test_demo_keeps_the_current_store(shop):
    shop.ok("store", "use", "cafe", store=None)
    with freeze_time(NOW):
        r = shop("demo", store=None)
        assert r.exit_code == 0, r.stderr
        assert "the current store is still 'cafe'" in r.stderr
        assert read_config()["store"] == "cafe"
        r = shop.ok("points", "give", "0812345678", "--spend", "100", store=None)
        assert "store: cafe\n" in r.stderr
        assert read_config()["store"] == "cafe"
        shop("demo", store=None)  # a second run only shows it, and still switches nothing
        assert read_config()["store"] == "cafe"


def test_demo_becomes_current_when_none_is_set(cli):
    with freeze_time(NOW):
        r = cli("demo", store=None)
    assert r.exit_code == 0 and "it is now the current store" in r.stderr
    assert read_config()["store"] == "demo-cafe"


def test_every_write_names_its_store_but_not_when_quiet(shop):
    r = shop.ok("branch", "add", "Thonglor")
    assert r.stderr.splitlines()[-1] == "store: cafe"
    assert "store:" not in shop.ok("branch", "add", "Bang Na", "--quiet").stderr
    assert "store:" not in shop.ok("branch", "list").stderr  # reading writes nothing
    with freeze_time(NOW):
        ticket = shop.json("points", "qr", "--spend", "100", "--branch", "Siam")
        r = shop.ok("points", "claim", ticket["token"], "--phone", "0812345678", store=None)
    assert "store: cafe" in r.stderr  # found from the token, not from --store
    r = shop.ok("store", "create", "tea", "--name", "Tea House", "--no-use", store=None)
    assert "store: tea" in r.stderr


def test_store_delete(shop, engine):
    shop.ok("store", "use", "cafe", store=None)
    with freeze_time(NOW):
        shop.ok("points", "give", "0812345678", "--spend", "100")
    shop.ok("store", "create", "tea", "--name", "Tea House", "--no-use", store=None)
    assert "--yes" in shop.fails(ExitCode.INVALID_INPUT, "store", "delete", "cafe", store=None)  # no terminal, no --yes
    err = shop.fails(ExitCode.CONFLICT, "store", "delete", "cafe", "--yes", store=None)
    assert err == ("error: store 'cafe' has 1 member(s): deleting it erases them and their points; "
                   "add --purge to do so")
    assert shop.fails(ExitCode.NOT_FOUND, "store", "delete", "nope", "--yes", store=None).startswith("error: store 'nope' not found")

    r = shop.ok("store", "delete", "tea", "--yes", store=None)  # no members: no --purge needed
    assert "store: tea (deleted)" in r.stderr and read_config()["store"] == "cafe"
    with freeze_time(NOW):
        r = shop.ok("store", "delete", "cafe", "--purge", "--yes", "--format", "json", store=None)
    out = json.loads(r.stdout)
    assert out["slug"] == "cafe" and out["members_erased"] == 1 and out["rows_deleted"] > 0
    assert "'cafe' was the current store" in r.stderr
    assert "store" not in read_config()
    assert shop.json("store", "list", store=None) == []
    assert shop.fails(ExitCode.INVALID_INPUT, "branch", "list", store=None).startswith("error: no store selected")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM member")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM branch")).scalar_one() == 0
    audit = shop.json("audit", "list", "--all-stores", store=None)
    assert any(a["command"] == "store delete" and a["store"] == f"cafe.deleted-{out['store_id']}"
               and a["summary"].startswith("deleted store cafe: 1 member(s) erased")
               for a in audit)
    # the slug is free again
    shop.ok("store", "create", "cafe", "--name", "Cafe Again", store=None)
    assert [s["slug"] for s in shop.json("store", "list", store=None)] == ["cafe"]
