"""One writer process for the backup test: ``python -m tests.fault.backup_writer PLAN.json WHO``.

Gives points in a loop, each give its own unit of work with the idempotency key
``WHO-N``; after each commit it appends ``KEY<TAB>UNIX_TIME`` to its log and flushes,
so the log holds exactly the writes acknowledged, and when. Stops when the stop file
appears (or after ``max_ops``).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def main(plan_path: str, who: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    from crm_cli.db.engine import DbTarget, make_engine
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import points

    engine = make_engine(DbTarget(url=plan["db_url"], embedded_default=False), create=False)
    stop = Path(plan["stop"])
    with open(Path(plan["logs"]) / f"{who}.log", "a", encoding="utf-8") as log:
        for i in range(plan["max_ops"]):
            if stop.exists():
                break
            key = f"{who}-{i}"
            with unit_of_work(engine, write=True) as session:
                points.give_for_spend(session, store_id=plan["store_id"], phone=plan["phones"][i % len(plan["phones"])],
                                      spend="100", branch="Siam", key=key, now=datetime.now(timezone.utc), actor=who)
            log.write(f"{key}\t{time.time()}\n")
            log.flush()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
