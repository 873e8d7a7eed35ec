"""`crm maintenance run`: the nightly jobs, in order, under one lock (SPEC section 8).

Jobs (each idempotent, each in its own transaction, so one failing does not stop
the others; every run of a job is recorded in ``maintenance_run``):

1. ``expire``       write the expiry entries of lots that expired by as-of
2. ``tiers``        recalculate tiers of stores with tiers on (daily: the tier
                    window is rolling, so every day is a cycle boundary)
3. ``orders``       sync marketplace orders paid up to as-of (active stores)
4. ``invoices``     issue last month's invoice for every subscribed store
5. ``suspensions``  suspend stores whose cancelled service ended or whose invoice
                    is unpaid after its due date (and lift those no longer due)
6. ``purges``       purge stores 90 days after the last day of the cancellation month
7. ``retention``    delete registration answers past their retention period
8. ``surveys``      delete survey answers past their survey's retention period

``store_id`` (``crm maintenance run --store SLUG``) limits every job to that
store; without it every store is processed, as cron expects.

The lock: PostgreSQL ``pg_try_advisory_lock`` on a dedicated connection held for
the run; SQLite ``flock`` on ``<database file>.maintenance.lock``. Both are
released by the operating system or the server if the process dies.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from sqlalchemy import text
from sqlmodel import col

from crm_cli.db import dialect
from crm_cli.domain.errors import AlreadyRunning, CrmError
from crm_cli.domain.timeutil import bkk_date

JOBS = ("expire", "tiers", "orders", "invoices", "suspensions", "purges", "retention", "surveys", "campaigns", "richmenus")
CATCH_UP_MONTHS = 24
PG_LOCK_KEY = 0x43524D01  # "CRM" + 1: fits in 32 bits, so pg_locks shows it as objid
APP_NAME = "crm-maintenance"


# ---------------------------------------------------------------- the lock


def lock_file_for(engine) -> str | None:
    from crm_cli.db.engine import sqlite_file

    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    return None if path is None else str(path) + ".maintenance.lock"


@contextmanager
def run_lock(engine) -> Iterator[None]:
    """Hold the maintenance lock for the duration; AlreadyRunning if another process has it."""
    if dialect.is_postgresql(engine):
        with _pg_lock(engine):
            yield
        return
    path = lock_file_for(engine)
    if path is None:  # in-memory database: one process by definition
        yield
        return
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise AlreadyRunning(f"maintenance is already running (pid {holder}); lock file {path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _pg_lock(engine) -> Iterator[None]:
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": f"{APP_NAME} pid={os.getpid()}"})
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(
                text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :k"
                ),
                {"k": PG_LOCK_KEY},
            ).scalar()
            conn.commit()
            pid = holder.split("pid=", 1)[1] if holder and "pid=" in holder else "unknown"
            raise AlreadyRunning(f"maintenance is already running (pid {pid})")
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.execute(text("SELECT set_config('application_name', '', false)"))
                conn.commit()
            except Exception:  # the connection is gone: the server released the lock with it
                conn.invalidate()
    finally:
        conn.close()


# ---------------------------------------------------------------- results


class Outcome(str):
    """A job's summary line that also carries its figures as integers (``counts``), so the
    JSON summary of a run has numbers, not numbers inside text."""

    counts: dict[str, int]

    def __new__(cls, text_: str, counts: dict[str, int] | None = None) -> "Outcome":
        obj = super().__new__(cls, text_)
        obj.counts = {k: int(v) for k, v in (counts or {}).items()}
        return obj


@dataclass(frozen=True)
class JobResult:
    job: str
    status: str  # ok | failed
    summary: str
    as_of: datetime
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int] = field(default_factory=dict)  # the job's figures (empty when it failed)

    @property
    def line(self) -> str:
        return f"{self.job}: {self.status}: {self.summary}"


# ---------------------------------------------------------------- the jobs


def _stores(session, *, store_id: int | None = None) -> list[tuple[int, str]]:
    from sqlmodel import select

    from crm_cli.db.models import Store

    q = select(col(Store.id), col(Store.slug)).where(col(Store.purged_at).is_(None))
    if store_id is not None:
        q = q.where(Store.id == store_id)
    return [(r[0], r[1]) for r in session.exec(q.order_by(Store.slug)).all()]


def _only(ids, store_id: int | None) -> list[int]:
    return [i for i in ids if store_id is None or i == store_id]


def unbilled_stores(session, *, store_id: int | None = None) -> list[str]:
    """Slugs of the stores (not purged) that have no subscription: they are not billed."""
    from sqlmodel import select

    from crm_cli.db.models import Store, SubscriptionEventRow

    q = (select(col(Store.slug)).where(col(Store.purged_at).is_(None))
         .where(col(Store.id).not_in(select(col(SubscriptionEventRow.store_id)))))
    if store_id is not None:
        q = q.where(Store.id == store_id)
    return list(session.exec(q.order_by(Store.slug)).all())


def _per_store(session, items, work: Callable[[int], str | None]) -> tuple[list[str], list[str]]:
    """Run ``work`` per store in a savepoint: one store failing does not undo the others."""
    done, failed = [], []
    for sid, slug in items:
        try:
            with session.begin_nested():
                note = work(sid)
            if note:
                done.append(note)
        except CrmError as exc:
            failed.append(f"{slug}: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - reported in the job's summary
            failed.append(f"{slug}: {exc.__class__.__name__}: {exc}")
    return done, failed


class JobFailed(Exception):
    pass


def _finish(done: list[str], failed: list[str], empty: str) -> str:
    text_ = "; ".join(done) if done else empty
    if failed:
        raise JobFailed(text_ + " | failed: " + "; ".join(failed))
    return text_


def job_expire(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.services import ledger

    r = ledger.expire(session, now=now, actor=actor, store_id=store_id)
    return Outcome(f"{r.lots_expired} lots expired, {r.points_expired} points ({r.members} members)",
                   {"lots_expired": r.lots_expired, "points_expired": r.points_expired, "members": r.members})


def job_tiers(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from sqlmodel import select

    from crm_cli.db.models import Store
    from crm_cli.services import billing, tiers

    q = select(col(Store.id), col(Store.slug)).where(col(Store.purged_at).is_(None), col(Store.tiers_enabled).is_(True))
    if store_id is not None:
        q = q.where(Store.id == store_id)
    stores = [r for r in session.exec(q.order_by(Store.slug)).all()
              if not billing.service_now(session, store_id=r[0], now=now).suspended]
    counts = {"stores": 0, "members": 0, "moved": 0, "upgrades": 0, "downgrades": 0}
    if not stores:
        return Outcome("tiers not enabled in any active store", counts)

    def work(sid: int) -> str:
        r = tiers.recalc(session, store_id=sid, as_of=now, now=now, dry_run=False, limit=10)
        for k, v in (("stores", 1), ("members", r.members), ("moved", r.moved), ("upgrades", r.upgrades),
                     ("downgrades", r.downgrades)):
            counts[k] += v
        return f"{_slug(session, sid)}: {r.moved} moved ({r.upgrades} up, {r.downgrades} down) of {r.members} members"

    done, failed = _per_store(session, [(r[0], r[1]) for r in stores], work)
    return Outcome(_finish(done, failed, "nothing to do"), counts)


def _slug(session, store_id: int) -> str:
    from crm_cli.db.models import Store

    return session.get(Store, store_id).slug


def job_orders(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.services import orders

    ids = _only(orders.stores_with_pending_orders(session, as_of=now), store_id)
    items = [(sid, _slug(session, sid)) for sid in ids]

    figures = ("awarded", "points_awarded", "not_eligible", "reversed", "points_clawed", "debt")
    counts = dict.fromkeys(("stores",) + figures, 0)

    def work(sid: int) -> str:
        r = orders.sync_store(session, store_id=sid, as_of=now, actor=actor)
        counts["stores"] += 1
        for k in figures:
            counts[k] += int(getattr(r, k))
        return r.summary

    done, failed = _per_store(session, items, work)
    return Outcome(_finish(done, failed, "no orders to sync"), counts)


def previous_month(now: datetime) -> str:
    first = bkk_date(now).replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def job_invoices(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    """Issue every ended month's invoice that is still missing (normally: last month's).

    Months are caught up from the store's first subscription month, at most
    ``CATCH_UP_MONTHS`` back, so a missed night (or month) is issued late rather than never.
    Stores without a subscription are named in the summary: they are not billed.
    """
    from crm_cli.services import billing

    last = previous_month(now)
    items = [(sid, _slug(session, sid)) for sid in _only(billing.billable_store_ids(session), store_id)]

    issued = {"invoices_issued": 0}

    def work(sid: int) -> str | None:
        notes = []
        for month in billing.missing_invoice_months(session, store_id=sid, until=last, limit=CATCH_UP_MONTHS):
            v = billing.issue_invoice(session, store_id=sid, month=month, now=now)
            if v.new:
                notes.append(f"{v.number} ({month}) {v.total} THB")
        issued["invoices_issued"] += len(notes)
        return f"{_slug(session, sid)}: " + ", ".join(notes) if notes else None

    done, failed = _per_store(session, items, work)
    unbilled = unbilled_stores(session, store_id=store_id)
    if unbilled:
        done.append(f"not billed (no subscription): {', '.join(unbilled)}")
    return Outcome(_finish(done, failed, f"no new invoices (up to {last})"),
                   {**issued, "stores_not_billed": len(unbilled)})


def job_suspensions(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.services import billing

    def work(sid: int) -> str | None:
        change = billing.apply_suspension(session, store_id=sid, now=now)
        if change.action == "unchanged":
            return None
        return f"{change.store}: {change.action}" + (f" ({change.reason})" if change.reason else "")

    done, failed = _per_store(session, _stores(session, store_id=store_id), work)
    return Outcome(_finish(done, failed, "no changes"), {"changes": len(done)})


def job_purges(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.db.models import Store
    from crm_cli.services import billing, purge

    today = bkk_date(now)

    def work(sid: int) -> str | None:
        store = session.get(Store, sid)
        day = billing.purge_day(session, store, billing.load_events(session, sid), now)
        if day is None or today < day:
            return None
        result = purge.purge_store(session, store_id=sid, now=now)
        totals["rows_deleted"] += result.rows
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items() if v)
        return f"{result.store}: purged {result.rows} rows" + (f" ({counts})" if counts else "")

    totals = {"rows_deleted": 0}
    done, failed = _per_store(session, _stores(session, store_id=store_id), work)
    return Outcome(_finish(done, failed, "nothing to purge"), {"stores_purged": len(done), **totals})


def purge_expired_answers(session, *, now: datetime, store_id: int | None = None) -> int:
    """Delete registration answers older than their question's retention period
    (``form_question.retention_days``, else the store's ``answer_retention_days``)."""
    from sqlmodel import select

    from crm_cli.db.models import FormQuestion, Store

    deleted = 0
    questions = select(col(FormQuestion.id), col(FormQuestion.retention_days)).where(col(FormQuestion.retention_days).is_not(None))
    stores = select(col(Store.id), col(Store.answer_retention_days)).where(col(Store.answer_retention_days).is_not(None),
                                                                 col(Store.purged_at).is_(None))
    if store_id is not None:
        questions = questions.where(FormQuestion.store_id == store_id)
        stores = stores.where(Store.id == store_id)
    for qid, days in session.exec(questions).all():
        r = session.execute(
            text("DELETE FROM member_answer WHERE question_id = :q AND created_at < :cut").bindparams(_cut()),
            {"q": qid, "cut": now - timedelta(days=days)},
        )
        deleted += int(r.rowcount or 0)
    for sid, days in session.exec(stores).all():
        r = session.execute(
            text(
                "DELETE FROM member_answer WHERE created_at < :cut AND question_id IN "
                "(SELECT id FROM form_question WHERE store_id = :s AND retention_days IS NULL)"
            ).bindparams(_cut()),
            {"s": sid, "cut": now - timedelta(days=days)},
        )
        deleted += int(r.rowcount or 0)
    return deleted


def _cut():
    from sqlalchemy import bindparam

    from crm_cli.db.types import UTCDateTime

    return bindparam("cut", type_=UTCDateTime())


def job_retention(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.services import members

    fn = getattr(members, "purge_expired_answers", None)
    if fn is None or store_id is not None:
        fn = purge_expired_answers
        result = fn(session, now=now, store_id=store_id)
    else:
        result = fn(session, now=now)
    n = result if isinstance(result, int) else getattr(result, "deleted", result)
    return Outcome(f"{n} registration answers past retention deleted", {"answers_deleted": n})


def job_surveys(session, *, now: datetime, actor: str | None, store_id: int | None = None) -> str:
    from crm_cli.services import surveys

    r = surveys.purge_expired(session, now=now, store_id=store_id)
    where = " (" + ", ".join(f"{k} {v}" for k, v in r.surveys.items()) + ")" if r.surveys else ""
    return Outcome(f"{r.deleted} survey answers past retention deleted{where}", {"survey_answers_deleted": r.deleted})


JOB_FUNCS: dict[str, Callable[..., str]] = {
    "expire": job_expire,
    "tiers": job_tiers,
    "orders": job_orders,
    "invoices": job_invoices,
    "suspensions": job_suspensions,
    "purges": job_purges,
    "retention": job_retention,
    "surveys": job_surveys,
}


def job_campaigns(engine, **kw) -> str:
    from crm_cli.services.campaigns import job_campaigns as run_due

    return run_due(engine, **kw)


#: jobs that take the engine (not one transaction): they send to LINE and commit each step
def job_richmenus(engine, **kw) -> str:
    from crm_cli.services.richmenus import job_relink

    return job_relink(engine, **kw)


ENGINE_JOBS: dict[str, Callable[..., str]] = {
    "campaigns": job_campaigns,
    "richmenus": job_richmenus,
}


# ---------------------------------------------------------------- the run


def run(engine, *, as_of: datetime, jobs: list[str], dry_run: bool, actor: str | None,
        clock: Callable[[], datetime], progress=None, store_id: int | None = None) -> list[JobResult]:
    """Run the jobs in order under the lock; returns one result per job (failures included).

    ``store_id``: only that store (default: every store)."""
    from crm_cli.db.uow import unit_of_work

    results: list[JobResult] = []
    with run_lock(engine):
        for job in jobs:
            started = clock()
            try:
                only = {} if store_id is None else {"store_id": store_id}
                if job in ENGINE_JOBS:  # jobs that call LINE commit step by step themselves
                    summary = ENGINE_JOBS[job](engine, now=as_of, clock=clock, dry_run=dry_run, **only)
                else:
                    with unit_of_work(engine, write=True, dry_run=dry_run) as session:
                        summary = JOB_FUNCS[job](session, now=as_of, actor=actor, **only)
                status = "ok"
                counts = dict(getattr(summary, "counts", {}))
            except JobFailed as exc:
                status, summary, counts = "failed", str(exc), {}
            except CrmError as exc:
                status, summary, counts = "failed", exc.message, {}
            except Exception as exc:  # noqa: BLE001 - one job failing must not stop the others
                status, counts, summary = "failed", {}, f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            if dry_run:
                summary = f"dry run, rolled back: {summary}"
            result = JobResult(job, status, str(summary), as_of, started, clock(), counts)
            results.append(result)
            if not dry_run:
                _record(engine, result)
            if progress is not None:
                progress.advance(1)
    return results


def _record(engine, result: JobResult) -> None:
    from crm_cli.db.models import MaintenanceRun
    from crm_cli.db.uow import unit_of_work

    try:
        with unit_of_work(engine, write=True) as session:
            session.add(MaintenanceRun(job=result.job, as_of=result.as_of, started_at=result.started_at,
                                       finished_at=result.finished_at, status=result.status,
                                       summary=result.summary[:4000]))
    except Exception:  # noqa: BLE001 - the summary line on stdout still reports the job
        pass


@dataclass(frozen=True)
class RunRow:
    id: int
    job: str
    status: str
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None
    summary: str


def history(session, *, limit: int = 50, job: str | None = None) -> list[RunRow]:
    from sqlmodel import select

    from crm_cli.db.models import MaintenanceRun

    q = select(MaintenanceRun)
    if job:
        q = q.where(MaintenanceRun.job == job)
    q = q.order_by(col(MaintenanceRun.id).desc()).limit(limit)
    return [RunRow(r.id, r.job, r.status, r.as_of, r.started_at, r.finished_at, r.summary) for r in session.exec(q).all()]
