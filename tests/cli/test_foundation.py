"""Stores, branches, staff, conventions: through the CLI on both databases."""

from __future__ import annotations

import json
import os
import stat

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import Conflict, DatabaseError, InvalidInput, NotFound, PermissionDenied


def test_store_create_show_list_edit(cli):
    out = cli.json("store", "create", "cafe", "--name", "Cafe Siam", "--phone", "02-123-4567", "--email", "hi@cafe.th")
    assert out["slug"] == "cafe" and out["phone"] == "+6621234567"
    assert out["earn_points"] == 1 and out["earn_per"] == "25.00"
    # store create remembers it as current: later commands need no --store
    shown = cli.json("store", "show", store=None)
    assert shown["name"] == "Cafe Siam"
    cli.ok("store", "edit", "--name", "Cafe Siam 2", "--base-url", "https://crm.example.com/x", store="cafe")
    rows = cli.json("store", "list", store=None)
    assert [r["slug"] for r in rows] == ["cafe"] and rows[0]["name"] == "Cafe Siam 2"


def test_store_errors(cli):
    cli.ok("store", "create", "cafe", "--name", "Cafe")
    err = cli.fails(Conflict.exit_code, "store", "create", "cafe", "--name", "Again")
    assert err == "error: store 'cafe' already exists: pick another slug"
    err = cli.fails(InvalidInput.exit_code, "store", "create", "Bad Slug!", "--name", "x")
    assert err.startswith("error: invalid store slug")
    err = cli.fails(InvalidInput.exit_code, "store", "create", "shop2", "--name", "x", "--phone", "12ab")
    assert "invalid phone number '12ab'" in err
    err = cli.fails(NotFound.exit_code, "branch", "list", store="nope")
    assert err == "error: store 'nope' not found: see `crm store list`"
    # nothing was written by the failures
    assert [s["slug"] for s in cli.json("store", "list", store=None)] == ["cafe"]


def test_no_store_selected(cli):
    err = cli.fails(InvalidInput.exit_code, "branch", "list", store=None)
    assert "no store selected" in err and "crm store use" in err


def test_store_use_and_env(cli, monkeypatch):
    cli.ok("store", "create", "a-shop", "--name", "A", "--no-use")
    cli.ok("store", "create", "b-shop", "--name", "B", "--no-use")
    cli.fails(InvalidInput.exit_code, "store", "show", store=None)
    cli.ok("store", "use", "b-shop", store=None)
    assert cli.json("store", "show", store=None)["slug"] == "b-shop"
    monkeypatch.setenv("CRM_STORE", "a-shop")
    assert cli.json("store", "show", store=None)["slug"] == "a-shop"
    assert cli.json("store", "show", store="b-shop")["slug"] == "b-shop"
    cli.fails(NotFound.exit_code, "store", "use", "zzz", store=None)


def test_branches(shop):
    rows = shop.json("branch", "list")
    assert [r["name"] for r in rows] == ["Ari", "Siam"]
    err = shop.fails(Conflict.exit_code, "branch", "add", "Siam")
    assert err == "error: branch 'Siam' already exists in this store"
    shop.ok("branch", "rename", "Ari", "Ari Station")
    shop.fails(NotFound.exit_code, "branch", "rename", "Nowhere", "X")
    shop.ok("branch", "close", "Ari Station")
    rows = {r["name"]: r for r in shop.json("branch", "list")}
    assert rows["Ari Station"]["status"] == "closed"
    shop.fails(Conflict.exit_code, "branch", "close", "Ari Station")
    # csv and markdown formats
    csv_out = shop.ok("branch", "list", fmt="csv").stdout.splitlines()
    assert csv_out[0] == "name,status,staff,created_at,closed_at"
    md = shop.ok("branch", "list", fmt="markdown").stdout
    assert "| name" in md


def _invite(shop, branch="Siam", role="staff"):
    out = shop.json("staff", "invite", "--branch", branch, "--role", role)
    assert out["link"].endswith(out["token"])
    return out["token"]


def test_staff_invite_join_move_deactivate(shop, tmp_path):
    png = tmp_path / "invite.png"
    out = shop.json("staff", "invite", "--branch", "Siam", "--qr", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    token = out["token"]
    assert len(token) == 40 and int(token, 16) >= 0  # 160 bits of hex
    joined = shop.json("staff", "join", token, "--name", "Somchai", "--phone", "081-234-5678", store=None)
    assert joined == {**joined, "phone": "+66812345678", "role": "staff", "branch": "Siam"}
    err = shop.fails(Conflict.exit_code, "staff", "join", token, "--name", "Other", "--phone", "0899999999", store=None)
    assert err == "error: this invite has already been used: ask the store admin for a new invite"
    shop.fails(NotFound.exit_code, "staff", "join", "forged-token", "--name", "X", "--phone", "0899999999", store=None)
    shop.ok("staff", "move", "0812345678", "--branch", "Ari")
    assert shop.json("staff", "list")[0]["branch"] == "Ari"
    err = shop.fails(Conflict.exit_code, "branch", "close", "Ari")
    assert "still has 1 active staff" in err
    shop.ok("staff", "deactivate", "+66 81 234 5678")
    assert shop.json("staff", "list") == []
    assert len(shop.json("staff", "list", "--all")) == 1


def test_invite_expires_after_seven_days(shop):
    with freeze_time("2026-11-01 10:00:00"):
        token = _invite(shop)
    with freeze_time("2026-11-08 10:00:01"):
        err = shop.fails(Conflict.exit_code, "staff", "join", token, "--name", "Late", "--phone", "0812345678", store=None)
        assert "invite expired" in err


def test_invite_token_stored_hashed(shop, engine):
    token = _invite(shop)
    with engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(text("SELECT token_hash FROM staff_invite"))]
    assert token not in hashes and len(hashes[0]) == 64


def test_unknown_role_and_branch(shop):
    shop.fails(InvalidInput.exit_code, "staff", "invite", "--branch", "Siam", "--role", "boss")
    shop.fails(NotFound.exit_code, "staff", "invite", "--branch", "Nowhere")


def test_staff_branch_rule_in_service(shop, uow):
    """A staff-role member acts only at their own branch; an admin anywhere."""
    from crm_cli.services.common import resolve_actor

    shop.ok("staff", "join", _invite(shop, "Siam", "staff"), "--name", "S", "--phone", "0811111111", store=None)
    shop.ok("staff", "join", _invite(shop, "Siam", "admin"), "--name", "A", "--phone", "0822222222", store=None)
    with uow() as session:
        from crm_cli.services.stores import list_stores  # noqa: F401
        store_id = session.execute(text("SELECT id FROM store WHERE slug='cafe'")).scalar_one()
        b, s = resolve_actor(session, store_id, branch=None, staff="0811111111")
        assert b is not None and s is not None
        with pytest.raises(PermissionDenied):
            resolve_actor(session, store_id, branch="Ari", staff="0811111111")
        b2, _ = resolve_actor(session, store_id, branch="Ari", staff="0822222222")
        assert b2 != b


def test_audit_records_every_mutation(shop):
    token = _invite(shop)
    shop.ok("staff", "join", token, "--name", "Somchai", "--phone", "0812345678", store=None)
    rows = shop.json("audit", "list")
    commands = [r["command"] for r in rows]
    assert commands[:4] == ["staff join", "staff invite", "branch add", "branch add"]
    assert commands[-1] == "store create"
    assert all(r["actor"] == "tester" for r in rows)
    assert "joined as staff" in rows[0]["summary"]


def test_bad_database_url_names_url_without_password(isolated_env):
    from tests.support import Cli

    cli = Cli("postgresql+psycopg://bob:s3cret@127.0.0.1:1/nodb")
    r = cli("store", "list")
    assert r.exit_code == DatabaseError.exit_code
    assert "s3cret" not in r.output and "127.0.0.1:1/nodb" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.output


def test_outdated_schema_is_refused(tmp_path, isolated_env):
    from crm_cli.db.engine import DbTarget, make_engine
    from tests.support import Cli

    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    make_engine(DbTarget(url=url, embedded_default=False)).dispose()
    cli = Cli(url)
    err = cli.fails(DatabaseError.exit_code, "store", "list")
    assert "run `crm db upgrade`" in err
    cli.ok("db", "upgrade")
    assert cli.json("db", "status")["up_to_date"] is True
    assert cli.json("store", "list") == []


def test_embedded_default_is_created_0600_and_upgraded(isolated_env):
    from typer.testing import CliRunner

    from crm_cli.cli.app import app

    r = CliRunner().invoke(app, ["--format", "json", "store", "list"])
    assert r.exit_code == 0, r.output
    db = isolated_env / "data" / "crm.sqlite3"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_invalid_format_is_usage_error(cli):
    r = cli("store", "list", fmt="yaml")
    assert r.exit_code == 2


def test_json_on_stdout_chatter_on_stderr(cli):
    r = cli("store", "create", "cafe", "--name", "Cafe", fmt="json")
    assert r.exit_code == 0
    json.loads(r.stdout)
    assert "current store is now 'cafe'" in r.stderr


def test_store_terms_file(cli, tmp_path):
    cli.ok("store", "create", "cafe", "--name", "Cafe")
    terms = tmp_path / "terms.md"
    terms.write_text("\ufeffเงื่อนไข: points are personal", encoding="utf-8")
    assert cli.json("store", "edit", "--terms-file", str(terms), store="cafe")["terms"] == "เงื่อนไข: points are personal"
    err = cli.fails(InvalidInput.exit_code, "store", "edit", "--terms-file", str(tmp_path / "nope.md"), store="cafe")
    assert err == f"error: terms file {tmp_path / 'nope.md'} not found"
