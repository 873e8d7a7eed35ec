"""Audit trail: one record per mutating command (actor, time, command, store, summary).

A summary never holds a phone number: commands write :func:`mask_phone` forms, and
:func:`record` masks any Thai number still found in the text (however it is written),
so the log, which outlives a PDPA erasure, holds no raw phone. :func:`scrub_phone`
replaces every form of one number in older records when its member is erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from crm_cli.db.models import AuditLog
from crm_cli.domain.redact import mask_phone, phone_pattern, redact_phones

__all__ = ["mask_phone", "redact_phones", "scrub_phone", "record", "list_audit", "AuditRow"]


def scrub_phone(session, *, store_id: int, e164: str, replacement: str) -> int:
    """Replace every form of ``e164`` (and its masked form) with ``replacement`` in the
    store's audit records and ledger reasons; returns the number of rows changed."""
    from crm_cli.db.models import LedgerEntry

    changed = 0
    for model, column in ((AuditLog, "summary"), (LedgerEntry, "reason")):
        changed += _scrub_column(session, model, column, store_id=store_id, e164=e164, replacement=replacement)
    session.flush()
    return changed


def _scrub_column(session, model, column: str, *, store_id: int, e164: str, replacement: str) -> int:
    from sqlalchemy import or_

    pattern = phone_pattern(e164)
    tail = e164[-4:]
    # every form ends with the last four digits, at most one separator among them
    hints = [tail] + [f"{tail[:i]}{sep}{tail[i:]}" for i in (1, 2, 3) for sep in "- ."]
    col = getattr(model, column)
    rows = session.exec(select(model).where(model.store_id == store_id, or_(*[col.contains(h) for h in hints]))).all()
    changed = 0
    for row in rows:
        old = getattr(row, column) or ""
        new = pattern.sub(replacement, old)
        if new != old:
            setattr(row, column, new)
            session.add(row)
            changed += 1
    return changed


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    command: str
    store: str | None
    summary: str


def record(session, *, store_id: int | None, actor: str, command: str, summary: str, now: datetime) -> None:
    """Write one audit record: a Core INSERT on the unit of work's Session (flushed first) or connection."""
    from crm_cli.db.uow import execute

    execute(session, _INSERT, dict(store_id=store_id, actor=actor, command=command,
                                   summary=redact_phones(summary)[:2000], created_at=now))


_INSERT = AuditLog.metadata.tables["audit_log"].insert()  # built once; its compiled form is cached


def list_audit(session, *, store_id: int | None, limit: int = 100, command: str | None = None) -> list[AuditRow]:
    from crm_cli.db.models import Store

    q = select(AuditLog, col(Store.slug)).join(Store, col(Store.id) == col(AuditLog.store_id), isouter=True)
    if store_id is not None:
        q = q.where(AuditLog.store_id == store_id)
    if command:
        q = q.where(AuditLog.command.startswith(command))
    q = q.order_by(col(AuditLog.id).desc()).limit(limit)
    return [
        AuditRow(id=a.id, created_at=a.created_at, actor=a.actor, command=a.command, store=slug, summary=a.summary)
        for a, slug in session.exec(q).all()
    ]
