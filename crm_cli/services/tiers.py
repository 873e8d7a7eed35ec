"""Tiers: a member's tier follows the points earned in the store's rolling cycle.

Rules (SPEC section 3):

* A store has at most :data:`MAX_TIERS` tiers; their thresholds are distinct, and a
  tier's rank is its position by threshold (lowest first).
* A member's tier = the highest tier whose threshold <= the points **earned** (kinds
  in :data:`EARNED_KINDS`, positive entries only) from 00:00 Bangkok of the same day
  ``cycle`` months ago up to the moment of evaluation, less the points clawed back
  because an order was refunded or cancelled (``clawback`` entries, the part recorded
  as debt included) when the points they reverse were earned inside the window.
  Redemptions, refunds of rewards, expiry, negative adjustments and the balance play
  no part. Only registered (not erased) members hold a tier.
* Earning lifts a member at once (:func:`lift_on_earn`); :func:`recalc` applies
  upgrades and downgrades to everyone with set-based SQL and records each change in
  ``tier_history``. Switching tiers off keeps tiers, members' tiers and history; it
  only stops tiers from being shown, lifted or recalculated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, text
from sqlmodel import col, select

from crm_cli.db import dialect as db_dialect
from crm_cli.db.models import LedgerEntry, Member, MemberTier, Reward, Store, Tier, TierHistory
from crm_cli.db.types import UTCDateTime
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.domain.tiers import tier_for, window_start
from crm_cli.domain.timeutil import bkk_date

MAX_TIERS = 5
MIN_CYCLE, MAX_CYCLE = 1, 24
#: kinds whose positive entries count as points earned (same list as ledger.EARNED_KINDS)
EARNED_KINDS = ("earn", "welcome", "import", "adjust")
_KINDS_SQL = ", ".join(f"'{k}'" for k in EARNED_KINDS)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class TierSettings:
    tiers_enabled: bool
    tier_cycle_months: int
    tiers: int
    last_recalc: date | None


@dataclass(frozen=True)
class TierInfo:
    rank: int
    name: str
    threshold: int
    benefits: str | None
    members: int


@dataclass(frozen=True)
class TierSaved:
    name: str
    rank: int
    threshold: int
    benefits: str | None
    created: bool
    tiers_enabled: bool


@dataclass(frozen=True)
class TierMove:
    phone: str | None
    name: str | None
    old_tier: str | None
    new_tier: str | None
    earned_points: int
    direction: str  # up | down


@dataclass(frozen=True)
class TierRecalc:
    as_of: datetime
    window_start: datetime
    dry_run: bool
    members: int
    moved: int
    upgrades: int
    downgrades: int
    moves: tuple[TierMove, ...]


@dataclass(frozen=True)
class TierRemoved:
    name: str
    members_moved: int
    moves: tuple[TierMove, ...]


@dataclass(frozen=True)
class TierChange:
    at: datetime
    old_tier: str | None
    new_tier: str | None
    earned_points: int
    reason: str


# ---------------------------------------------------------------- window


#: points a refund took back, per member: each clawback (what was taken plus the shortfall
#: recorded as debt) counts when the earn entry it reverses lies in the window [:ws, :asof]
_CLAWED_SQL = """
    SELECT c.member_id AS member_id, SUM(-c.points + COALESCE(d.debt, 0)) AS clawed
    FROM ledger_entry c
    LEFT JOIN ledger_entry e ON e.id = c.ref_entry_id
    LEFT JOIN ledger_entry d {ref_ix} ON d.ref_entry_id = c.id AND d.kind = 'debt'
    WHERE c.store_id = :sid AND c.idem_source = 'clawback' AND c.kind = 'clawback' {member}
      AND {plus}c.created_at <= :asof
      AND COALESCE(e.created_at, c.created_at) >= :ws AND COALESCE(e.created_at, c.created_at) <= :asof
    GROUP BY {plus}c.member_id"""  # SQLite: grouping by the bare column walks a member-ordered index of the whole ledger


def _ref_ix(plus: str) -> str:
    """SQLite: find a clawback's debt row through ix_ledger_ref by name. Most entries have no
    reference, so the statistics call the index unselective and the planner would scan the
    ledger once per clawback."""
    return "INDEXED BY ix_ledger_ref" if plus else ""


def earned_in_window(session, store: Store, member_id: int, now: datetime) -> int:
    """Points earned (earn, welcome, import, positive adjustments) inside the window,
    less the points clawed back by refunds of those earnings."""
    ws = window_start(store.tier_cycle_months, now)
    q = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id == member_id,
        LedgerEntry.points > 0,
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.created_at >= ws,
        LedgerEntry.created_at <= now,
    )
    earned = int(session.exec(q).one())
    plus = "" if db_dialect.is_postgresql(session) else "+"
    clawed = _exec(session, _CLAWED_SQL.format(member="AND c.member_id = :mid", plus=plus, ref_ix=_ref_ix(plus)),
                   {"sid": store.id, "mid": member_id, "ws": ws, "asof": now}).first()
    return max(earned - int(clawed.clawed if clawed is not None and clawed.clawed is not None else 0), 0)


#: a lift's write of ``member_tier``: the ON CONFLICT clause raises the member's tier and never
#: lowers it. The threshold is compared with the row as committed, so a higher tier that a
#: recalculation placed after the caller read the member's tier stays (PostgreSQL; SQLite
#: serializes writers). Every lift uses it: :func:`lift_on_earn`, the counter's give
#: (``points``) and its credit statement (``ledger``).
RAISE_ON_CONFLICT = (
    "ON CONFLICT (member_id) DO UPDATE SET tier_id = excluded.tier_id "
    "WHERE COALESCE((SELECT t.threshold FROM tier t WHERE t.id = member_tier.tier_id), -1) "
    "< (SELECT t.threshold FROM tier t WHERE t.id = excluded.tier_id)"
)
#: one member raised to tier :tier_id; a row comes back when the tier was written
RAISE_SQL = f"INSERT INTO member_tier (member_id, tier_id) VALUES (:mid, :tier_id) {RAISE_ON_CONFLICT} RETURNING member_id"


def current_tier_id(session, member_id: int | None) -> int | None:
    """The id of the member's tier (None: no tier)."""
    row = session.get(MemberTier, member_id) if member_id is not None else None
    return row.tier_id if row is not None else None


def current_tier(session, member_id: int | None) -> Tier | None:
    tier_id = current_tier_id(session, member_id)
    return session.get(Tier, tier_id) if tier_id is not None else None


def _tiers(session, store_id: int) -> list[Tier]:
    return list(session.exec(select(Tier).where(Tier.store_id == store_id).order_by(Tier.threshold)).all())



def lift_on_earn(session, *, store: Store, member_id: int, now: datetime) -> str | None:
    """Earning lifts a member at once (never lowers: downgrades wait for `tier recalc`).

    Returns the new tier name when the member moved up.
    """
    if not store.tiers_enabled:
        return None
    member = session.get(Member, member_id)
    if member is None or member.registered_at is None or member.erased_at is not None:
        return None
    earned = earned_in_window(session, store, member_id, now)
    target = tier_for(_tiers(session, store.id), earned)
    row = session.get(MemberTier, member_id)
    current = session.get(Tier, row.tier_id) if row is not None else None
    if target is None or (current is not None and current.threshold >= target.threshold):
        return None
    session.flush()
    raised = session.execute(text(RAISE_SQL), {"mid": member_id, "tier_id": target.id}).first()
    if row is not None:
        session.expire(row)  # written by the statement above, not through the session
    if raised is None:  # a recalculation placed the member higher meanwhile
        return None
    session.add(TierHistory(store_id=store.id, member_id=member_id, old_tier=current.name if current else None,
                            new_tier=target.name, earned_points=earned, reason="earn", created_at=now))
    session.flush()
    return target.name


def drop_on_erasure(session, *, store_id: int, member_id: int, now: datetime) -> str | None:
    """An erased member holds no tier: the ``member_tier`` row goes at once (not at the next
    recalculation) and the move is recorded with reason 'erased'. Returns the tier's name."""
    row = session.get(MemberTier, member_id)
    if row is None:
        return None
    tier = session.get(Tier, row.tier_id)
    session.delete(row)
    session.add(TierHistory(store_id=store_id, member_id=member_id, old_tier=tier.name if tier else None,
                            new_tier=None, earned_points=0, reason="erased", created_at=now))
    session.flush()
    return tier.name if tier else None


# ---------------------------------------------------------------- settings


def _store(session, store_id: int) -> Store:
    from crm_cli.services.common import get_store

    return get_store(session, store_id)


def settings(session, *, store_id: int) -> TierSettings:
    s = _store(session, store_id)
    n = session.exec(select(func.count()).select_from(Tier).where(Tier.store_id == store_id)).one()
    return TierSettings(tiers_enabled=s.tiers_enabled, tier_cycle_months=s.tier_cycle_months, tiers=int(n),
                        last_recalc=s.tier_last_recalc)


def set_enabled(session, *, store_id: int, enabled: bool) -> TierSettings:
    """Switch tiers on or off. Off keeps tiers, members' tiers and history untouched."""
    s = _store(session, store_id)
    s.tiers_enabled = enabled
    session.add(s)
    session.flush()
    return settings(session, store_id=store_id)


def set_cycle(session, *, store_id: int, months: int) -> TierSettings:
    if not MIN_CYCLE <= months <= MAX_CYCLE:
        raise InvalidInput(f"tier cycle must be {MIN_CYCLE} to {MAX_CYCLE} months, got {months}")
    s = _store(session, store_id)
    s.tier_cycle_months = months
    session.add(s)
    session.flush()
    return settings(session, store_id=store_id)


def _clean_name(name: str) -> str:
    from crm_cli.services.common import clean_name

    return clean_name(name, what="tier name", limit=80)


def set_tier(session, *, store_id: int, name: str, threshold: int, benefits: str | None, now: datetime) -> TierSaved:
    """Create a tier or update an existing one (matched by name)."""
    name = _clean_name(name)
    if threshold < 0:
        raise InvalidInput(f"threshold must be 0 or more points, got {threshold}")
    tiers = _tiers(session, store_id)
    existing = next((t for t in tiers if t.name.casefold() == name.casefold()), None)
    clash = next((t for t in tiers if t.threshold == threshold and t is not existing), None)
    if clash is not None:
        raise Conflict(
            f"tier '{clash.name}' already has threshold {threshold}: thresholds must be strictly increasing by rank; "
            "pick another threshold"
        )
    if existing is not None and threshold != existing.threshold:
        # a new threshold must keep the tier between its neighbours: ranks never reorder silently
        i = tiers.index(existing)
        below = tiers[i - 1] if i > 0 else None
        above = tiers[i + 1] if i + 1 < len(tiers) else None
        if (below is not None and threshold <= below.threshold) or (above is not None and threshold >= above.threshold):
            lo = f"above {below.name} ({below.threshold})" if below else ""
            hi = f"below {above.name} ({above.threshold})" if above else ""
            bounds = " and ".join(x for x in (lo, hi) if x)
            raise Conflict(
                f"threshold {threshold} would change the rank of tier '{existing.name}' (rank {i + 1}): "
                f"keep it {bounds}, or remove the tier and add it again at its new rank"
            )
    if existing is None and len(tiers) >= MAX_TIERS:
        names = ", ".join(t.name for t in tiers)
        raise Conflict(f"a store can have at most {MAX_TIERS} tiers ({names}): remove one with `crm tier remove NAME` first")
    if existing is None:
        existing = Tier(store_id=store_id, name=name, threshold=threshold, benefits=benefits, created_at=now)
        created = True
    else:
        existing.threshold = threshold
        if benefits is not None:
            existing.benefits = benefits or None
        created = False
    session.add(existing)
    session.flush()
    ranked = _tiers(session, store_id)
    rank = next(i for i, t in enumerate(ranked, 1) if t.id == existing.id)
    return TierSaved(name=existing.name, rank=rank, threshold=existing.threshold, benefits=existing.benefits,
                     created=created, tiers_enabled=_store(session, store_id).tiers_enabled)


def list_tiers(session, *, store_id: int) -> list[TierInfo]:
    counts = dict(
        session.exec(
            select(col(MemberTier.tier_id), func.count())
            .join(Member, col(Member.id) == col(MemberTier.member_id))
            .where(Member.store_id == store_id)
            .group_by(col(MemberTier.tier_id))
        ).all()
    )
    return [
        TierInfo(rank=i, name=t.name, threshold=t.threshold, benefits=t.benefits, members=int(counts.get(t.id, 0)))
        for i, t in enumerate(_tiers(session, store_id), 1)
    ]


def get_tier(session, store_id: int, name: str) -> Tier:
    n = " ".join(name.split())
    for t in _tiers(session, store_id):
        if t.name.casefold() == n.casefold():
            return t
    raise NotFound(f"tier '{name}' not found: see `crm tier list`")


def history(session, *, store_id: int, phone_raw: str) -> list[TierChange]:
    from crm_cli.services.common import get_member

    m = get_member(session, store_id, phone_raw)
    rows = session.exec(
        select(TierHistory).where(TierHistory.member_id == m.id).order_by(TierHistory.created_at, TierHistory.id)
    ).all()
    return [TierChange(at=r.created_at, old_tier=r.old_tier, new_tier=r.new_tier, earned_points=r.earned_points,
                       reason=r.reason) for r in rows]


# ---------------------------------------------------------------- set-based recalculation


def _dt(name: str):
    return bindparam(name, type_=UTCDateTime())


def _target_sql(tiers: list[Tier], params: dict, col_earned: str, what: str) -> str:
    """CASE expression: the tier's ``what`` ('id', 'name' or 'threshold') reached with ``col_earned`` points."""
    if not tiers:  # typed, or PostgreSQL reads a bare NULL in a subquery as text
        return "CAST(NULL AS VARCHAR)" if what == "name" else "CAST(NULL AS INTEGER)"
    parts = []
    for i, t in enumerate(reversed(tiers)):
        params[f"th{i}"] = t.threshold
        if what != "threshold":
            params[f"{what}{i}"] = getattr(t, what)
        parts.append(f"WHEN {col_earned} >= :th{i} THEN :{'th' if what == 'threshold' else what}{i}")
    return "CASE " + " ".join(parts) + " ELSE NULL END"


#: PostgreSQL: each member's points earned in the window [:ws, :asof] of store :sid (one hash
#: aggregate over the store's ledger rows in the window)
_WINDOW_EARNED_PG = f"""
                SELECT e.member_id, SUM(e.points) AS earned
                FROM ledger_entry e
                WHERE e.store_id = :sid AND e.points > 0 AND e.kind IN ({_KINDS_SQL})
                  AND e.created_at >= :ws AND e.created_at <= :asof
                GROUP BY e.member_id"""


def _earned_sql(dialect: str, member_where: str) -> str:
    """SELECT member_id, old_id, earned for every member of the store (earned -1: holds no tier).

    PostgreSQL: one hash aggregate over the store's ledger rows in the window, joined to
    the members. SQLite: one pass over the members in id order, summing each member's
    positive entries in the window from the covering index ``ix_ledger_member_lots``
    (member_id, expires_at, created_at, points) without touching the table, minus the
    member's refunds in the window. Refunds are the only positive entries that are not
    earned, and every refund is keyed with idempotency source 'refund', so they are read
    through ``uq_ledger_idem`` alone.
    """
    if dialect == db_dialect.POSTGRESQL:
        return f"""
            SELECT m.id AS member_id, mt.tier_id AS old_id,
                   CASE WHEN m.registered_at IS NULL OR m.erased_at IS NOT NULL THEN -1
                        ELSE GREATEST(COALESCE(a.earned, 0) - COALESCE(cb.clawed, 0), 0) END AS earned
            FROM member m
            LEFT JOIN member_tier mt ON mt.member_id = m.id
            LEFT JOIN ({_WINDOW_EARNED_PG}) a ON a.member_id = m.id
            LEFT JOIN ({_CLAWED_SQL.format(member="", plus="", ref_ix="")}) cb ON cb.member_id = m.id
            WHERE m.store_id = :sid {member_where}
            OFFSET 0"""  # a fence: earned is computed once per member, not inlined into each CASE branch
    return f"""
            SELECT p.member_id, mt.tier_id AS old_id,
                   CASE WHEN p.registered = 0 THEN -1 ELSE MAX(p.pos - COALESCE(rf.refunded, 0), 0) END AS earned
            FROM (
                SELECT m.id AS member_id,
                       (m.registered_at IS NOT NULL AND m.erased_at IS NULL) AS registered,
                       COALESCE(SUM(e.points), 0) AS pos
                FROM member m
                LEFT JOIN ledger_entry e INDEXED BY ix_ledger_member_lots  -- covering: never the table
                       ON e.member_id = m.id AND e.points > 0 AND e.created_at >= :ws AND e.created_at <= :asof
                WHERE m.store_id = :sid {member_where}
                GROUP BY m.id
            ) p
            LEFT JOIN member_tier mt ON mt.member_id = p.member_id
            LEFT JOIN temp.crm_tier_refunds rf ON rf.member_id = p.member_id"""


#: PostgreSQL, a whole store whose lowest tier needs points: SELECT member_id, old_id,
#: earned for the members who hold one of the store's tiers or earned points in the window,
#: and no one else (a member with neither reaches no tier and holds none: nothing to move).
#:
#: The window aggregate is joined to the store's tier holders (found by their tier's store)
#: instead of to every member row of the store, which :func:`_earned_sql` reads to learn who
#: is registered: at 1,000,000 members that read and its hash cost 0.4-0.6 s of a 3.5 s
#: query. Registration is checked afterwards for the members staged as placements only
#: (:data:`_UNREGISTERED_PLACEMENTS`); a holder is registered and not erased (lifts and
#: placements require it, erasure drops the tier, `crm db check` verifies it).
_HOLDERS_EARNED_PG = f"""
            SELECT COALESCE(a.member_id, t.member_id) AS member_id, t.tier_id AS old_id,
                   GREATEST(COALESCE(a.earned, 0) - COALESCE(cb.clawed, 0), 0) AS earned
            FROM ({_WINDOW_EARNED_PG}) a
            FULL JOIN (SELECT mt.member_id, mt.tier_id FROM member_tier mt JOIN tier ht ON ht.id = mt.tier_id
                       WHERE ht.store_id = :sid) t ON t.member_id = a.member_id
            LEFT JOIN ({_CLAWED_SQL.format(member="", plus="", ref_ix="")}) cb
                   ON cb.member_id = COALESCE(a.member_id, t.member_id)
            OFFSET 0"""  # a fence, as in _earned_sql


#: PostgreSQL, after :data:`_HOLDERS_EARNED_PG`: placements staged for members who may not
#: hold a tier (not registered, or erased) are no moves
_UNREGISTERED_PLACEMENTS = """
    DELETE FROM {moves} mv USING member m
    WHERE mv.old_id IS NULL AND m.id = mv.member_id AND (m.registered_at IS NULL OR m.erased_at IS NOT NULL)"""


def _by_holders(session, tiers: list[Tier], member_where: str) -> bool:
    """Whether the moves of a whole store come from :data:`_HOLDERS_EARNED_PG`: on
    PostgreSQL, when every tier needs points (with a tier at 0 every registered member
    reaches one, so every member row is read anyway)."""
    return db_dialect.is_postgresql(session) and not member_where and all(t.threshold > 0 for t in tiers)


def _prepare_sqlite_refunds(session, params: dict) -> None:
    """Each member's refunds in the window and the points clawed back from earnings in the
    window, keyed by member (both read through uq_ledger_idem)."""
    session.execute(text("DROP TABLE IF EXISTS temp.crm_tier_refunds"))
    session.execute(text("CREATE TEMP TABLE crm_tier_refunds (member_id INTEGER PRIMARY KEY, refunded INTEGER NOT NULL)"))
    _exec(
        session,
        """
        INSERT INTO temp.crm_tier_refunds (member_id, refunded)
        SELECT x.member_id, SUM(x.pts) FROM (
            SELECT r.member_id + 0 AS member_id, r.points AS pts FROM ledger_entry r
            WHERE r.store_id = :sid AND r.idem_source = 'refund' AND r.kind = 'refund' AND r.points > 0
              AND +r.created_at >= :ws AND +r.created_at <= :asof  -- unary +: use uq_ledger_idem, not the date index
            UNION ALL
            SELECT cb.member_id + 0, cb.clawed FROM ("""
        + _CLAWED_SQL.format(member="", plus="+", ref_ix=_ref_ix("+"))  # unary +: uq_ledger_idem, not the date index
        + """) cb
        ) x
        GROUP BY x.member_id  -- not in member order: no scan of the member index
        """,
        {k: params[k] for k in ("sid", "ws", "asof")},
    )


def _moves_select(session, store: Store, tiers: list[Tier], as_of: datetime, params: dict, member_where: str = "") -> str:
    """SELECT of every member whose tier differs from the one their earned points reach.

    Columns: member_id, old_id, old_name, old_th, new_id, new_name, new_th, earned. One
    per-member window aggregate over the ledger, joined to the members of the store.
    """
    params.update(sid=store.id, ws=window_start(store.tier_cycle_months, as_of), asof=as_of)
    dialect = db_dialect.name(session)
    earned_sql = _HOLDERS_EARNED_PG if _by_holders(session, tiers, member_where) else _earned_sql(dialect, member_where)
    if dialect != db_dialect.POSTGRESQL:
        _prepare_sqlite_refunds(session, params)
    new_id = _target_sql(tiers, params, "x.earned", "id")
    new_name = _target_sql(tiers, params, "y.earned", "name")
    new_th = _target_sql(tiers, params, "y.earned", "threshold")
    return f"""
        SELECT y.member_id, y.old_id, ot.name AS old_name, COALESCE(ot.threshold, -1) AS old_th,
               y.new_id, {new_name} AS new_name, COALESCE({new_th}, -1) AS new_th, y.earned
        FROM (
            SELECT x.member_id, x.old_id, x.earned, {new_id} AS new_id
            FROM ({earned_sql}) x
        ) y
        LEFT JOIN tier ot ON ot.id = y.old_id
        WHERE COALESCE(y.old_id, 0) <> COALESCE(y.new_id, 0)
    """


_BIND_TYPES = {"ws": UTCDateTime(), "asof": UTCDateTime(), "now": UTCDateTime()}


def _exec(session, sql: str, params: dict):
    stmt = text(sql).bindparams(*[bindparam(k, type_=t) for k, t in _BIND_TYPES.items() if k in params])
    return session.execute(stmt, params)


_MOVES_TABLE = "crm_tier_moves"
#: PostgreSQL: the memory the recalculation's window aggregate may hash in, for its transaction
SET_WORK_MEM = "SET LOCAL work_mem = '64MB'"


def _stage_moves(session, store: Store, tiers: list[Tier], as_of: datetime, params: dict,
                 member_where: str = "") -> None:
    """Compute every move once into the temporary table ``crm_tier_moves`` (member_id,
    old_id, old_name, old_th, new_id, new_name, new_th, earned), in member id order.

    The writes then join it on the member's primary key: the aggregate runs once, and the
    planner estimates the moves from the table's size (a subquery's estimate is a guess:
    1 row where 190,666 moved, which chose nested loops). No ANALYZE: at 190,000 moves
    or 50,000 the plan is the same hash join without it, and it cost 0.05 s.
    """
    moves_sql = _moves_select(session, store, tiers, as_of, params, member_where)
    pg = db_dialect.is_postgresql(session)
    session.execute(text(f"DROP TABLE IF EXISTS {'' if pg else 'temp.'}{_MOVES_TABLE}"))
    session.execute(text(
        f"CREATE TEMP TABLE {_MOVES_TABLE} (member_id INTEGER {'NOT NULL' if pg else 'PRIMARY KEY'}, "
        "old_id INTEGER, old_name VARCHAR(80), old_th INTEGER NOT NULL, new_id INTEGER, new_name VARCHAR(80), "
        "new_th INTEGER NOT NULL, earned INTEGER NOT NULL)"
        + (" ON COMMIT DROP" if pg else "")
    ))
    if pg:  # the aggregate hashes the window's ledger rows: give it memory rather than spill to disk
        session.execute(text(SET_WORK_MEM))
    _exec(
        session,
        f"INSERT INTO {_MOVES_TABLE} (member_id, old_id, old_name, old_th, new_id, new_name, new_th, earned) "
        f"SELECT mv.member_id, mv.old_id, mv.old_name, mv.old_th, mv.new_id, mv.new_name, mv.new_th, "
        f"{'GREATEST' if pg else 'MAX'}(mv.earned, 0) FROM ({moves_sql}) mv ORDER BY mv.member_id",
        params,
    )
    if _by_holders(session, tiers, member_where):
        session.execute(text(_UNREGISTERED_PLACEMENTS.format(moves=_MOVES_TABLE)))


#: PostgreSQL: the staged moves applied to ``member_tier`` in one statement, and the history
#: of the moves applied written from it. A move or drop re-checks the member's old tier (a
#: member lifted by a concurrent earn is left alone and gets no history row); placements
#: are plain inserts ({on_conflict} empty: a member placed meanwhile breaks the primary key
#: and the statement is run again with ON CONFLICT), recorded straight from the moves.
_PG_WRITE = """
    WITH ins AS (
        INSERT INTO member_tier (member_id, tier_id)
        SELECT mv.member_id, mv.new_id FROM {moves} mv WHERE mv.old_id IS NULL AND mv.new_id IS NOT NULL
        {on_conflict}
        RETURNING member_id
    ), upd AS (
        UPDATE member_tier t SET tier_id = mv.new_id FROM {moves} mv
        WHERE t.member_id = mv.member_id AND t.tier_id = mv.old_id AND mv.new_id IS NOT NULL
        RETURNING mv.member_id, mv.old_name, mv.new_name, mv.earned
    ), del AS (
        DELETE FROM member_tier t USING {moves} mv
        WHERE t.member_id = mv.member_id AND t.tier_id = mv.old_id AND mv.new_id IS NULL
        RETURNING mv.member_id, mv.old_name, mv.new_name, mv.earned
    )
    INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at)
    SELECT :sid, w.member_id, w.old_name, w.new_name, w.earned, :reason, :now FROM (
        {placed}
        UNION ALL SELECT * FROM upd UNION ALL SELECT * FROM del
    ) w ORDER BY w.member_id"""
_ON_CONFLICT = "ON CONFLICT (member_id) DO NOTHING"
#: the placements to record: all staged (every insert happened, or the statement failed) ...
_PLACED_ALL = ("SELECT mv.member_id, mv.old_name, mv.new_name, mv.earned FROM {moves} mv "
               "WHERE mv.old_id IS NULL AND mv.new_id IS NOT NULL")
#: ... or those ON CONFLICT inserted
_PLACED_RETURNED = ("SELECT mv.member_id, mv.old_name, mv.new_name, mv.earned FROM {moves} mv "
                    "JOIN ins ON ins.member_id = mv.member_id")


def _pg_write(*, on_conflict: str, placed: str) -> str:
    return _PG_WRITE.format(moves=_MOVES_TABLE, on_conflict=on_conflict, placed=placed.format(moves=_MOVES_TABLE))


def _write_staged(session, params: dict) -> None:
    """PostgreSQL: apply the staged moves (:data:`_PG_WRITE`); ``params``: sid, reason, now."""
    from sqlalchemy.exc import IntegrityError

    try:  # placements as plain inserts: a concurrent lift of a staged member breaks the primary key
        with session.begin_nested():
            _exec(session, _pg_write(on_conflict="", placed=_PLACED_ALL), params)
    except IntegrityError:  # then each placement skips a member who holds a tier by now
        _exec(session, _pg_write(on_conflict=_ON_CONFLICT, placed=_PLACED_RETURNED), params)


def _apply_moves(session, store: Store, tiers: list[Tier], *, as_of: datetime, now: datetime, reason: str,
                 member_where: str = "", extra: dict | None = None) -> int:
    """Write tier_history rows and move members (``member_tier``); returns the first
    history id written.

    PostgreSQL: the moves are computed once (:func:`_stage_moves`), then applied by one
    statement: a placement is inserted, a move rewritten, a drop to no tier deleted, and
    the history inserted for the members those writes name. A member lifted by a
    concurrent earn is left alone and gets no history row: moves and drops re-check the
    old tier, and a placement of a member who holds a tier by now breaks the primary key,
    so the write runs again skipping it (:func:`_write_staged`).
    SQLite (writers are serialized): the history INSERT straight from the moves query, in
    member id order, then the ``member_tier`` rows of the members it names (the tier id
    from the name: names are unique in a store), with no temporary table.
    """
    params: dict = dict(extra or {})
    p = {"sid": store.id, "now": now, "reason": reason}
    max_id = session.execute(text("SELECT COALESCE(MAX(id), 0) FROM tier_history")).scalar_one()
    if db_dialect.is_postgresql(session):
        _stage_moves(session, store, tiers, as_of, params, member_where)
        _write_staged(session, p)
        session.execute(text(f"DROP TABLE {_MOVES_TABLE}"))
    else:
        moves_sql = _moves_select(session, store, tiers, as_of, params, member_where)
        _exec(
            session,
            f"""
            INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at)
            SELECT :sid, mv.member_id, mv.old_name, mv.new_name, MAX(mv.earned, 0), :reason, :now
            FROM ({moves_sql}) mv ORDER BY mv.member_id
            """,
            {**params, **p},
        )
        ids = {"first": max_id + 1, "hsid": store.id}
        moved = "FROM tier_history h WHERE h.id >= :first AND h.store_id = :hsid"
        if tiers:
            new_id = " ".join(f"WHEN :tn{i} THEN :ti{i}" for i in range(len(tiers)))
            for i, t in enumerate(tiers):
                ids[f"tn{i}"], ids[f"ti{i}"] = t.name, t.id
            _exec(session, f"INSERT INTO member_tier (member_id, tier_id) SELECT h.member_id, CASE h.new_tier {new_id} "
                           f"END {moved} AND h.new_tier IS NOT NULL "
                           "ON CONFLICT (member_id) DO UPDATE SET tier_id = excluded.tier_id", ids)
        _exec(session, f"DELETE FROM member_tier WHERE member_id IN (SELECT h.member_id {moved} AND h.new_tier IS NULL)",
              {"first": max_id + 1, "hsid": store.id})
    return max_id + 1


_MOVE_COLS = "mv.old_name, mv.new_name, mv.earned, m.phone, m.name"


def _summary(session, sql: str, count_sql: str, params: dict, limit: int | None) -> tuple[int, int, tuple[TierMove, ...]]:
    """(upgrades, downgrades, moves): ``sql`` lists the moves (columns _MOVE_COLS, old_th,
    new_th, in that order), with ``{limit}`` where a LIMIT goes (inside, before the join to
    the members); ``count_sql`` selects old_th, new_th of the same moves without reading
    the member rows.

    Counting happens in SQL; only ``limit`` moves (all when None) are read and become
    Python objects: at 190,666 moves, listing them all costs more than the aggregate.
    """
    def move(r) -> TierMove:  # by position (old_name, new_name, earned, phone, name, old_th, new_th): cheaper per row
        return TierMove(phone=r[3], name=r[4], old_tier=r[0], new_tier=r[1],
                        earned_points=max(int(r[2]), 0), direction="up" if r[6] > r[5] else "down")

    if limit is None:  # one pass: every move is listed anyway
        moves = [move(r) for r in _exec(session, sql.format(limit=""), params)]
        up = sum(1 for m in moves if m.direction == "up")
        return up, len(moves) - up, tuple(moves)
    up, down = _exec(
        session,
        f"SELECT COALESCE(SUM(CASE WHEN s.new_th > s.old_th THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN s.new_th > s.old_th THEN 0 ELSE 1 END), 0) FROM ({count_sql}) s",
        params,
    ).one()
    rows = _exec(session, sql.format(limit=f"LIMIT {int(limit)}"), params).all() if up + down and limit > 0 else []
    return int(up), int(down), tuple(move(r) for r in rows)


def _history_sql(store_id: int, first_id: int, ths: dict[str, int], params: dict) -> tuple[str, str]:
    """Moves recorded in tier_history from id ``first_id`` on, with thresholds (``ths``: name
    -> threshold): the listing (joined to the members, in id order) and the count query."""
    params.update(first=first_id, hsid=store_id)
    cases = " ".join(f"WHEN :hn{i} THEN :ht{i}" for i in range(len(ths)))
    for i, (n, t) in enumerate(ths.items()):
        params[f"hn{i}"], params[f"ht{i}"] = n, t
    old_th = f"CASE h.old_tier {cases} ELSE -1 END" if ths else "-1"
    new_th = f"CASE h.new_tier {cases} ELSE -1 END" if ths else "-1"
    where = "WHERE h.id >= :first AND h.store_id = :hsid"
    return (
        f"SELECT h.old_tier, h.new_tier, h.earned_points, m.phone, m.name, h.old_th, h.new_th FROM ("
        f"SELECT h.id, h.member_id, h.old_tier, h.new_tier, h.earned_points, {old_th} AS old_th, {new_th} AS new_th "
        f"FROM tier_history h {where} ORDER BY h.id {{limit}}) h JOIN member m ON m.id = h.member_id ORDER BY h.id",
        f"SELECT {old_th} AS old_th, {new_th} AS new_th FROM tier_history h {where}",
    )


def _moves_table(session) -> str:
    return _MOVES_TABLE if db_dialect.is_postgresql(session) else f"temp.{_MOVES_TABLE}"


def recalc(session, *, store_id: int, as_of: datetime, now: datetime, dry_run: bool = False,
           limit: int | None = None) -> TierRecalc:
    """Apply upgrades and downgrades for every member of the store, as of ``as_of``.

    Set-based: one per-member window aggregate over the ledger feeds one history
    INSERT and one member UPDATE (one combined statement on PostgreSQL). Idempotent:
    a second run finds nobody to move. ``dry_run`` computes the same moves and writes
    nothing. ``limit`` caps the moves returned, first by member (dry run) or history
    order; the counts are always complete. None returns every move.
    """
    store = _store(session, store_id)
    if not store.tiers_enabled:
        raise Conflict("tiers are switched off for this store: turn them on with `crm tier on`")
    tiers = _tiers(session, store_id)
    members = int(session.exec(select(func.count()).select_from(Member).where(Member.store_id == store_id)).one())
    ws = window_start(store.tier_cycle_months, as_of)
    params: dict = {}
    if dry_run:  # the moves staged as for a real run (the transaction is rolled back), then read
        _stage_moves(session, store, tiers, as_of, params)
        mv = _moves_table(session)
        listing = (f"SELECT {_MOVE_COLS}, mv.old_th, mv.new_th FROM (SELECT * FROM {mv} mv ORDER BY mv.member_id "
                   "{limit}) mv JOIN member m ON m.id = mv.member_id ORDER BY mv.member_id")
        up, down, moves = _summary(session, listing, f"SELECT mv.old_th, mv.new_th FROM {mv} mv", {}, limit)
        session.execute(text(f"DROP TABLE {mv}"))
    else:
        first = _apply_moves(session, store, tiers, as_of=as_of, now=now, reason="recalc")
        listing, counting = _history_sql(store_id, first, {t.name: t.threshold for t in tiers}, params)
        up, down, moves = _summary(session, listing, counting, params, limit)
        store.tier_last_recalc = bkk_date(as_of)
        session.add(store)
        session.flush()
    return TierRecalc(as_of=as_of, window_start=ws, dry_run=dry_run, members=members, moved=up + down,
                      upgrades=up, downgrades=down, moves=moves)


def remove_tier(session, *, store_id: int, name: str, now: datetime) -> TierRemoved:
    """Delete a tier; its members drop to the tier their earned points allow (history reason 'tier removed')."""
    store = _store(session, store_id)
    t = get_tier(session, store_id, name)
    used = session.exec(select(Reward.name).where(Reward.store_id == store_id, Reward.min_tier_id == t.id)).all()
    if used:
        raise Conflict(
            f"tier '{t.name}' is the minimum tier of reward(s) {', '.join(used)}: change them first with "
            f"`crm reward edit NAME --min-tier ...`"
        )
    old_ths = {x.name: x.threshold for x in _tiers(session, store_id)}
    remaining = [x for x in _tiers(session, store_id) if x.id != t.id]
    max_id = session.execute(text("SELECT COALESCE(MAX(id), 0) FROM tier_history")).scalar_one()
    # only the removed tier's members move, to what their points allow among the remaining tiers
    # (the same rule as recalc, evaluated now; other members wait for the next recalc)
    _apply_moves(session, store, remaining, as_of=now, now=now, reason="tier removed",
                 member_where="AND m.id IN (SELECT g.member_id FROM member_tier g WHERE g.tier_id = :gone)",
                 extra={"gone": t.id})
    # anyone still holding the tier (none unless a concurrent change raced) is left without one
    session.execute(delete(MemberTier).where(col(MemberTier.tier_id) == t.id))
    session.delete(t)
    session.flush()
    params: dict = {}
    listing, counting = _history_sql(store_id, max_id + 1, old_ths, params)
    _, _, moves = _summary(session, listing, counting, params, None)
    return TierRemoved(name=t.name, members_moved=len(moves), moves=moves)
