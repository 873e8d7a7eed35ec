"""Two `crm promo issue` processes on the same pool at the same moment (two cron hosts):
the codes are split correctly (one issues, the other finds them held), never a raw error
and never two codes for one person. Both databases; the test holds the pool (PostgreSQL:
its row; SQLite: the write lock) until both processes are waiting, so they really overlap."""

from __future__ import annotations

import json
import subprocess
import time

from tests.engage.support import many_followers
from tests.support import crm_command, crm_env


def _issue(cli, tmp_path):
    argv = crm_command("--db", cli.db_url, "--store", "cafe", "--format", "json", "promo", "issue", "P", "--segment", "all")
    return subprocess.Popen(argv, env=crm_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _held(cli):
    from sqlalchemy import func, select

    from crm_cli.cli.context import AppState
    from crm_cli.db.models import PromoCode
    from crm_cli.db.uow import unit_of_work

    with unit_of_work(AppState(db_url=cli.db_url).engine(), write=False) as session:
        issued = session.execute(select(func.count()).select_from(PromoCode).where(PromoCode.issued_at.is_not(None))).scalar()
        people = session.execute(select(func.count(func.distinct(PromoCode.follower_id)))
                                 .where(PromoCode.issued_at.is_not(None))).scalar()
        return int(issued), int(people)


class _Holder:
    """Hold the pool while the two processes start."""

    def __init__(self, cli):
        self.url = cli.db_url

    def __enter__(self):
        if self.url.startswith("sqlite"):
            import sqlite3

            self.conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            from sqlalchemy import create_engine, text

            self.engine = create_engine(self.url)
            self.conn = self.engine.connect()
            self.conn.execute(text("SELECT id FROM promo_pool WHERE name = 'P' FOR UPDATE"))
        return self

    def __exit__(self, *exc):
        self.conn.rollback() if not self.url.startswith("sqlite") else self.conn.execute("ROLLBACK")
        self.conn.close()
        if not self.url.startswith("sqlite"):
            self.engine.dispose()


def test_two_concurrent_issues_split_the_codes(shop, tmp_path):
    cli = shop
    many_followers(cli, tmp_path, 300)
    cli.ok("segment", "create", "all")
    cli.ok("promo", "load", "P", "--generate", "1000", "--prefix", "P-")
    with _Holder(cli):
        procs = [_issue(cli, tmp_path), _issue(cli, tmp_path)]
        time.sleep(1.5)  # both are started and waiting for the pool
        assert all(p.poll() is None for p in procs)
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert p.returncode in (0, 4), (p.returncode, err)
        if p.returncode == 4:  # a clean refusal: one line, nothing written by that run
            assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        else:
            outs.append(json.loads(out))
    issued, people = _held(cli)
    assert (issued, people) == (300, 300)  # one code each, nobody twice
    assert sum(o["newly_issued"] for o in outs) == 300
    assert all(o["newly_issued"] + o["already_held"] == 300 for o in outs)
    assert len(outs) == 2, "the second issuer waited for the first and found every code held"
    assert sorted(o["newly_issued"] for o in outs) == [0, 300]
    assert cli.json("promo", "list")[0]["issued"] == 300
