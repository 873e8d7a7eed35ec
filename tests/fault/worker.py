"""One load process for the concurrency test: ``python -m tests.fault.worker PLAN.json``.

The plan (written by tests/fault/test_concurrency.py) names the database, the store, the
members, rewards and QR tokens to use, how many operations to run and the seed. Each
operation is its own unit of work (``unit_of_work(engine, write=True)``), exactly as a
command runs one: give points for a spend, redeem a reward, claim a QR code, adjust a
balance. An operation counts as *acknowledged* only once its transaction committed; the
log records what it wrote (ledger entry ids and points, QR token, redemption id) so the
test can match the acknowledged work against the database afterwards.

Refusals the services are designed to give (insufficient points, out of stock, QR code
already claimed) are logged as ``refused``; anything else is logged as ``error`` with
its message and makes the test fail.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.models import Redemption
    from crm_cli.db.uow import unit_of_work
    from crm_cli.domain.errors import Conflict
    from crm_cli.services import points, rewards

    engine = make_engine(DbTarget(url=plan["db_url"], embedded_default=False), create=False)
    with engine.connect():  # open the pool's first connection before the start signal
        pass
    rng = random.Random(plan["seed"])
    store_id = plan["store_id"]
    phones = plan["phones"]
    tokens = list(plan["tokens"])
    rng.shuffle(tokens)
    kinds, weights = zip(*plan["mix"].items())
    log: list[dict] = []

    Path(plan["ready"]).touch()
    go = Path(plan["go"])
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            print("worker: no start signal", file=sys.stderr)
            return 3
        time.sleep(0.005)

    who = f"w{plan['worker']}"
    for i in range(plan["ops"]):
        kind = rng.choices(kinds, weights)[0]
        phone = rng.choice(phones)
        rec: dict = {"op": i, "kind": kind}
        try:
            with unit_of_work(engine, write=True) as session:
                now = datetime.now(timezone.utc)
                if kind == "give":
                    spend = rng.choice(("35", "80", "125.50", "250", "499"))
                    res = points.give_for_spend(session, store_id=store_id, phone=phone, spend=spend, now=now,
                                                key=f"{who}-{i}", actor=who)
                    rec.update(entries={str(res.entry_id): res.points}, phone=res.phone)
                elif kind == "adjust":
                    delta = rng.choice((-15, -5, 5, 10, 20))
                    res = points.adjust(session, store_id=store_id, phone=phone, points=delta,
                                        reason=f"load test {who} op {i}", now=now, actor=who)
                    rec.update(entries={str(res.entry_id): res.points}, phone=res.phone)
                elif kind == "redeem":
                    name = rng.choice(plan["rewards"])
                    res = rewards.redeem(session, store_id=store_id, name=name, phone_raw=phone, address=None,
                                         now=now, actor=who)
                    red = session.get(Redemption, res.redemption_id)
                    rec.update(entries={str(red.entry_id): -res.points}, redemption=res.redemption_id,
                               reward=res.reward, phone=res.phone)
                elif kind == "claim":
                    if not tokens:
                        rec["kind"] = "claim-none"
                        raise _Skip()
                    token = tokens.pop()
                    rec["token"] = token
                    _, res = points.claim_qr(session, token=token, phone=phone, now=now, actor=who)
                    rec.update(entries={str(res.entry_id): res.points}, phone=res.phone)
                else:  # pragma: no cover - plan error
                    raise ValueError(f"unknown operation {kind}")
            rec["status"] = "ok"  # the unit of work committed: acknowledged
        except _Skip:
            rec["status"] = "skipped"
        except Conflict as exc:  # insufficient points, out of stock, already claimed, per-member limit
            rec.update(status="refused", reason=exc.__class__.__name__, message=exc.message)
        except Exception as exc:  # noqa: BLE001 - every unexpected failure is reported to the test
            rec.update(status="error", message=f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        log.append(rec)

    engine.dispose()
    tmp = Path(plan["out"] + ".tmp")
    tmp.write_text(json.dumps({"worker": plan["worker"], "pid": os.getpid(), "log": log}))
    os.replace(tmp, plan["out"])
    return 0


class _Skip(Exception):
    pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
