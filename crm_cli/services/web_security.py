"""What the web pages keep in the database so that several `crm serve` processes on one
database agree: the signing secrets (made once, by whichever process asks first) and the
attempts counted by the rate limits."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select

from crm_cli.db import dialect
from crm_cli.db.models import RateHit, WebSecret
from crm_cli.domain.errors import Conflict


class TooManyAttempts(Conflict, http=429):
    """A rate limit was reached."""


def secret(session, *, name: str, now: datetime) -> str:
    """The named secret, created (256 random bits) if it does not exist yet. Two processes
    creating it at once keep the first one written."""
    row = session.get(WebSecret, name)
    if row is not None:
        return row.value
    table = WebSecret.__table__
    session.execute(dialect.insert_ignore(session, table, index_elements=["name"])
                    .values(name=name, value=secrets.token_hex(32), created_at=now))
    session.flush()
    return session.exec(select(WebSecret.value).where(WebSecret.name == name)).one()


def hit(session, *, bucket: str, limit: int, window: timedelta, now: datetime, what: str) -> int:
    """Count one attempt in ``bucket``; refuse when more than ``limit`` were made within
    ``window``. The attempt is counted even when refused (the caller commits it on its own,
    before the action it guards, so failed attempts count too). Returns the attempts so far."""
    since = now - window
    # forget what no limit looks at any more: this bucket's old hits, everyone's after a day
    session.execute(delete(RateHit).where(col(RateHit.bucket) == bucket[:120], col(RateHit.at) < since))
    session.execute(delete(RateHit).where(col(RateHit.at) < now - max(window, timedelta(days=1))))
    session.add(RateHit(bucket=bucket[:120], at=now))
    session.flush()
    n = int(session.exec(select(func.count()).select_from(RateHit)
                         .where(RateHit.bucket == bucket[:120], RateHit.at >= since)).one())
    if n > limit:
        minutes = max(1, int(window.total_seconds() // 60))
        raise TooManyAttempts(f"too many {what} attempts: at most {limit} in {minutes} minutes; try again later")
    return n
