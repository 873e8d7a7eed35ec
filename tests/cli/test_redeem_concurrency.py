"""Concurrent redemptions from real OS processes, on SQLite and PostgreSQL.

Each process runs ``python -m crm_cli ... reward redeem`` in its own interpreter and
database connection. SQLite serializes writers with BEGIN IMMEDIATE; PostgreSQL relies
on the member row lock and the conditional stock UPDATE.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

from sqlmodel import select

from crm_cli.db.models import LedgerEntry, Redemption, Reward
from tests.services.test_tiers_helpers import earn, member, store_row
from tests.support import sized

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)


def _run_all(db_url: str, argvs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "crm_cli", "--db", db_url, "--store", "cafe", "--quiet", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for argv in argvs
    ]
    out = []
    for p in procs:
        so, se = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


def test_stock_one_many_processes(shop, uow, db_url):
    """The last unit of stock, wanted by 4 processes at once (8 under `make test-all`)."""
    n = sized(4, 8)
    phones = [f"08100000{i:02d}" for i in range(n)]
    with uow() as s:
        for p in phones:
            member(s, p, now=T0)
            earn(s, p, 100, at=T0)
    shop.ok("reward", "create", "Last cake", "--kind", "in-store", "--cost", "50", "--stock", "1")
    results = _run_all(db_url, [["reward", "redeem", "Last cake", "--phone", p] for p in phones])
    codes = sorted(r.returncode for r in results)
    assert codes == [0] + [4] * (n - 1), [(r.returncode, r.stderr) for r in results]
    for r in results:
        if r.returncode == 4:
            assert "out of stock" in r.stderr and "Traceback" not in r.stderr
    with uow() as s:
        reward = s.exec(select(Reward).where(Reward.name == "Last cake")).one()
        assert reward.stock_left == 0
        assert len(s.exec(select(Redemption)).all()) == 1
        assert [e.points for e in s.exec(select(LedgerEntry).where(LedgerEntry.kind == "redeem")).all()] == [-50]


def test_one_member_two_rewards_at_once(shop, uow, db_url):
    from crm_cli.services import ledger
    from crm_cli.services.common import get_member

    with uow() as s:
        member(s, "0811111111", now=T0)
        earn(s, "0811111111", 100, at=T0)
    shop.ok("reward", "create", "Latte", "--kind", "in-store", "--cost", "80")
    shop.ok("reward", "create", "Mocha", "--kind", "in-store", "--cost", "80")
    argvs = [["reward", "redeem", name, "--phone", "0811111111"] for name in ("Latte", "Mocha", "Latte", "Mocha")]
    results = _run_all(db_url, argvs)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 4, 4, 4], [(r.returncode, r.stderr) for r in results]
    for r in results:
        if r.returncode == 4:
            assert "not enough points" in r.stderr
    with uow() as s:
        m = get_member(s, store_row(s).id, "0811111111")
        assert ledger.balance(s, m.id, datetime.now(timezone.utc)) == 20
        assert len(s.exec(select(Redemption)).all()) == 1
        # the ledger never shows more taken than earned
        total = sum(e.points for e in s.exec(select(LedgerEntry).where(LedgerEntry.member_id == m.id)).all())
        assert total == 20
