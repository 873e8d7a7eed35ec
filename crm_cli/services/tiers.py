"""Tiers: a member's tier follows the points earned in the store's rolling cycle.

Rules (SPEC section 3):

* A store has at most :data:`MAX_TIERS` tiers; their thresholds are distinct, and a
  tier's rank is its position by threshold (lowest first).
* A member's tier = the highest tier whose threshold <= the points **earned** (kinds
  in :data:`EARNED_KINDS`, positive entries only) from 00:00 Bangkok of the same day
  ``cycle`` months ago up to the moment of evaluation. Redemptions, refunds, expiry and
  the balance play no part. Only registered (not erased) members hold a tier.
* Earning lifts a member at once (:func:`lift_on_earn`); :func:`recalc` applies
  upgrades and downgrades to everyone with set-based SQL and records each change in
  ``tier_history``. Switching tiers off keeps tiers, members' tiers and history; it
  only stops tiers from being shown, lifted or recalculated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, func, text
from sqlmodel import select

from crm_cli.db.models import LedgerEntry, Member, Reward, Store, Tier, TierHistory
from crm_cli.db.types import UTCDateTime
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.domain.timeutil import bkk_date, start_of_bkk_day

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


def window_start(store: Store, now: datetime) -> datetime:
    """Start of the tier window: the same Bangkok day ``cycle`` months ago, 00:00."""
    return start_of_bkk_day(bkk_date(now) - relativedelta(months=store.tier_cycle_months))


def earned_in_window(session, store: Store, member_id: int, now: datetime) -> int:
    """Points earned (earn, welcome, import, positive adjustments) inside the window."""
    q = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id == member_id,
        LedgerEntry.points > 0,
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.created_at >= window_start(store, now),
        LedgerEntry.created_at <= now,
    )
    return int(session.exec(q).one())


def _tiers(session, store_id: int) -> list[Tier]:
    return list(session.exec(select(Tier).where(Tier.store_id == store_id).order_by(Tier.threshold)).all())


def tier_for(tiers: list[Tier], earned: int) -> Tier | None:
    """The highest tier (of ``tiers`` sorted by threshold) reached with ``earned`` points."""
    target = None
    for t in tiers:
        if t.threshold <= earned:
            target = t
    return target


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
    current = session.get(Tier, member.tier_id) if member.tier_id else None
    if target is None or (current is not None and current.threshold >= target.threshold):
        return None
    member.tier_id = target.id
    session.add(member)
    session.add(TierHistory(store_id=store.id, member_id=member_id, old_tier=current.name if current else None,
                            new_tier=target.name, earned_points=earned, reason="earn", created_at=now))
    session.flush()
    return target.name


# ---------------------------------------------------------------- settings


def _store(session, store_id: int) -> Store:
    s = session.get(Store, store_id)
    if s is None:  # pragma: no cover - the CLI loads the store first
        raise NotFound("store not found")
    return s


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
    n = " ".join(name.split())
    if not n:
        raise InvalidInput("tier name must not be empty")
    if len(n) > 80:
        raise InvalidInput("tier name is too long (at most 80 characters)")
    return n


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
            select(Member.tier_id, func.count())
            .where(Member.store_id == store_id, Member.tier_id.is_not(None))
            .group_by(Member.tier_id)
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
    """CASE expression: the tier (``what`` = 'id' or 'name') reached with ``col_earned`` points."""
    if not tiers:
        return "NULL"
    parts = []
    for i, t in enumerate(reversed(tiers)):
        params[f"th{i}"] = t.threshold
        params[f"{what}{i}"] = t.id if what == "id" else t.name
        parts.append(f"WHEN {col_earned} >= :th{i} THEN :{what}{i}")
    return "CASE " + " ".join(parts) + " ELSE NULL END"


def _moves_select(store: Store, tiers: list[Tier], as_of: datetime, params: dict, member_where: str = "") -> str:
    """SELECT of every member whose tier differs from the one their earned points reach.

    Columns: member_id, old_id, old_name, new_id, new_name, earned. One aggregate over
    the ledger (the per-member window sum), joined to the members of the store.
    """
    params.update(sid=store.id, ws=window_start(store, as_of), asof=as_of)
    new_id = _target_sql(tiers, params, "x.earned", "id")
    new_name = _target_sql(tiers, params, "x.earned", "name")
    return f"""
        SELECT x.member_id, x.old_id, ot.name AS old_name, {new_id} AS new_id, {new_name} AS new_name, x.earned
        FROM (
            SELECT m.id AS member_id, m.tier_id AS old_id,
                   CASE WHEN m.registered_at IS NULL OR m.erased_at IS NOT NULL THEN -1
                        ELSE COALESCE(a.earned, 0) END AS earned
            FROM member m
            LEFT JOIN (
                SELECT e.member_id, SUM(e.points) AS earned
                FROM ledger_entry e
                WHERE e.store_id = :sid AND e.points > 0 AND e.kind IN ({_KINDS_SQL})
                  AND e.created_at >= :ws AND e.created_at <= :asof
                GROUP BY e.member_id
            ) a ON a.member_id = m.id
            WHERE m.store_id = :sid {member_where}
        ) x
        LEFT JOIN tier ot ON ot.id = x.old_id
        WHERE COALESCE(x.old_id, 0) <> COALESCE({new_id}, 0)
    """


_BIND_TYPES = {"ws": UTCDateTime(), "asof": UTCDateTime(), "now": UTCDateTime()}


def _exec(session, sql: str, params: dict):
    stmt = text(sql).bindparams(*[bindparam(k, type_=t) for k, t in _BIND_TYPES.items() if k in params])
    return session.execute(stmt, params)


def _apply_moves(session, store: Store, tiers: list[Tier], *, as_of: datetime, now: datetime, reason: str,
                 member_where: str = "", extra: dict | None = None) -> int:
    """Write tier_history rows and move members; returns the first history id written.

    PostgreSQL: one statement — the UPDATE re-checks each member's old tier, so a member
    lifted by a concurrent earn is left alone (and gets no history row).
    SQLite (writers are serialized): INSERT ... SELECT into tier_history, then one
    UPDATE ... FROM the rows just written.
    """
    params: dict = dict(extra or {})
    moves_sql = _moves_select(store, tiers, as_of, params, member_where)
    params.update(now=now, reason=reason)
    max_id = session.execute(text("SELECT COALESCE(MAX(id), 0) FROM tier_history")).scalar_one()
    if session.get_bind().dialect.name == "postgresql":
        _exec(
            session,
            f"""
            WITH mv AS ({moves_sql}),
            upd AS (
                UPDATE member m SET tier_id = mv.new_id
                FROM mv
                WHERE m.id = mv.member_id AND m.tier_id IS NOT DISTINCT FROM mv.old_id
                RETURNING m.id AS member_id, mv.old_name, mv.new_name, mv.earned
            )
            INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at)
            SELECT :sid, member_id, old_name, new_name, GREATEST(earned, 0), :reason, :now FROM upd
            """,
            params,
        )
    else:
        _exec(
            session,
            f"""
            INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, created_at)
            SELECT :sid, mv.member_id, mv.old_name, mv.new_name, MAX(mv.earned, 0), :reason, :now
            FROM ({moves_sql}) mv
            """,
            params,
        )
        p2: dict = {"max_id": max_id, "sid": store.id}
        new_id = _target_sql(tiers, p2, "h.earned_points", "id")
        session.execute(
            text(
                f"""
                UPDATE member SET tier_id = CASE WHEN member.registered_at IS NULL OR member.erased_at IS NOT NULL
                                                 THEN NULL ELSE {new_id} END
                FROM tier_history h
                WHERE h.id > :max_id AND h.store_id = :sid AND h.member_id = member.id
                """
            ),
            p2,
        )
    return max_id + 1


def _moves_written(session, store_id: int, first_id: int, limit: int | None) -> tuple[int, int, tuple[TierMove, ...]]:
    """(upgrades, downgrades, moves) among the history rows with id >= first_id."""
    ths = {t.name: t.threshold for t in _tiers(session, store_id)}
    rows = session.execute(
        text(
            "SELECT h.old_tier, h.new_tier, h.earned_points, m.phone, m.name FROM tier_history h "
            "JOIN member m ON m.id = h.member_id WHERE h.id >= :first AND h.store_id = :sid ORDER BY h.id"
        ),
        {"first": first_id, "sid": store_id},
    ).all()
    return _summarize(rows, ths, limit, old_ths=None)


def _summarize(rows, ths: dict, limit: int | None, old_ths: dict | None):
    up = down = 0
    moves = []
    old_ths = old_ths if old_ths is not None else ths
    for old, new, earned, phone_, name in rows:
        o = old_ths.get(old, -1) if old is not None else -1
        n = ths.get(new, -1) if new is not None else -1
        d = "up" if n > o else "down"
        if d == "up":
            up += 1
        else:
            down += 1
        if limit is None or len(moves) < limit:
            moves.append(TierMove(phone=phone_, name=name, old_tier=old, new_tier=new,
                                  earned_points=max(int(earned), 0), direction=d))
    return up, down, tuple(moves)


def recalc(session, *, store_id: int, as_of: datetime, now: datetime, dry_run: bool = False,
           limit: int | None = None) -> TierRecalc:
    """Apply upgrades and downgrades for every member of the store, as of ``as_of``.

    Set-based: one per-member window aggregate over the ledger feeds one history
    INSERT and one member UPDATE (one combined statement on PostgreSQL). Idempotent:
    a second run finds nobody to move. ``dry_run`` only reads. ``limit`` caps the
    moves returned (the counts are always complete).
    """
    store = _store(session, store_id)
    if not store.tiers_enabled:
        raise Conflict("tiers are switched off for this store: turn them on with `crm tier on`")
    tiers = _tiers(session, store_id)
    members = int(session.exec(select(func.count()).select_from(Member).where(Member.store_id == store_id)).one())
    ws = window_start(store, as_of)
    if dry_run:
        params: dict = {}
        sql = _moves_select(store, tiers, as_of, params)
        rows = _exec(
            session,
            f"SELECT mv.old_name, mv.new_name, mv.earned, m.phone, m.name FROM ({sql}) mv "
            "JOIN member m ON m.id = mv.member_id ORDER BY mv.member_id",
            params,
        ).all()
        up, down, moves = _summarize(rows, {t.name: t.threshold for t in tiers}, limit, None)
    else:
        first = _apply_moves(session, store, tiers, as_of=as_of, now=now, reason="recalc")
        up, down, moves = _moves_written(session, store_id, first, limit)
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
                 member_where="AND m.tier_id = :gone", extra={"gone": t.id})
    # anyone still pointing at the tier (none unless a concurrent change raced) is cleared
    session.execute(Member.__table__.update().where(Member.__table__.c.tier_id == t.id).values(tier_id=None))
    session.delete(t)
    session.flush()
    rows = session.execute(
        text(
            "SELECT h.old_tier, h.new_tier, h.earned_points, m.phone, m.name FROM tier_history h "
            "JOIN member m ON m.id = h.member_id WHERE h.id > :first AND h.store_id = :sid ORDER BY h.id"
        ),
        {"first": max_id, "sid": store_id},
    ).all()
    _, _, moves = _summarize(rows, old_ths, None, old_ths)
    return TierRemoved(name=t.name, members_moved=len(moves), moves=moves)
