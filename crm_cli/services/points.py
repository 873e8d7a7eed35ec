"""Points (SPEC section 2): earning rule, expiry policy, give, balance, history, adjust,
single-use QR claims, welcome points, the expiry job and the ledger check.

Every function takes the session first, keyword-only arguments after, the clock as
``now``; it flushes and never commits; it returns frozen dataclasses. The ledger
itself (lots, FIFO, expiry, debt) lives in :mod:`crm_cli.services.ledger`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlmodel import select

from crm_cli.db import dialect
from crm_cli.db.models import Branch, LedgerEntry, Member, QrClaim, Staff, Store, WelcomeGrant
from crm_cli.db.types import UTCDateTime
from crm_cli.domain.errors import CheckFailed, Conflict, InsufficientPoints, InvalidInput, NotFound, StoreSuspended
from crm_cli.domain.expiry import lot_expires_at, validate_policy
from crm_cli.domain.points import parse_amount, points_for_spend
from crm_cli.services import common, ledger, ledger_summary
from crm_cli.services.balance import BalanceInfo

MAX_RULE_POINTS = 10_000
MAX_WELCOME = 100_000
MAX_ADJUST = 10_000_000
QR_MINUTES_MAX = 24 * 60
QR_DEFAULT_MINUTES = 15


# ---------------------------------------------------------------- rule and expiry policy


@dataclass(frozen=True)
class RuleInfo:
    earn_points: int
    earn_per: Decimal
    welcome_points: int
    expiry_policy: str
    expiry_months: int | None
    rule: str
    expiry: str


def _describe_expiry(policy: str, months: int | None) -> str:
    if policy == "rolling":
        return f"rolling {months} month{'s' if months != 1 else ''} (end of the Bangkok day)"
    if policy == "year_end":
        return "year-end (end of 31 December, Bangkok, of the year earned)"
    return "never"


def _rule_info(s: Store) -> RuleInfo:
    unit = "point" if s.earn_points == 1 else "points"
    return RuleInfo(
        earn_points=s.earn_points, earn_per=s.earn_per, welcome_points=s.welcome_points,
        expiry_policy=s.expiry_policy, expiry_months=s.expiry_months,
        rule=f"{s.earn_points} {unit} per {s.earn_per:.2f} THB (rounded down)",
        expiry=_describe_expiry(s.expiry_policy, s.expiry_months),
    )


def _store(session, store_id: int) -> Store:
    from crm_cli.services.common import get_store

    return get_store(session, store_id)


def show_rule(session, *, store_id: int) -> RuleInfo:
    return _rule_info(_store(session, store_id))


def set_rule(session, *, store_id: int, points: int | None = None, per: str | None = None,
             welcome: int | None = None) -> RuleInfo:
    """Change the earning rule (X points per Y THB) and/or the welcome points."""
    s = _store(session, store_id)
    if points is not None:
        if not 1 <= points <= MAX_RULE_POINTS:
            raise InvalidInput(f"--points must be between 1 and {MAX_RULE_POINTS}, got {points}")
        s.earn_points = points
    if per is not None:
        s.earn_per = parse_amount(per, what="--per amount")
    if welcome is not None:
        if not 0 <= welcome <= MAX_WELCOME:
            raise InvalidInput(f"--welcome must be between 0 and {MAX_WELCOME}, got {welcome}")
        s.welcome_points = welcome
    session.add(s)
    session.flush()
    return _rule_info(s)


def set_expiry(session, *, store_id: int, policy: str, months: int | None = None) -> RuleInfo:
    """Set the expiry policy; lots already earned keep the expiry they were given."""
    policy, months = validate_policy(policy, months)
    s = _store(session, store_id)
    s.expiry_policy = policy
    s.expiry_months = months
    session.add(s)
    session.flush()
    return _rule_info(s)


# ---------------------------------------------------------------- give


@dataclass(frozen=True)
class GiveResult:
    phone: str
    spend: Decimal
    points: int
    balance: int
    expires_at: datetime | None
    branch: str | None
    staff: str | None
    channel: str
    entry_id: int
    duplicate: bool
    new_tier: str | None = None


def _names(session, branch_id: int | None, staff_id: int | None) -> tuple[str | None, str | None]:
    b = session.get(Branch, branch_id) if branch_id else None
    s = session.get(Staff, staff_id) if staff_id else None
    return (b.name if b else None), (s.name if s else None)


def _replayed_give(session, entry: LedgerEntry, now: datetime) -> GiveResult:
    m = session.get(Member, entry.member_id)
    b, s = _names(session, entry.branch_id, entry.staff_id)
    return GiveResult(
        phone=m.phone or "", spend=entry.spend, points=entry.points, balance=ledger.balance(session, m.id, now),
        expires_at=entry.expires_at, branch=b, staff=s, channel=entry.channel, entry_id=entry.id, duplicate=True,
    )


#: everything a give needs to know before it writes, in one query: the store's rule, the
#: branch and staff named (and the staff member's own branch), the account of the phone and
#: the id of the entry already written under the idempotency key (read from the key's index
#: alone: SQLite's statistics call that index unselective when most entries have no key)
_GIVE_CONTEXT_SQL = """
    SELECT s.purged_at, s.earn_points, s.earn_per, s.expiry_policy, s.expiry_months, s.tiers_enabled,
           s.tier_cycle_months,
           b.id AS b_id, b.name AS b_name, b.closed_at AS b_closed,
           f.id AS f_id, f.name AS f_name, f.role AS f_role, f.active AS f_active, f.branch_id AS f_branch,
           fb.name AS fb_name,
           m.id AS m_id, m.registered_at, m.erased_at,
           (SELECT e.id FROM ledger_entry e WHERE e.store_id = s.id AND e.idem_source = 'counter'
            AND e.idem_key = :key) AS e_id
    FROM store s
    LEFT JOIN branch b ON b.store_id = s.id AND b.name = :branch
    LEFT JOIN staff f ON f.store_id = s.id AND f.phone = :staff
    LEFT JOIN branch fb ON fb.id = f.branch_id
    LEFT JOIN {member} m ON {member_on}
    WHERE s.id = :sid"""
_GIVE_STATEMENTS: dict[str, Any] = {}


def _give_context(conn):
    """The context query; on PostgreSQL it also takes the member lock (``common.lock_member``)
    of an existing account: the credit that follows is a new statement, so it sees the
    ledger as it is once the lock is held."""
    key = f"context:{dialect.name(conn)}"
    stmt = _GIVE_STATEMENTS.get(key)
    if stmt is None:
        from sqlalchemy.types import Boolean

        from crm_cli.db.types import Money

        if dialect.is_postgresql(conn):
            sql = ("WITH locked AS MATERIALIZED (SELECT id, registered_at, erased_at FROM member "
                   "WHERE store_id = :sid AND phone = :phone FOR UPDATE) "
                   + _GIVE_CONTEXT_SQL.format(member="locked", member_on="TRUE"))
        else:
            sql = _GIVE_CONTEXT_SQL.format(member="member", member_on="m.store_id = s.id AND m.phone = :phone")
        stmt = text(sql).columns(
            purged_at=UTCDateTime(), earn_per=Money(), tiers_enabled=Boolean(), b_closed=UTCDateTime(),
            f_active=Boolean(), registered_at=UTCDateTime(), erased_at=UTCDateTime(),
        )
        _GIVE_STATEMENTS[key] = stmt
    return stmt


def _account_id(conn, store_id: int, e164: str, now: datetime) -> tuple[int, bool]:
    """The account of a phone that had none when the give began: created as a phone-only
    account, or the one a concurrent request created meanwhile (then not locked yet)."""
    table = Member.metadata.tables["member"]
    made = conn.execute(
        dialect.insert_ignore(conn, table, index_elements=["store_id", "phone"])
        .values(store_id=store_id, phone=e164, source="points", created_at=now).returning(table.c.id)
    ).scalar()
    if made is not None:
        return made, True
    return conn.execute(select(table.c.id).where(table.c.store_id == store_id, table.c.phone == e164)).scalar_one(), False


_LIFT_HISTORY_SQL = ("INSERT INTO tier_history (store_id, member_id, old_tier, new_tier, earned_points, reason, "
                     "created_at) VALUES (:sid, :mid, :old, :new, :earned, 'earn', :now)")


def _lift_statements() -> list:
    """(raise the tier, record the move): ``tiers.RAISE_SQL`` and the history row."""
    stmts = _GIVE_STATEMENTS.get("lift")
    if stmts is None:
        from crm_cli.services.tiers import RAISE_SQL

        stmts = [text(RAISE_SQL), text(_LIFT_HISTORY_SQL).bindparams(bindparam("now", type_=UTCDateTime()))]
        _GIVE_STATEMENTS["lift"] = stmts
    return stmts


def _lift_tier(conn, *, store_id: int, member_id: int, got: ledger.Credited, now: datetime) -> str | None:
    """Earning lifts a member at once, never lowers (as :func:`crm_cli.services.tiers.lift_on_earn`),
    and the move is recorded in ``tier_history`` (SQLite; on PostgreSQL the credit statement does it)."""
    if got.reached is None or (got.current is not None and got.current[1] >= got.reached[2]):
        return None
    tier_id, name, _ = got.reached
    params = {"tier_id": tier_id, "mid": member_id, "sid": store_id, "old": got.current[0] if got.current else None,
              "new": name, "earned": got.earned or 0, "now": now}
    raise_tier, record = _lift_statements()
    if conn.execute(raise_tier, params).first() is None:  # placed higher meanwhile: nothing to record
        return None
    conn.execute(record, params)
    return name


def _replay_key(session, store_id: int, idem: tuple[str, str] | None, fp: str | None, now: datetime) -> GiveResult:
    earlier = ledger.replay(session, store_id, idem, fp)  # Conflict when the key came with another request
    if earlier is None:  # pragma: no cover - the key's entry was seen in this transaction
        raise NotFound("the entry written under this key is gone")
    return _replayed_give(session, earlier, now)


def give_for_spend(session, *, store_id: int, phone: str, spend: str, now: datetime, branch: str | None = None,
                   staff: str | None = None, key: str | None = None, actor: str | None = None) -> GiveResult:
    """Points for a purchase at the counter, from the store's earning rule.

    A phone that is not a registered member collects points as a phone-only account.
    With ``key`` the same request twice writes nothing the second time and returns the
    original; the same key with another phone or amount is a Conflict.

    The counter's hot path (the CLI, the counter API and the staff page all come here):
    Core statements on the session's connection, one query for everything read before
    writing, the member lock, then one statement (PostgreSQL) writing the lot and
    ``last_activity_at`` and returning the debt, the balance and the tier reached; debt
    settlement and a tier lift add statements only when they happen.
    """
    from types import SimpleNamespace

    from sqlalchemy.orm import Session

    from crm_cli.domain.tiers import window_start

    p = common.phone(phone)
    amount = parse_amount(spend)
    if key is not None:
        key = key.strip()
        if not key or len(key) > 200:
            raise InvalidInput("--key must be 1 to 200 characters")
    staff_phone, staff_error = None, None
    if staff is not None:
        try:
            staff_phone = common.phone(staff)
        except InvalidInput as exc:  # reported after the branch, as the lookups did
            staff_error = exc
    session.flush()
    conn = session.connection()
    c = conn.execute(_give_context(conn), {"sid": store_id, "branch": branch, "staff": staff_phone, "phone": p,
                                       "key": key}).first()
    if c is None or c.purged_at is not None:
        raise NotFound("store not found: see `crm store list`")
    branch_row = common.check_branch(SimpleNamespace(id=c.b_id, name=c.b_name, closed_at=c.b_closed)
                                     if c.b_id is not None else None, branch) if branch else None
    branch_id, staff_id = (branch_row.id if branch_row else None), None
    if staff is not None:
        if staff_error is not None:
            raise staff_error
        s = common.check_staff(SimpleNamespace(id=c.f_id, role=c.f_role, active=c.f_active, branch_id=c.f_branch)
                               if c.f_id is not None else None, staff)
        branch_id, staff_id = common.actor_ids(branch_row, s, staff)
    b_name = c.b_name if branch_id is not None and branch_id == c.b_id else c.fb_name if branch_id else None
    s_name = c.f_name if staff_id is not None else None
    idem = ("counter", key) if key else None
    fp = ledger.fingerprint("counter", p, amount) if key else None
    if c.e_id is not None:  # the key was used before: the same request again, or a Conflict
        return _replay_key(session, store_id, idem, fp, now)
    pts = points_for_spend(amount, c.earn_points, c.earn_per)
    if pts == 0:
        if key is None:
            have = ledger.balance(session, c.m_id, now) if c.m_id is not None else 0
            return GiveResult(phone=p, spend=amount, points=0, balance=have, expires_at=None, branch=b_name,
                              staff=s_name, channel="counter", entry_id=0, duplicate=False)
        return _give_nothing_with_key(session, store_id=store_id, phone=p, amount=amount, now=now,
                                      branch=(branch_id, b_name), staff=(staff_id, s_name), idem=idem, fp=fp,
                                      actor=actor)
    member_id, registered, erased = c.m_id, c.registered_at, c.erased_at
    pg = dialect.is_postgresql(conn)
    locked = pg  # an existing account was locked by the context query
    if member_id is None:
        member_id, locked = _account_id(conn, store_id, p, now)
        registered = erased = None
    if not locked and pg:
        fresh = conn.execute(text("SELECT registered_at, erased_at FROM member WHERE id = :id FOR UPDATE"),
                             {"id": member_id}).one()
        registered, erased = fresh[0], fresh[1]
    probe = None
    if c.tiers_enabled and registered is not None and erased is None:
        probe = ledger.TierProbe(window_start=window_start(c.tier_cycle_months, now))
    exp = lot_expires_at(c.expiry_policy, c.expiry_months, now)
    got = ledger.credit_locked(
        conn, store_id=store_id, member_id=member_id, kind="earn", points=pts, now=now, expires_at=exp,
        channel="counter", branch_id=branch_id, staff_id=staff_id, reason=f"spend {amount:.2f} THB", spend=amount,
        idem=idem, fp=fp, actor=actor, tier=probe,
    )
    if not got.entry_id:  # a concurrent request with the same key committed first
        return _replay_key(session, store_id, idem, fp, now)
    if got.lifted is not None:  # the credit statement lifted the tier itself (PostgreSQL)
        tier = got.reached[1] if got.lifted and got.reached else None
    else:
        tier = _lift_tier(conn, store_id=store_id, member_id=member_id, got=got, now=now) if probe else None
    cached = session.identity_map.get(Session.identity_key(Member, member_id))
    if cached is not None:  # the ORM's copy of the member is out of date (last activity, tier)
        session.expire(cached)
    return GiveResult(
        phone=p, spend=amount, points=pts, balance=got.balance, expires_at=exp, branch=b_name, staff=s_name,
        channel="counter", entry_id=got.entry_id, duplicate=False, new_tier=tier,
    )


def _give_nothing_with_key(session, *, store_id: int, phone: str, amount: Decimal, now: datetime,
                           branch: tuple[int | None, str | None], staff: tuple[int | None, str | None],
                           idem: tuple[str, str] | None, fp: str | None, actor: str | None) -> GiveResult:
    """A spend below the rule's unit with a key: a 0-point entry keeps the key (the ORM ledger path)."""
    store = _store(session, store_id)
    m = common.get_or_create_account(session, store_id, phone, now=now)
    common.lock_member(session, m.id)
    posted = ledger.credit(
        session, store=store, member_id=m.id, kind="earn", points=0, now=now, channel="counter",
        branch_id=branch[0], staff_id=staff[0], spend=amount, idem=idem, fp=fp, actor=actor,
        reason=f"spend {amount:.2f} THB",
    )
    if posted.duplicate:
        return _replayed_give(session, session.get(LedgerEntry, posted.entry_id), now)
    return GiveResult(
        phone=phone, spend=amount, points=0, balance=ledger.balance(session, m.id, now), expires_at=posted.expires_at,
        branch=branch[1], staff=staff[1], channel="counter", entry_id=posted.entry_id, duplicate=False,
        new_tier=ledger_lift(session, store, m.id, now),
    )


def ledger_lift(session, store: Store, member_id: int, now: datetime) -> str | None:
    from crm_cli.services import tiers

    return tiers.lift_on_earn(session, store=store, member_id=member_id, now=now)


# ---------------------------------------------------------------- welcome points


@dataclass(frozen=True)
class WelcomeResult:
    given: bool
    points: int
    entry_id: int
    expires_at: datetime | None
    reason: str


def welcome_hash(store_id: int, e164: str) -> str:
    """The key of a welcome grant: kept after erasure, it does not reveal the phone."""
    return hashlib.sha256(f"{store_id}:{e164}".encode()).hexdigest()


def give_welcome(session, *, store, member_id: int, phone: str, now: datetime, actor: str | None = None) -> WelcomeResult:
    """Welcome points once per phone number per store, ever (a re-registration after
    erasure gets none). ``store`` is the Store row or its id. Nothing is recorded when
    the store gives no welcome points."""
    store = store if isinstance(store, Store) else _store(session, int(store))
    p = common.phone(phone)
    if store.welcome_points <= 0:
        return WelcomeResult(False, 0, 0, None, "the store gives no welcome points")
    digest = welcome_hash(store.id, p)
    values = {"store_id": store.id, "phone_hash": digest, "created_at": now}
    table = WelcomeGrant.__table__
    stmt = dialect.insert_ignore(session, table, index_elements=["store_id", "phone_hash"]).values(**values)
    inserted = session.execute(stmt.returning(table.c.id)).first()
    if inserted is None:
        return WelcomeResult(False, 0, 0, None, "welcome points were already given to this phone number")
    common.lock_member(session, member_id)
    posted = ledger.credit(
        session, store=store, member_id=member_id, kind="welcome", points=store.welcome_points, now=now,
        channel="system", reason="welcome points", idem=("welcome", digest), fp=None, actor=actor,
    )
    ledger_lift(session, store, member_id, now)
    return WelcomeResult(True, store.welcome_points, posted.entry_id, posted.expires_at, "welcome points given")


# ---------------------------------------------------------------- balance and history


def balance(session, *, store_id: int, phone: str, now: datetime, limit: int = 10) -> BalanceInfo:
    """Balance now and the lots in spending order (soonest-expiring first); the read itself is
    crm_cli.services.balance (plain SQL, so `crm points balance` starts without the models)."""
    from crm_cli.services import balance as card

    return card.balance(session, store_id=store_id, phone=phone, now=now, limit=limit)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    at: datetime
    kind: str
    points: int
    spend: Decimal | None
    channel: str
    branch: str | None
    staff: str | None
    reason: str | None
    expires_at: datetime | None
    key: str | None


def history(session, *, store_id: int, phone: str, limit: int | None = None) -> list[HistoryRow]:
    """Every ledger entry of the account, oldest first (the newest ``limit`` when given)."""
    m = common.get_member(session, store_id, phone)
    q = (
        select(LedgerEntry, Branch.name, Staff.name)
        .join(Branch, Branch.id == LedgerEntry.branch_id, isouter=True)
        .join(Staff, Staff.id == LedgerEntry.staff_id, isouter=True)
        .where(LedgerEntry.member_id == m.id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )
    if limit:
        q = q.limit(limit)
    rows = [
        HistoryRow(id=e.id, at=e.created_at, kind=e.kind, points=e.points, spend=e.spend, channel=e.channel,
                   branch=bn, staff=sn, reason=e.reason, expires_at=e.expires_at,
                   key=f"{e.idem_source}:{e.idem_key}" if e.idem_source in ("counter", "order", "import") else None)
        for e, bn, sn in session.exec(q).all()
    ]
    rows.reverse()
    return rows


# ---------------------------------------------------------------- adjust


@dataclass(frozen=True)
class AdjustResult:
    phone: str
    points: int
    reason: str
    balance: int
    entry_id: int
    expires_at: datetime | None
    staff: str | None


def adjust(session, *, store_id: int, phone: str, points: int, reason: str, now: datetime,
           staff: str | None = None, actor: str | None = None) -> AdjustResult:
    """Manual correction by an admin, with a reason. A negative adjustment takes from the
    lots soonest-expiring first and is refused when larger than the balance."""
    common.require_admin(session, store_id, staff)
    p = common.phone(phone)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("--reason must not be empty: say why the points are adjusted")
    if len(reason) > 500:
        raise InvalidInput("--reason must be at most 500 characters")
    if points == 0:
        raise InvalidInput("--points must not be 0")
    if abs(points) > MAX_ADJUST:
        raise InvalidInput(f"--points must be between -{MAX_ADJUST} and {MAX_ADJUST}")
    branch_id, staff_id = common.resolve_actor(session, store_id, branch=None, staff=staff)
    store = _store(session, store_id)
    if points > 0:
        m = common.get_or_create_account(session, store_id, p, now=now)
        common.lock_member(session, m.id)
        posted = ledger.credit(session, store=store, member_id=m.id, kind="adjust", points=points, now=now,
                               channel="admin", branch_id=branch_id, staff_id=staff_id, reason=reason, actor=actor)
        ledger_lift(session, store, m.id, now)
    else:
        m = common.get_member(session, store_id, phone)
        common.lock_member(session, m.id)
        have = ledger.balance(session, m.id, now)
        if -points > have:
            raise InsufficientPoints(f"cannot take {-points} points from {phone}: the balance is only {have}")
        posted = ledger.debit(session, store_id=store_id, member_id=m.id, kind="adjust", points=-points, now=now,
                              channel="admin", branch_id=branch_id, staff_id=staff_id, reason=reason, actor=actor)
    _, s_name = _names(session, None, staff_id)
    return AdjustResult(phone=p, points=points, reason=reason, balance=ledger.balance(session, m.id, now),
                        entry_id=posted.entry_id, expires_at=posted.expires_at, staff=s_name)


# ---------------------------------------------------------------- single-use QR claims


@dataclass(frozen=True)
class QrTicket:
    token: str
    link: str
    spend: Decimal
    points: int
    branch: str
    staff: str | None
    expires_at: datetime


@dataclass(frozen=True)
class ClaimResult:
    phone: str
    points: int
    spend: Decimal
    branch: str | None
    staff: str | None
    balance: int
    entry_id: int
    expires_at: datetime | None
    new_tier: str | None = None


def make_qr(session, *, store_id: int, spend: str, branch: str, now: datetime, staff: str | None = None,
            valid_minutes: int = QR_DEFAULT_MINUTES) -> QrTicket:
    """A single-use claim for a sale: the token is returned once, only its hash is stored."""
    amount = parse_amount(spend)
    if not 1 <= valid_minutes <= QR_MINUTES_MAX:
        raise InvalidInput(f"--valid-minutes must be between 1 and {QR_MINUTES_MAX}, got {valid_minutes}")
    branch_id, staff_id = common.resolve_actor(session, store_id, branch=branch, staff=staff)
    store = _store(session, store_id)
    pts = points_for_spend(amount, store.earn_points, store.earn_per)
    if pts == 0:
        raise InvalidInput(
            f"a spend of {amount:.2f} THB earns no points (rule: {_rule_info(store).rule}): no QR code made"
        )
    token, digest = common.new_token()
    row = QrClaim(store_id=store_id, token_hash=digest, spend=amount, points=pts, branch_id=branch_id,
                  staff_id=staff_id, created_at=now, expires_at=now + timedelta(minutes=valid_minutes))
    session.add(row)
    session.flush()
    b_name, s_name = _names(session, branch_id, staff_id)
    return QrTicket(token=token, link=f"{store.link_base.rstrip('/')}/claim/{token}", spend=amount,
                    points=pts, branch=b_name or branch, staff=s_name, expires_at=row.expires_at)


def _token_from(raw: str) -> str:
    t = (raw or "").strip()
    if "token=" in t:  # the whole link was pasted (the older /SLUG/claim?token= form too)
        t = t.split("token=", 1)[1].split("&", 1)[0]
    elif "/claim/" in t:
        t = t.rsplit("/claim/", 1)[1].split("?", 1)[0].split("#", 1)[0].strip("/")
    return t.lower()


def _service_off(session, store_id: int, now: datetime) -> bool:
    """The store's service is off at ``now`` (cancelled and ended, or suspended for an unpaid invoice)."""
    from crm_cli.services.billing import service_now

    return service_now(session, store_id=store_id, now=now).suspended


def claim_qr(session, *, token: str, phone: str, now: datetime, actor: str | None = None) -> tuple[int, ClaimResult]:
    """Give the points of a QR claim once. Returns the store id and the result.

    Single use under concurrency: the claim row is taken by one conditional UPDATE
    (``WHERE claimed_at IS NULL``); only one transaction can see it unclaimed. A
    second claim, an expired token or an unknown (forged) one raise and write nothing.
    """
    p = common.phone(phone)
    t = _token_from(token)
    qr = session.exec(select(QrClaim).where(QrClaim.token_hash == common.token_hash(t))).first() if t else None
    if qr is None:
        raise NotFound("QR code not recognised: check the code, or ask the staff for a new one")
    store = _store(session, qr.store_id)
    if store.purged_at is not None or _service_off(session, store.id, now):
        raise StoreSuspended(f"store '{store.slug}' is suspended: its points cannot be claimed now")
    if qr.claimed_at is not None:
        raise Conflict(f"this QR code was already claimed at {_bkk(qr.claimed_at)}: each code gives points once")
    if qr.expires_at <= now:
        raise Conflict(f"this QR code expired at {_bkk(qr.expires_at)}: ask the staff for a new one")
    taken = session.execute(
        update(QrClaim)
        .where(QrClaim.id == qr.id, QrClaim.claimed_at.is_(None), QrClaim.expires_at > now)
        .values(claimed_at=now)
    )
    if taken.rowcount != 1:
        raise Conflict("this QR code was already claimed: each code gives points once")
    m = common.get_or_create_account(session, store.id, p, now=now)
    common.lock_member(session, m.id)
    posted = ledger.credit(
        session, store=store, member_id=m.id, kind="earn", points=qr.points, now=now, channel="qr",
        branch_id=qr.branch_id, staff_id=qr.staff_id, spend=qr.spend, idem=("qr", qr.token_hash),
        fp=ledger.fingerprint("qr", qr.token_hash), actor=actor, reason=f"QR claim, spend {qr.spend:.2f} THB",
    )
    if posted.duplicate:
        raise Conflict("this QR code was already claimed: each code gives points once")
    session.execute(update(QrClaim).where(QrClaim.id == qr.id).values(claimed_member_id=m.id, entry_id=posted.entry_id))
    tier = ledger_lift(session, store, m.id, now)
    b_name, s_name = _names(session, qr.branch_id, qr.staff_id)
    return store.id, ClaimResult(phone=p, points=qr.points, spend=qr.spend, branch=b_name, staff=s_name,
                                 balance=ledger.balance(session, m.id, now), entry_id=posted.entry_id,
                                 expires_at=posted.expires_at, new_tier=tier)


def _bkk(at: datetime) -> str:
    from crm_cli.domain.timeutil import BKK

    return at.astimezone(BKK).strftime("%Y-%m-%d %H:%M Bangkok")


# ---------------------------------------------------------------- the expiry job


@dataclass(frozen=True)
class ExpiryRow:
    store: str
    lots_expired: int
    points_expired: int
    members: int
    as_of: datetime


def run_expiry(session, *, now: datetime, as_of: datetime | None = None, store_id: int | None = None,
               actor: str | None = None) -> list[ExpiryRow]:
    """Expire every lot whose expiry instant is at or before ``as_of`` (default ``now``),
    for one store or all. Idempotent and late-safe: entries are dated at each lot's
    own expiry instant. ``as_of`` may not be in the future."""
    at = as_of or now
    if at > now:
        raise InvalidInput(f"--as-of {at.isoformat()} is in the future: points cannot be expired ahead of time")
    run = ledger.expire(session, now=at, store_id=store_id, actor=actor)
    counts = {sid: (n, pts, mem) for sid, n, pts, mem in run.by_store}
    q = select(Store.id, Store.slug).where(Store.purged_at.is_(None)).order_by(Store.slug)
    if store_id is not None:
        q = q.where(Store.id == store_id)
    out = []
    for sid, slug in session.exec(q).all():
        n, pts, mem = counts.get(sid, (0, 0, 0))
        out.append(ExpiryRow(store=slug, lots_expired=n, points_expired=pts, members=mem, as_of=at))
    return out


# ---------------------------------------------------------------- the ledger check


@dataclass(frozen=True)
class Breach:
    check: str
    entry_id: int | None
    member_id: int | None
    detail: str


@dataclass(frozen=True)
class CheckLine:
    check: str
    description: str
    breaches: int


@dataclass(frozen=True)
class CheckReport:
    store: str
    entries: int
    lots: int
    accounts: int
    points_balance: int
    pending_expiry_lots: int
    ok: bool
    checks: list[CheckLine]
    breaches: list[Breach]


_ALLOC_USED = "COALESCE((SELECT SUM(a2.points) FROM lot_allocation a2 WHERE a2.lot_entry_id = l.id), 0)"

#: (name, description, SQL returning entry_id, member_id, detail-values...) — every row is a breach
_CHECKS: list[tuple[str, str, str, str]] = [
    (
        "entry_kinds",
        "credits are positive entries of a credit kind, debits negative of a debit kind",
        f"""SELECT e.id, e.member_id, e.kind, e.points FROM ledger_entry e WHERE e.store_id = :s AND (
              (e.points > 0 AND e.kind NOT IN ({", ".join(repr(k) for k in ledger.CREDIT_KINDS)}))
           OR (e.points < 0 AND e.kind NOT IN ({", ".join(repr(k) for k in ledger.DEBIT_KINDS)}))
           OR (e.points <= 0 AND e.expires_at IS NOT NULL))""",
        "entry #{0} of kind {2} has {3} points",
    ),
    (
        "debit_allocations",
        "the allocations of each debit add up to its points",
        """SELECT e.id, e.member_id, -e.points, COALESCE(SUM(a.points), 0) FROM ledger_entry e
           LEFT JOIN lot_allocation a ON a.debit_entry_id = e.id
           WHERE e.store_id = :s AND e.points < 0
           GROUP BY e.id, e.member_id, e.points HAVING COALESCE(SUM(a.points), 0) <> -e.points""",
        "debit #{0} takes {2} points but its allocations add up to {3}",
    ),
    (
        "allocation_debits",
        "allocations belong to debits and take a positive number of points",
        """SELECT d.id, d.member_id, a.id, a.points FROM lot_allocation a JOIN ledger_entry d ON d.id = a.debit_entry_id
           WHERE d.store_id = :s AND (d.points >= 0 OR a.points <= 0)""",
        "allocation {2} of entry #{0} ({3} points) is not part of a debit",
    ),
    (
        "lot_overspent",
        "no lot is consumed beyond its points",
        f"""SELECT l.id, l.member_id, l.points, {_ALLOC_USED} FROM ledger_entry l
            WHERE l.store_id = :s AND l.points > 0 AND {_ALLOC_USED} > l.points""",
        "lot #{0} has {2} points but {3} were taken from it",
    ),
    (
        "allocation_source",
        "debits take only from the same account's lots, earned before and unexpired at the time",
        """SELECT d.id, d.member_id, l.id, l.member_id, d.kind FROM lot_allocation a
           JOIN ledger_entry d ON d.id = a.debit_entry_id JOIN ledger_entry l ON l.id = a.lot_entry_id
           WHERE (d.store_id = :s OR l.store_id = :s) AND (
                 l.points <= 0 OR l.member_id <> d.member_id OR l.store_id <> d.store_id
              OR d.created_at < l.created_at
              OR (d.kind <> 'expire' AND l.expires_at IS NOT NULL AND l.expires_at <= d.created_at))""",
        "{4} #{0} (account {1}) took from entry #{2} (account {3}), which was not its lot to spend then",
    ),
    (
        "expire_exact",
        "each expire entry takes exactly the remainder of its own lot, at the lot's expiry",
        """SELECT x.id, x.member_id, -x.points, l.points - COALESCE(u.used, 0), x.ref_entry_id FROM ledger_entry x
           LEFT JOIN ledger_entry l ON l.id = x.ref_entry_id
           LEFT JOIN (SELECT a.lot_entry_id, SUM(a.points) AS used FROM lot_allocation a
                      JOIN ledger_entry d ON d.id = a.debit_entry_id
                      WHERE d.kind <> 'expire' AND d.store_id = :s GROUP BY a.lot_entry_id) u ON u.lot_entry_id = l.id
           WHERE x.store_id = :s AND x.kind = 'expire' AND (
                 l.id IS NULL OR l.expires_at IS NULL OR x.created_at <> l.expires_at
              OR -x.points <> l.points - COALESCE(u.used, 0)
              OR EXISTS (SELECT 1 FROM lot_allocation a WHERE a.debit_entry_id = x.id AND a.lot_entry_id <> x.ref_entry_id)
              OR (SELECT COUNT(*) FROM ledger_entry y WHERE y.kind = 'expire' AND y.ref_entry_id = x.ref_entry_id) > 1)""",
        "expire #{0} takes {2} points from lot #{4}, whose remainder at expiry was {3}",
    ),
    (
        "debt",
        "outstanding debt of each account is not negative",
        """SELECT NULL, e.member_id, SUM(e.debt) FROM ledger_entry e WHERE e.store_id = :s
           GROUP BY e.member_id HAVING SUM(e.debt) < 0""",
        "account {1} has debt {2}",
    ),
    (
        "balance",
        "each account's ledger sum equals the sum of its lot remainders and is not negative",
        f"""SELECT NULL, t.member_id, t.total, COALESCE(r.rem, 0) FROM
              (SELECT member_id, SUM(points) AS total FROM ledger_entry WHERE store_id = :s GROUP BY member_id) t
            LEFT JOIN (SELECT l.member_id, SUM(l.points - {_ALLOC_USED}) AS rem FROM ledger_entry l
                       WHERE l.store_id = :s AND l.points > 0 GROUP BY l.member_id) r ON r.member_id = t.member_id
            WHERE t.total <> COALESCE(r.rem, 0) OR t.total < 0""",
        "account {1}: ledger sum {2}, lot remainders {3}",
    ),
    (
        "qr_single_use",
        "each QR claim gave points once, through its own entry",
        """SELECT q.entry_id, q.claimed_member_id, q.id, 'claimed without exactly one matching entry' FROM qr_claim q
           WHERE q.store_id = :s AND q.claimed_at IS NOT NULL AND (
                 q.entry_id IS NULL
              OR (SELECT COUNT(*) FROM ledger_entry e WHERE e.store_id = :s AND e.idem_source = 'qr'
                  AND e.idem_key = q.token_hash) <> 1
              OR NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.id = q.entry_id AND e.idem_source = 'qr'
                             AND e.idem_key = q.token_hash AND e.member_id = q.claimed_member_id))
           UNION ALL
           SELECT e.id, e.member_id, NULL, 'QR entry without a claimed QR code' FROM ledger_entry e
           WHERE e.store_id = :s AND e.idem_source = 'qr' AND NOT EXISTS (
                 SELECT 1 FROM qr_claim q WHERE q.store_id = :s AND q.token_hash = e.idem_key AND q.claimed_at IS NOT NULL)""",
        "QR claim {2} / entry #{0}: {3}",
    ),
    ledger_summary.CHECK,  # the per-member summary segment counts read (migration 0011)
]


def check_store(session, *, store_id: int, now: datetime) -> CheckReport:
    """Recompute every ledger invariant for the store from the entries themselves."""
    store = _store(session, store_id)
    checks: list[CheckLine] = []
    breaches: list[Breach] = []
    for name, description, sql, detail in _CHECKS:
        rows = session.execute(text(sql), {"s": store_id}).all()
        checks.append(CheckLine(check=name, description=description, breaches=len(rows)))
        for r in rows[:1000]:
            breaches.append(Breach(check=name, entry_id=r[0], member_id=r[1], detail=detail.format(*r)))
    stats = session.execute(
        text("SELECT COUNT(*), COALESCE(SUM(CASE WHEN points > 0 THEN 1 ELSE 0 END), 0), COUNT(DISTINCT member_id) "
             "FROM ledger_entry WHERE store_id = :s"),
        {"s": store_id},
    ).one()
    open_points, pending = session.execute(
        text(f"""SELECT COALESCE(SUM(CASE WHEN l.expires_at IS NULL OR l.expires_at > :now
                                          THEN l.points - {_ALLOC_USED} ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN l.expires_at <= :now AND l.points > {_ALLOC_USED} THEN 1 ELSE 0 END), 0)
                 FROM ledger_entry l WHERE l.store_id = :s AND l.points > 0""").bindparams(
            bindparam("now", type_=UTCDateTime())
        ),
        {"s": store_id, "now": now},
    ).one()
    return CheckReport(
        store=store.slug, entries=int(stats[0]), lots=int(stats[1]), accounts=int(stats[2]),
        points_balance=int(open_points), pending_expiry_lots=int(pending), ok=not breaches,
        checks=checks, breaches=breaches,
    )


def raise_if_breached(report: CheckReport) -> None:
    if not report.ok:
        n = sum(c.breaches for c in report.checks)
        names = ", ".join(c.check for c in report.checks if c.breaches)
        raise CheckFailed(f"{n} ledger invariant breach{'es' if n != 1 else ''} in store '{report.store}' ({names})")
