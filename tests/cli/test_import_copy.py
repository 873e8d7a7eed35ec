"""Member import into a store without members: on PostgreSQL the rows go straight into
``member`` and ``ledger_entry`` by COPY in text format (written by crm, not the driver),
with the per-row foreign-key checks left out where the role may do so. Values must come
back exactly as written; derived rows and later checks must be as with any other write."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm_cli.domain.errors import ExitCode
from tests.conftest import on_postgresql
from tests.support import Cli

NOW = "2026-11-24 10:00:00"
HEADER = "เบอร์โทรศัพท์*,ชื่อ - นามสกุล*,จำนวนพอยท์*,เพศ,วันเกิด,อีเมล"
# names with COPY's own characters: a backslash, the NULL marker as text, an escape sequence
ROWS = [
    HEADER,
    "0812000001,Back\\slash \\N name,100,ชาย,15/03/2533,somchai@example.com",
    "0812000002,ทดสอบ \\t ไม่ใช่แท็บ,0,,,",
    '0812000003,"Quote "" and, comma",25,F,1990-01-31,A.B@Example.COM',
]


def _csv(tmp_path, name="members\\N\tx.csv"):  # COPY's escapes in the file name (the reason)
    p = tmp_path / name
    p.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return p


def _import(cli, path):
    with freeze_time(NOW):
        return cli.json("member", "import", str(path), "--branch", "Ari")


def _rows(engine, sql, **params):
    with engine.begin() as conn:
        res = conn.execute(text(sql), params)
        return res.all() if res.returns_rows else res.rowcount


def test_free_text_comes_back_exactly(shop, engine, tmp_path):
    _rows(engine, "UPDATE store SET expiry_policy = 'rolling', expiry_months = 12")
    out = _import(shop, _csv(tmp_path))
    assert out["expires_at"] == "2027-11-24T17:00:00+00:00"
    assert (out["created"], out["points_total"]) == (3, 125)
    got = _rows(engine, "SELECT phone, name, gender, birthday, email, source FROM member ORDER BY phone")
    assert [(r[0], r[1], r[2], str(r[3]) if r[3] else None, r[4], r[5]) for r in got] == [
        ("+66812000001", "Back\\slash \\N name", "male", "1990-03-15", "somchai@example.com", "import"),
        ("+66812000002", "ทดสอบ \\t ไม่ใช่แท็บ", None, None, None, "import"),
        ("+66812000003", 'Quote " and, comma', "female", "1990-01-31", "A.B@example.com", "import"),
    ]
    lots = _rows(engine, "SELECT m.phone, e.kind, e.points, e.reason, e.idem_source, e.idem_key, e.actor, e.branch_id "
                         "FROM ledger_entry e JOIN member m ON m.id = e.member_id ORDER BY m.phone")
    ids = dict(_rows(engine, "SELECT phone, id FROM member"))
    ari = _rows(engine, "SELECT id FROM branch WHERE name = 'Ari'")[0][0]
    assert [tuple(r) for r in lots] == [
        ("+66812000001", "import", 100, "imported from members\\N\tx.csv", "import", str(ids["+66812000001"]), "tester", ari),
        ("+66812000003", "import", 25, "imported from members\\N\tx.csv", "import", str(ids["+66812000003"]), "tester", ari),
    ]
    # the moments the COPY path writes as text are the ones every other write stores (UTC)
    from crm_cli.db.types import UTCDateTime

    cols = ("registered", "created", "active", "lot_created", "lot_expires")
    with engine.connect() as conn:
        utc = [tuple(r) for r in conn.execute(text(
            "SELECT DISTINCT m.registered_at AS registered, m.created_at AS created, m.last_activity_at AS active, "
            "e.created_at AS lot_created, e.expires_at AS lot_expires FROM member m "
            "JOIN ledger_entry e ON e.member_id = m.id").columns(**{c: UTCDateTime() for c in cols}))]
    at = datetime(2026, 11, 24, 10, tzinfo=timezone.utc)
    expires = None if out["expires_at"] is None else datetime.fromisoformat(out["expires_at"])
    assert utc == [(at, at, at, at, expires)]
    # a store with members stages the rows (COPY into import_stage on PostgreSQL): the same text comes back
    staged = tmp_path / "more.csv"
    staged.write_text("\n".join([HEADER, "0812000009,Tab\\t and \\N again,5,,,"]) + "\n", encoding="utf-8")
    assert _import(shop, staged)["created"] == 1
    assert _rows(engine, "SELECT name FROM member WHERE phone = '+66812000009'")[0][0] == "Tab\\t and \\N again"
    shown = shop.json("member", "show", "0812000001")
    assert shown["name"] == "Back\\slash \\N name"
    assert shop.json("points", "balance", "0812000003")["balance"] == 25


def test_derived_rows_and_checks_after_a_direct_import(shop, engine, tmp_path):
    """The statement triggers still fill the expiry queue and ledger_summary, `crm db check`
    passes, and a later write that breaks a foreign key is still refused."""
    _rows(engine, "UPDATE store SET expiry_policy = 'rolling', expiry_months = 12")
    _import(shop, _csv(tmp_path))
    assert _rows(engine, "SELECT COUNT(*) FROM lot_expiry")[0][0] == 2
    assert sorted(r[0] for r in _rows(engine, "SELECT points FROM ledger_summary")) == [25, 100]
    check = shop.json("db", "check")
    assert check and all(line["ok"] for line in check), check
    with pytest.raises(Exception) as broke:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, created_at, channel) "
                              "VALUES (1, 999999, 'adjust', 5, 0, :t, 'cli')"), {"t": datetime(2026, 11, 24)})
    assert "foreign key" in str(broke.value).lower()


@on_postgresql
def test_replication_role_is_back_to_default_in_the_same_transaction(shop, engine, tmp_path):
    """The COPYs' replica role is local to them: the import's own later statements (its
    audit row, anything after it in the transaction) run with every trigger."""
    from crm_cli.db.uow import connection
    from crm_cli.services import member_import as svc

    now = datetime(2026, 11, 24, 3, tzinfo=timezone.utc)
    with connection(engine, write=True, dry_run=True) as sa:
        db = svc.Db(sa)
        assert svc._unchecked_copies(db) is True  # the test server's role is a superuser: the fast path runs
        store = svc.load_store(db, slug="cafe", now=now)
        before = sys.getswitchinterval()
        outcome = svc.import_members(db, store=store, path=_csv(tmp_path), branch="Ari", now=now, actor="t")
        assert outcome.summary.created == 3
        assert sa.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
        assert sys.getswitchinterval() == before  # the COPY worker's short interval is given back
        bad = tmp_path / "bad.csv"
        bad.write_text("\n".join([HEADER, "0812999999,Fine,10,,,", "12,Bad,10,,,"]) + "\n", encoding="utf-8")
        sa.exec_driver_sql("DELETE FROM ledger_entry")
        sa.exec_driver_sql("DELETE FROM member")
        assert svc.import_members(db, store=store, path=bad, branch="Ari", now=now, actor="t").errors
        assert sys.getswitchinterval() == before


def _unchecked_as(url: str) -> bool:
    """Whether an import connected as ``url``'s role would leave the per-row key checks out."""
    from crm_cli.services import member_import as svc

    eng = create_engine(url)
    try:
        with eng.connect() as sa:
            return svc._unchecked_copies(svc.Db(sa))
    finally:
        eng.dispose()


@on_postgresql
def test_a_role_without_the_privilege_imports_with_every_check(shop, engine, tmp_path, db_url):
    role = f"crm_plain_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        # (stated, not assumed: a `crm db restore` earlier in this database recreates the public schema)
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    url = make_url(db_url).set(username=role).render_as_string(hide_password=False)
    try:
        plain = Cli(url, store="cafe")
        out = _import(plain, _csv(tmp_path))
        assert (out["created"], out["points_total"]) == (3, 125)
        assert _unchecked_as(url) is False
        assert all(line["ok"] for line in plain.json("db", "check"))
        assert _rows(engine, "SELECT name FROM member WHERE phone = '+66812000001'")[0][0] == "Back\\slash \\N name"
        # granted the parameter (PostgreSQL 15+), the same role takes the unchecked path
        if _rows(engine, "SELECT current_setting('server_version_num')::int")[0][0] >= 150000:
            _rows(engine, f'GRANT SET ON PARAMETER session_replication_role TO "{role}"')
            assert _unchecked_as(url) is True
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


@on_postgresql
def test_a_row_the_server_refuses_mid_copy_is_a_conflict_and_writes_nothing(shop, engine, tmp_path):
    """A COPY the server refuses (here a CHECK constraint this test adds; in use, a phone a
    concurrent import wrote first) fails the import as any refused write does: with
    one line (exit 4, conflict), nothing written, and the next command works."""
    _rows(engine, "ALTER TABLE member ADD CONSTRAINT test_no_boom CHECK (name <> 'Boom')")
    try:
        p = tmp_path / "boom.csv"
        p.write_text("\n".join([HEADER, "0812000001,Fine,10,,,", "0812000002,Boom,10,,,"]) + "\n", encoding="utf-8")
        with freeze_time(NOW):
            r = shop("member", "import", str(p), "--branch", "Ari")
        assert r.exit_code == ExitCode.CONFLICT, r.output
        assert "nothing was written" in r.output and "Traceback" not in r.output
        assert _rows(engine, "SELECT COUNT(*) FROM member")[0][0] == 0
        assert _rows(engine, "SELECT COUNT(*) FROM ledger_entry")[0][0] == 0
        assert shop.json("member", "list") == []
    finally:
        _rows(engine, "ALTER TABLE member DROP CONSTRAINT test_no_boom")


def test_a_phone_in_the_file_name_is_masked_in_the_audit(shop, tmp_path):
    """The import writes its own audit row (without the models): phones in it are masked as
    every other audit record's are."""
    _import(shop, _csv(tmp_path, name="members 0899998888.csv"))
    summary = next(a["summary"] for a in shop.json("audit", "list") if a["command"] == "member import")
    assert "0899998888" not in summary and "members +6689***8888.csv" in summary
