"""The points ledger: append-only entries, lots, FIFO allocation, expiry, debt.

Every positive entry is a lot with ``expires_at`` (NULL = never). Every negative
entry writes ``lot_allocation`` rows for the lots it consumed, soonest-expiring
first and never-expiring last. A lot's remainder = its points − its allocations.
A balance at time *t* = Σ remainders of lots not yet expired at *t*, so a lot stops
counting the instant it expires even if the expiry job has not run yet; the job
then writes one ``expire`` entry per expired lot for exactly its remainder.

Debt: when a clawback finds fewer points than it must take, it takes what is there
and records the shortfall as a ``debt`` entry (points 0, debt +N); later credits
settle debt first with ``settle`` entries (points −x, debt −x).

Nothing here commits; callers hold the transaction. Callers that spend must hold
the member lock (``common.lock_member``) first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, text
from sqlmodel import select

from crm_cli.db import dialect
from crm_cli.db.models import LedgerEntry, LotAllocation, Member, Store
from crm_cli.db.types import UTCDateTime
from crm_cli.domain.errors import Conflict, InsufficientPoints, InvalidInput
from crm_cli.domain.expiry import lot_expires_at
from crm_cli.services.balance import lot_rows

#: kinds that count as points *earned* (tiers, reports); positive adjustments count too
EARNED_KINDS = ("earn", "welcome", "import", "adjust")
CREDIT_KINDS = ("earn", "welcome", "import", "adjust", "refund")
DEBIT_KINDS = ("adjust", "redeem", "expire", "clawback", "settle")


@dataclass(frozen=True)
class Lot:
    entry_id: int
    kind: str
    points: int
    remaining: int
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Posted:
    """What one credit or debit did."""

    entry_id: int
    kind: str
    points: int  # signed, as written
    expires_at: datetime | None
    duplicate: bool  # the idempotency key was seen before: nothing new was written
    settled_debt: int = 0
    shortfall: int = 0


def fingerprint(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def check_fingerprint(idem: tuple[str, str], fp: str | None, *, entry_id: int, points: int,
                      stored_fp: str | None) -> None:
    """Conflict when the entry written under ``idem`` came from a different request."""
    if fp is not None and stored_fp is not None and stored_fp != fp:
        source, key = idem
        raise Conflict(
            f"key '{key}' was already used for a different {source} entry (#{entry_id}, {points:+d} points); "
            "use a new key, or correct the first entry with `crm points adjust`"
        )


def _existing(session, store_id: int, idem: tuple[str, str] | None, fp: str | None) -> LedgerEntry | None:
    if idem is None:
        return None
    source, key = idem
    row = session.exec(
        select(LedgerEntry).where(
            LedgerEntry.store_id == store_id, LedgerEntry.idem_source == source, LedgerEntry.idem_key == key
        )
    ).first()
    if row is not None:
        check_fingerprint(idem, fp, entry_id=row.id, points=row.points, stored_fp=row.fingerprint)
    return row


def replay(session, store_id: int, idem: tuple[str, str] | None, fp: str | None) -> LedgerEntry | None:
    """The entry already written under this idempotency key, if any.

    Raises Conflict when the key was used for a request with a different fingerprint
    (another amount or phone): a reused key is never silently accepted.
    """
    return _existing(session, store_id, idem, fp)


def _insert_once(session, store_id: int, entry: LedgerEntry, idem, fp) -> LedgerEntry | None:
    """Insert ``entry``; when a concurrent transaction committed the same key first, return that one.

    The insert runs in a savepoint so a unique-key race (PostgreSQL: two sessions with
    the same key) leaves the outer transaction usable.
    """
    if idem is None:
        session.add(entry)
        session.flush()
        return None
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        other = _existing(session, store_id, idem, fp)
        if other is None:
            raise
        return other
    return None


def lots(session, member_id: int, now: datetime) -> list[Lot]:
    """Lots with points left, in spending order: soonest-expiring first, never-expiring last
    (the one query, :func:`crm_cli.services.balance.lot_rows`, that `points balance` reads)."""
    return [
        Lot(entry_id=r.id, kind=r.kind, points=r.points, remaining=int(r.rem), created_at=r.created_at,
            expires_at=r.expires_at)
        for r in lot_rows(session, member_id, now)
    ]


def balance(session, member_id: int, now: datetime) -> int:
    return sum(lot.remaining for lot in lots(session, member_id, now))


def outstanding_debt(session, member_id: int) -> int:
    return int(session.exec(select(func.coalesce(func.sum(LedgerEntry.debt), 0)).where(LedgerEntry.member_id == member_id)).one())


def store_expires_at(store: Store, at: datetime) -> datetime | None:
    return lot_expires_at(store.expiry_policy, store.expiry_months, at)


def _touch(session, member_id: int, now: datetime) -> None:
    session.execute(
        Member.__table__.update().where(Member.__table__.c.id == member_id).values(last_activity_at=now)
    )


def credit(
    session,
    *,
    store: Store,
    member_id: int,
    kind: str,
    points: int,
    now: datetime,
    channel: str,
    branch_id: int | None = None,
    staff_id: int | None = None,
    reason: str | None = None,
    spend=None,
    idem: tuple[str, str] | None = None,
    fp: str | None = None,
    expires_at: datetime | None | str = "policy",
    actor: str | None = None,
    settle_debt: bool = True,
) -> Posted:
    """Add a lot. Zero points writes nothing (returns entry_id 0) unless an idempotency key must be kept."""
    if kind not in CREDIT_KINDS:
        raise InvalidInput(f"cannot credit with kind '{kind}'")
    if points < 0:
        raise InvalidInput("a credit must not be negative")
    existing = _existing(session, store.id, idem, fp)
    if existing is not None:
        return Posted(existing.id, existing.kind, existing.points, existing.expires_at, duplicate=True)
    exp = store_expires_at(store, now) if expires_at == "policy" else expires_at
    entry = LedgerEntry(
        store_id=store.id, member_id=member_id, kind=kind, points=points, expires_at=exp if points > 0 else None,
        created_at=now, branch_id=branch_id, staff_id=staff_id, channel=channel, reason=reason, spend=spend,
        idem_source=idem[0] if idem else None, idem_key=idem[1] if idem else None, fingerprint=fp, actor=actor,
    )
    if points == 0 and idem is None:
        return Posted(0, kind, 0, None, duplicate=False)
    other = _insert_once(session, store.id, entry, idem, fp)
    if other is not None:
        return Posted(other.id, other.kind, other.points, other.expires_at, duplicate=True)
    settled = 0
    if settle_debt and points > 0:
        debt = outstanding_debt(session, member_id)
        if debt > 0:
            settled = min(debt, points)
            s = LedgerEntry(
                store_id=store.id, member_id=member_id, kind="settle", points=-settled, debt=-settled,
                created_at=now, branch_id=branch_id, staff_id=staff_id, channel="system",
                reason=f"settles debt from earlier clawback (entry #{entry.id})", ref_entry_id=entry.id, actor=actor,
            )
            session.add(s)
            session.flush()
            session.add(LotAllocation(debit_entry_id=s.id, lot_entry_id=entry.id, points=settled))
            session.flush()
    _touch(session, member_id, now)
    return Posted(entry.id, kind, points, entry.expires_at, duplicate=False, settled_debt=settled)


# ---------------------------------------------------------------- a credit in a few statements (Core)


@dataclass(frozen=True)
class TierProbe:
    """Ask :func:`credit_locked` for the tier the member reaches with the credit: the
    store's tier window starts at ``window_start``. The member's tier is read by the credit
    statement itself, after the member lock (``member_tier``)."""

    window_start: datetime


@dataclass(frozen=True)
class Credited:
    """What :func:`credit_locked` wrote and what the account looks like after it."""

    entry_id: int  # 0: the idempotency key was taken by a concurrent request, nothing written
    balance: int  # after the credit and any debt it settled
    settled_debt: int
    earned: int | None  # points earned in the tier window, the credit included (with a TierProbe)
    reached: tuple[int, str, int] | None  # (id, name, threshold) of the highest tier reached
    current: tuple[str, int] | None  # (name, threshold) of the member's tier before the credit
    lifted: bool | None = None  # PostgreSQL with a tier probe: the statement lifted the member to ``reached``


_COUNTED = ", ".join(f"'{k}'" for k in EARNED_KINDS)
#: the account before the credit (the member's row is locked): outstanding debt and balance
#: (remainders of the unexpired lots), and with a tier probe the points earned in the window
#: with the credit (less what refunds clawed back, never below 0) and the tiers involved
_ACCOUNT_SQL = """
    SELECT (SELECT COALESCE(SUM(d.debt), 0) FROM ledger_entry d WHERE d.member_id = :mid) AS debt,
           (SELECT COALESCE(SUM(r.rem), 0) FROM (
                SELECT l.points - COALESCE((SELECT SUM(a.points) FROM lot_allocation a
                                            WHERE a.lot_entry_id = l.id), 0) AS rem
                FROM ledger_entry l
                WHERE l.member_id = :mid AND l.points > 0 AND (l.expires_at IS NULL OR l.expires_at > :now)) r
            WHERE r.rem > 0) AS balance"""
_TIER_SQL = """
    SELECT w.debt, w.balance, w.earned, t.id AS tier_id, t.name AS tier_name, t.threshold AS tier_threshold,
           ct.name AS current_name, ct.threshold AS current_threshold FROM (
        SELECT a.debt, a.balance, CASE WHEN a.earned > 0 THEN a.earned ELSE 0 END AS earned FROM (
            SELECT acc.debt, acc.balance,
                   (SELECT COALESCE(SUM(e.points), 0) FROM ledger_entry e
                    WHERE e.member_id = :mid AND e.points > 0 AND e.kind IN ({kinds})
                      AND e.created_at >= :ws AND e.created_at <= :now)
                   + :pts - COALESCE((SELECT cw.clawed FROM ({clawed}) cw), 0) AS earned
            FROM ({account}) acc) a) w
    LEFT JOIN tier t ON t.id = (SELECT t2.id FROM tier t2 WHERE t2.store_id = :sid AND t2.threshold <= w.earned
                                ORDER BY t2.threshold DESC LIMIT 1)
    LEFT JOIN tier ct ON ct.id = (SELECT mt.tier_id FROM member_tier mt WHERE mt.member_id = :mid)"""
_INSERT_SQL = """
    INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, branch_id, staff_id,
                              channel, reason, spend, idem_source, idem_key, fingerprint, actor)
    VALUES (:sid, :mid, :kind, :pts, 0, :exp, :now, :branch_id, :staff_id, :channel, :reason, :spend,
            :idem_source, :idem_key, :fp, :actor)
    ON CONFLICT DO NOTHING RETURNING id"""
_TOUCH_SQL = "UPDATE member SET last_activity_at = :now WHERE id = :mid"
_STATEMENTS: dict[tuple[str, bool], tuple] = {}


def _credit_statements(conn, with_tier: bool):
    """(account, insert, touch) on SQLite; (merged, None, None) on PostgreSQL: the insert,
    ``last_activity_at`` and the account in one statement (its snapshot is taken after the
    member lock, and the account query sees the ledger as it was before the insert), with a
    tier probe also the lift (the ``member_tier`` row and its ``tier_history`` row) when the
    tier reached is above the member's."""
    from sqlalchemy.types import Integer

    from crm_cli.db.types import Money

    pg = dialect.is_postgresql(conn)
    cached = _STATEMENTS.get((dialect.name(conn), with_tier))
    if cached is not None:
        return cached
    account = _ACCOUNT_SQL
    if with_tier:
        from crm_cli.services.tiers import _CLAWED_SQL, RAISE_ON_CONFLICT, _ref_ix

        plus = "" if pg else "+"
        clawed = _CLAWED_SQL.format(member="AND c.member_id = :mid", plus=plus, ref_ix=_ref_ix(plus))
        account = _TIER_SQL.format(kinds=_COUNTED, clawed=clawed.replace(":asof", ":now"), account=_ACCOUNT_SQL)
    binds = [bindparam("now", type_=UTCDateTime()), bindparam("exp", type_=UTCDateTime()),
             bindparam("ws", type_=UTCDateTime()), bindparam("spend", type_=Money()), bindparam("pts", type_=Integer())]

    def typed(sql: str):
        t = text(sql)
        return t.bindparams(*[b for b in binds if f":{b.key}" in sql])

    if pg and with_tier:  # the tier lift too: the member's member_tier row, its history row from it
        lift = ("acc.tier_id IS NOT NULL AND (acc.current_threshold IS NULL "
                "OR acc.current_threshold < acc.tier_threshold)")
        merged = typed(f"""
            WITH ins AS ({_INSERT_SQL}),
                 acc AS ({account}),
                 tch AS ({_TOUCH_SQL} AND EXISTS (SELECT 1 FROM ins)),
                 lft AS (INSERT INTO member_tier (member_id, tier_id)
                         SELECT :mid, acc.tier_id FROM acc WHERE {lift} AND EXISTS (SELECT 1 FROM ins)
                         {RAISE_ON_CONFLICT}
                         RETURNING 1),
                 hist AS (INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason,
                                                   created_at)
                          SELECT :sid, :mid, acc.current_name, acc.tier_name, acc.earned, 'earn', :now
                          FROM acc WHERE EXISTS (SELECT 1 FROM lft))
            SELECT (SELECT id FROM ins) AS entry_id, acc.*, EXISTS (SELECT 1 FROM lft) AS lifted FROM acc""")
        out = (merged, None, None)
    elif pg:
        merged = typed(f"""
            WITH ins AS ({_INSERT_SQL}),
                 tch AS ({_TOUCH_SQL} AND EXISTS (SELECT 1 FROM ins))
            SELECT (SELECT id FROM ins) AS entry_id, acc.* FROM ({account}) acc""")
        out = (merged, None, None)
    else:
        out = (typed(account), typed(_INSERT_SQL), typed(_TOUCH_SQL))
    _STATEMENTS[(dialect.name(conn), with_tier)] = out
    return out


def credit_locked(conn, *, store_id: int, member_id: int, kind: str, points: int, now: datetime,
                  expires_at: datetime | None, channel: str, branch_id: int | None = None,
                  staff_id: int | None = None, reason: str | None = None, spend=None,
                  idem: tuple[str, str] | None = None, fp: str | None = None, actor: str | None = None,
                  tier: TierProbe | None = None) -> Credited:
    """:func:`credit` for a hot path, on a Core connection: the lot, the debt it settles and
    ``last_activity_at`` written, and the balance after it returned, in one statement on
    PostgreSQL (three on SQLite) plus two only when there is debt to settle.

    The caller holds the member lock (``common.lock_member``) and has looked the key up;
    a key a concurrent request wrote meanwhile comes back as ``entry_id`` 0 (nothing written).
    """
    if kind not in CREDIT_KINDS:
        raise InvalidInput(f"cannot credit with kind '{kind}'")
    if points <= 0:
        raise InvalidInput("a credit on this path must be positive")
    params = {
        "sid": store_id, "mid": member_id, "kind": kind, "pts": points, "exp": expires_at, "now": now,
        "branch_id": branch_id, "staff_id": staff_id, "channel": channel, "reason": reason, "spend": spend,
        "idem_source": idem[0] if idem else None, "idem_key": idem[1] if idem else None, "fp": fp, "actor": actor,
        "ws": tier.window_start if tier else None,
    }
    merged, insert, touch = _credit_statements(conn, tier is not None)
    lifted = None
    if insert is None:
        row = conn.execute(merged, params).one()
        entry_id, acc = row[0], row[1:]
        if tier is not None:
            lifted = bool(row[-1])
    else:
        acc = conn.execute(merged, params).one()
        entry_id = conn.execute(insert, params).scalar()
        if entry_id is not None:
            conn.execute(touch, params)
    if entry_id is None:
        return Credited(0, 0, 0, None, None, None)
    debt, before = int(acc[0]), int(acc[1])
    settled = min(debt, points) if debt > 0 else 0
    if settled:
        table = LedgerEntry.metadata.tables["ledger_entry"]
        settle_id = conn.execute(table.insert().values(
            store_id=store_id, member_id=member_id, kind="settle", points=-settled, debt=-settled, created_at=now,
            branch_id=branch_id, staff_id=staff_id, channel="system",
            reason=f"settles debt from earlier clawback (entry #{entry_id})", ref_entry_id=entry_id, actor=actor,
        ).returning(table.c.id)).scalar_one()
        conn.execute(LotAllocation.metadata.tables["lot_allocation"].insert().values(debit_entry_id=settle_id, lot_entry_id=entry_id,
                                                             points=settled))
    counts = expires_at is None or expires_at > now
    balance = before + (points if counts else 0) - settled
    if tier is None:
        return Credited(entry_id, balance, settled, None, None, None)
    reached = (int(acc[3]), acc[4], int(acc[5])) if acc[3] is not None else None
    current = (acc[6], int(acc[7])) if acc[6] is not None else None
    return Credited(entry_id, balance, settled, int(acc[2]), reached, current, lifted)


def debit(
    session,
    *,
    store_id: int,
    member_id: int,
    kind: str,
    points: int,
    now: datetime,
    channel: str,
    branch_id: int | None = None,
    staff_id: int | None = None,
    reason: str | None = None,
    idem: tuple[str, str] | None = None,
    fp: str | None = None,
    ref_entry_id: int | None = None,
    actor: str | None = None,
    partial: bool = False,
) -> Posted:
    """Take ``points`` (> 0) from the member's unexpired lots, soonest-expiring first.

    Refuses with InsufficientPoints when the balance is short, unless ``partial``:
    then it takes what is there and records the shortfall as debt (clawbacks).
    """
    if kind not in DEBIT_KINDS:
        raise InvalidInput(f"cannot debit with kind '{kind}'")
    if points <= 0:
        raise InvalidInput("a debit must take a positive number of points")
    existing = _existing(session, store_id, idem, fp)
    if existing is not None:
        return Posted(existing.id, existing.kind, existing.points, None, duplicate=True)
    available = lots(session, member_id, now)
    have = sum(lot.remaining for lot in available)
    take = points
    shortfall = 0
    if have < points:
        if not partial:
            raise InsufficientPoints(f"not enough points: balance is {have}, {points} needed")
        take, shortfall = have, points - have
    entry = LedgerEntry(
        store_id=store_id, member_id=member_id, kind=kind, points=-take, debt=0, created_at=now,
        branch_id=branch_id, staff_id=staff_id, channel=channel, reason=reason,
        idem_source=idem[0] if idem else None, idem_key=idem[1] if idem else None, fingerprint=fp,
        ref_entry_id=ref_entry_id, actor=actor,
    )
    other = _insert_once(session, store_id, entry, idem, fp)
    if other is not None:
        return Posted(other.id, other.kind, other.points, None, duplicate=True)
    left = take
    allocs = []
    for lot in available:
        if left == 0:
            break
        use = min(lot.remaining, left)
        allocs.append(LotAllocation(debit_entry_id=entry.id, lot_entry_id=lot.entry_id, points=use))
        left -= use
    session.add_all(allocs)
    if shortfall:
        session.add(
            LedgerEntry(
                store_id=store_id, member_id=member_id, kind="debt", points=0, debt=shortfall, created_at=now,
                channel="system", reason=f"shortfall of {kind} #{entry.id}: settled by future earnings",
                ref_entry_id=entry.id, actor=actor,
            )
        )
    session.flush()
    _touch(session, member_id, now)
    return Posted(entry.id, kind, -take, None, duplicate=False, shortfall=shortfall)


#: PostgreSQL: while on (transaction-local), the ``lot_allocation`` trigger leaves
#: ``ledger_summary`` to the statement that writes the allocations (migration 0014)
SUMMARY_BY_JOB = "crm.summary_by_job"


@dataclass(frozen=True)
class ExpiryRun:
    as_of: datetime
    lots_expired: int
    points_expired: int
    members: int
    #: (store_id, lots, points, members) for each store that had something expire
    by_store: tuple[tuple[int, int, int, int], ...] = ()


def expire(session, *, now: datetime, store_id: int | None = None, actor: str | None = None) -> ExpiryRun:
    """Write one ``expire`` entry per lot that expired at or before ``now`` with points left.

    The lots to look at come from ``lot_expiry``: a trigger on ``ledger_entry`` adds a row
    for every lot written with an expiry date (any path: counter, import, adjustment, also
    with an expiry already in the past), and this job deletes the rows it has handled. So a
    run reads only the lots due since the last run (or since any run that was skipped), never
    the expired history: its cost follows the lots due, not the size of the ledger.

    Set-based: one INSERT ... SELECT writes the expire entries, one INSERT ... SELECT
    writes their allocations, one aggregate counts them; no row travels to Python and
    there is no per-lot query (on PostgreSQL they are one statement with data-modifying
    CTEs). Idempotent: a lot whose remainder is already 0 (spent, or expired before) is
    skipped, and the key ('expire', lot id) is unique per store. The entry is dated at the
    lot's expiry instant, so running late or twice gives the same ledger.

    On PostgreSQL the due rows of ``lot_expiry`` are taken once into a temporary table;
    the accounts concerned are locked, in id order, with the same row lock spenders take
    (``common.lock_member``), so a spend and the job never interleave and no point is both
    spent and expired; exactly the rows taken are deleted at the end (a lot committed by
    another transaction meanwhile stays for the next run). On SQLite the caller's
    transaction holds the database's write lock.
    """
    params: dict = {"now": now, "actor": actor}
    store_cond = q_store_cond = ""
    if store_id is not None:
        store_cond = "AND e.store_id = :store_id"
        q_store_cond = "AND q.store_id = :store_id"
        params["store_id"] = store_id
    remainder = "e.points - COALESCE((SELECT SUM(a.points) FROM lot_allocation a WHERE a.lot_entry_id = e.id), 0)"
    cond = f"e.points > 0 AND e.expires_at IS NOT NULL AND e.expires_at <= :now {store_cond} AND {remainder} > 0"
    queued = f"q.expires_at <= :now {q_store_cond}"  # rows of lot_expiry q that are due

    def insert(source: str) -> str:
        return f"""
            INSERT INTO ledger_entry (store_id, member_id, kind, points, debt, expires_at, created_at, channel,
                                      reason, idem_source, idem_key, ref_entry_id, actor)
            SELECT e.store_id, e.member_id, 'expire', -({remainder}), 0, NULL, e.expires_at, 'system',
                   'points expired', 'expire', CAST(e.id AS VARCHAR(20)), e.id, :actor
            {source}
        """

    now_param = bindparam("now", type_=UTCDateTime())
    if dialect.is_postgresql(session):
        # The due rows are taken once (with whether the lot still has points left) and those
        # accounts locked; then, with the locks held, the statement below rechecks the
        # remainders (a remainder only ever shrinks, so no lot outside the set can have become due).
        # The rows are kept in member order, and the insert reads them in that order: the expire
        # entries then go into ledger_entry's member-leading indexes, the summary and the member
        # rows one member after the other. In lot (time) order every entry touched another
        # member's index pages: on a backlog of 1,933,333 lots the insert took 133-145 s against
        # 64 s in member order (docs/performance.md).
        session.execute(text("DROP TABLE IF EXISTS pg_temp.expire_due"))
        session.execute(
            text(
                "CREATE TEMPORARY TABLE expire_due ON COMMIT DROP AS "
                f"SELECT q.lot_entry_id AS id, e.member_id, ({remainder}) > 0 AS open "
                f"FROM lot_expiry q LEFT JOIN ledger_entry e ON e.id = q.lot_entry_id WHERE {queued} "
                "ORDER BY e.member_id, q.lot_entry_id"
            ).bindparams(now_param),
            params,
        )
        session.execute(
            text("SELECT m.id FROM member m WHERE m.id IN (SELECT member_id FROM pg_temp.expire_due WHERE open) "
                 "ORDER BY m.id FOR UPDATE")
        )
        recheck = insert(f"FROM pg_temp.expire_due d JOIN ledger_entry e ON e.id = d.id WHERE d.open AND {cond}")
        # The statement takes the expired points off each member's ledger_summary row itself
        # (one row per member, from the member ids it already holds, in member order so that
        # the summary's pages and primary key are walked in order, not at random), and the
        # allocation trigger, seeing the transaction-local setting, leaves them alone
        # (migration 0014): the trigger would find every allocation's member again through
        # ledger_entry (on a backlog, a hash of the whole ledger) and update the rows in hash
        # order (35 s against 11 s for 1,000,000 members)
        session.execute(text(f"SELECT set_config('{SUMMARY_BY_JOB}', 'on', true)"))
        counts = session.execute(
            text(
                f"""
                WITH ins AS ({recheck} RETURNING id, store_id, member_id, ref_entry_id, points),
                     alloc AS (INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points)
                               SELECT id, ref_entry_id, -points FROM ins),
                     summary AS (UPDATE ledger_summary s SET points = s.points + d.points
                                 FROM (SELECT member_id, SUM(points) AS points FROM ins GROUP BY member_id
                                       ORDER BY member_id) d
                                 WHERE s.member_id = d.member_id),
                     done AS (DELETE FROM lot_expiry q USING pg_temp.expire_due d WHERE q.lot_entry_id = d.id)
                SELECT store_id, COUNT(*), -SUM(points), COUNT(DISTINCT member_id) FROM ins
                GROUP BY store_id ORDER BY store_id
                """
            ).bindparams(now_param),
            params,
        ).all()
        session.execute(text(f"SELECT set_config('{SUMMARY_BY_JOB}', 'off', true)"))
        session.execute(text("DROP TABLE pg_temp.expire_due"))
    else:
        # SQLite: the write lock is held, so every expire entry above the current largest id is
        # this run's, and every due row of lot_expiry is handled by this run
        session.flush()
        before = session.execute(text("SELECT COALESCE(MAX(id), 0) FROM ledger_entry")).scalar_one()
        session.execute(
            # CROSS JOIN makes SQLite read the queue first: driving from an index of ledger_entry
            # would read every lot that ever expired
            text(insert(f"FROM lot_expiry q CROSS JOIN ledger_entry e WHERE e.id = q.lot_entry_id AND {queued} AND {cond}"))
            .bindparams(now_param),
            params,
        )
        # NOT INDEXED: the rowid range is this run's entries; an index (GROUP BY store_id would
        # pick ix_ledger_store_expiry) would read the whole ledger
        new = "FROM ledger_entry NOT INDEXED WHERE id > :before AND kind = 'expire'"
        session.execute(
            text(f"INSERT INTO lot_allocation (debit_entry_id, lot_entry_id, points) SELECT id, ref_entry_id, -points {new}"),
            {"before": before},
        )
        counts = session.execute(
            text(f"SELECT store_id, COUNT(*), -SUM(points), COUNT(DISTINCT member_id) {new} GROUP BY store_id ORDER BY store_id"),
            {"before": before},
        ).all()
        session.execute(text(f"DELETE FROM lot_expiry AS q WHERE {queued}").bindparams(now_param), params)
    by_store = tuple((int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in counts)
    return ExpiryRun(
        as_of=now,
        lots_expired=sum(r[1] for r in by_store),
        points_expired=sum(r[2] for r in by_store),
        members=sum(r[3] for r in by_store),
        by_store=by_store,
    )
