"""Audit trail: one record per mutating command (actor, time, command, store, summary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from crm_cli.db.models import AuditLog


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    command: str
    store: str | None
    summary: str


def record(session, *, store_id: int | None, actor: str, command: str, summary: str, now: datetime) -> None:
    session.add(AuditLog(store_id=store_id, actor=actor, command=command, summary=summary[:2000], created_at=now))
    session.flush()


def list_audit(session, *, store_id: int | None, limit: int = 100, command: str | None = None) -> list[AuditRow]:
    from crm_cli.db.models import Store

    q = select(AuditLog, Store.slug).join(Store, Store.id == AuditLog.store_id, isouter=True)
    if store_id is not None:
        q = q.where(AuditLog.store_id == store_id)
    if command:
        q = q.where(AuditLog.command.startswith(command))
    q = q.order_by(AuditLog.id.desc()).limit(limit)
    return [
        AuditRow(id=a.id, created_at=a.created_at, actor=a.actor, command=a.command, store=slug, summary=a.summary)
        for a, slug in session.exec(q).all()
    ]
