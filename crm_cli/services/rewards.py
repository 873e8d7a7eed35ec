"""Rewards (SPEC section 4): in-store coupons, deliveries, code pools; redeem, use, cancel.

Redeeming is one transaction that checks, in order: the reward is shown and inside its
dates, the member is registered, the member's tier reaches the reward's minimum tier,
the per-member limit, the stock, the balance. Concurrency:

* the member row is locked first (``common.lock_member``: a row lock on PostgreSQL;
  SQLite writers hold the database write lock from ``BEGIN IMMEDIATE``), so one member
  never spends the same points twice;
* stock is taken with one conditional ``UPDATE reward SET stock_left = stock_left - 1
  WHERE id = :id AND stock_left > 0``: when no row changes the reward is out of stock,
  so stock never goes below zero;
* points are taken with ``ledger.debit`` (soonest-expiring lots first, never below 0).

Lock order is always member, then reward (redeem, coupon cancel, delivery cancel).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import col, select

from crm_cli.db import dialect
from crm_cli.db.models import (
    Branch,
    LedgerEntry,
    LotAllocation,
    Member,
    Redemption,
    Reward,
    RewardCode,
    Staff,
    Store,
    Tier,
)
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound, OutOfStock
from crm_cli.domain.timeutil import bkk_date, end_of_bkk_day, parse_day

KINDS = ("in-store", "delivery", "code")
#: coupon alphabet without look-alikes (no 0/O, 1/I/L): easy to read out and type at a counter
COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
COUPON_LEN = 8
COUPON_DAYS = 30
DELIVERY_FLOW = {
    "pending": ("preparing", "cancelled"),
    "preparing": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}
DELIVERY_STATUSES = tuple(DELIVERY_FLOW)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class RewardInfo:
    id: str  # short id ("R3"), usable wherever a reward name is taken
    name: str
    kind: str
    cost: int
    stock_left: int | None  # None = unlimited
    stock_total: int | None
    redeemed: int
    display: str  # shown | hidden
    status: str  # available | scheduled | ended | out of stock | hidden
    per_member: int | None
    valid_from: date | None
    valid_to: date | None
    min_tier: str | None
    description: str | None
    position: int | None  # display order (None: listed after the positioned ones, by cost)
    discount: str | None  # printed on the coupon: "50.00 THB" or "10%"


@dataclass(frozen=True)
class CodesLoaded:
    reward: str
    added: int
    codes_left: int
    stock_left: int


@dataclass(frozen=True)
class Redeemed:
    redemption_id: int
    reward: str
    kind: str
    phone: str
    points: int
    balance: int
    status: str
    coupon_code: str | None
    expires_at: datetime | None
    pool_code: str | None
    delivery_id: int | None
    address: str | None
    stock_left: int | None
    discount: str | None = None
    duplicate: bool = False  # the --key was used before: this is the original redemption


@dataclass(frozen=True)
class CouponInfo:
    code: str
    reward: str
    phone: str | None
    status: str
    expires_at: datetime | None
    used_at: datetime | None
    branch: str | None
    staff: str | None
    points_returned: int
    balance: int | None
    discount: str | None = None


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    reward: str
    phone: str | None
    name: str | None
    address: str | None
    status: str
    carrier: str | None
    tracking: str | None
    points: int
    created_at: datetime
    updated_at: datetime
    points_returned: int = 0


# ---------------------------------------------------------------- helpers


def _clean_name(name: str) -> str:
    from crm_cli.services.common import clean_name

    return clean_name(name, what="reward name", limit=200)


_SHORT_ID = re.compile(r"^[Rr]?(\d{1,9})$")


def short_id(number: int) -> str:
    """The reward's id as shown and typed: R and its number within the store."""
    return f"R{number}"


def get_reward(session, store_id: int, name: str) -> Reward:
    """A reward by its name (exact, then ignoring case) or by its short id (``R3`` or ``3``).
    A name always wins: a reward called "3" is found by that name before reward R3."""
    q = select(Reward).where(Reward.store_id == store_id, Reward.name == " ".join(name.split()))
    row = session.exec(q).first()
    if row is None:
        row = session.exec(
            select(Reward).where(Reward.store_id == store_id, func.lower(Reward.name) == " ".join(name.split()).lower())
        ).first()
    if row is None:
        m = _SHORT_ID.match(name.strip())
        if m:
            row = session.exec(select(Reward).where(Reward.store_id == store_id, Reward.number == int(m.group(1)))).first()
    if row is None:
        raise NotFound(f"reward '{name}' not found: see `crm reward list` (a reward is named by its name or its id, e.g. R3)")
    return row


#: largest discount amount a coupon may show (THB)
MAX_DISCOUNT = Decimal("1000000")


def parse_discount(raw: str) -> tuple[Decimal | None, Decimal | None]:
    """``--discount``: an amount in THB (``50``, ``49.50``, ``50 THB``) or a percentage
    (``10%``, ``12.5%``). Returns (amount, percent), one of them set; 'none' or '' clears both."""
    text = " ".join((raw or "").split())
    if text.lower() in ("", "none"):
        return None, None
    percent = text.endswith("%")
    number = text[:-1].strip() if percent else re.sub(r"\s*(THB|thb|บาท|฿)$", "", text).lstrip("฿").strip()
    try:
        value = Decimal(number)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value.as_tuple().exponent < -2:
        raise InvalidInput(f"invalid discount '{raw}': use an amount in THB (e.g. 50 or 49.50) or a percentage (e.g. 10%)")
    value = value.quantize(Decimal("0.01"))
    if percent:
        if not Decimal("0") < value <= Decimal("100"):
            raise InvalidInput(f"invalid discount '{raw}': a percentage is more than 0% and at most 100%")
        return None, value
    if not Decimal("0") < value <= MAX_DISCOUNT:
        raise InvalidInput(f"invalid discount '{raw}': an amount is more than 0 and at most {MAX_DISCOUNT:,} THB")
    return value, None


def discount_text(r: Reward) -> str | None:
    if r.discount_amount is not None:
        return f"{r.discount_amount:.2f} THB"
    if r.discount_percent is not None:
        pct = r.discount_percent.normalize()
        return f"{pct:f}%"
    return None


def _position(raw: int | None) -> int:
    if raw is None:
        return 0
    if not 0 <= raw <= 1_000_000:
        raise InvalidInput(f"--position must be between 1 and 1000000 (0 clears it), got {raw}")
    return raw


def _tier_by_name(session, store_id: int, name: str) -> Tier:
    from crm_cli.services.tiers import get_tier

    return get_tier(session, store_id, name)


def _opt_day(raw: str | None) -> date | None:
    if raw is None or raw.strip().lower() in ("", "none"):
        return None
    return parse_day(raw)


def _check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInput(f"--to {valid_to} is before --from {valid_from}")


def _redeemed_counts(session, store_id: int) -> dict[int, int]:
    return dict(
        session.exec(
            select(Redemption.reward_id, func.count())
            .where(Redemption.store_id == store_id, Redemption.status != "cancelled")
            .group_by(col(Redemption.reward_id))
        ).all()
    )


def _status(r: Reward, today: date) -> str:
    if r.hidden:
        return "hidden"
    if r.valid_from and today < r.valid_from:
        return "scheduled"
    if r.valid_to and today > r.valid_to:
        return "ended"
    if r.stock_left is not None and r.stock_left <= 0:
        return "out of stock"
    return "available"


def _info(session, r: Reward, *, now: datetime, redeemed: int | None = None) -> RewardInfo:
    if redeemed is None:
        redeemed = _redeemed_counts(session, r.store_id).get(r.id, 0)
    tier = session.get(Tier, r.min_tier_id) if r.min_tier_id else None
    return RewardInfo(
        id=short_id(r.number), name=r.name, kind=r.kind, cost=r.cost, stock_left=r.stock_left, stock_total=r.stock_total,
        redeemed=int(redeemed), display="hidden" if r.hidden else "shown", status=_status(r, bkk_date(now)),
        per_member=r.per_member, valid_from=r.valid_from, valid_to=r.valid_to,
        min_tier=tier.name if tier else None, description=r.description,
        position=r.position or None, discount=discount_text(r),
    )


# ---------------------------------------------------------------- catalogue


def create_reward(
    session, *, store_id: int, name: str, kind: str, cost: int, stock: int | None, per_member: int | None,
    valid_from: str | None, valid_to: str | None, min_tier: str | None, hidden: bool, description: str | None,
    now: datetime, position: int | None = None, discount: str | None = None,
) -> RewardInfo:
    name = _clean_name(name)
    pos = _position(position)
    amount, percent = parse_discount(discount) if discount is not None else (None, None)
    if kind not in KINDS:
        raise InvalidInput(f"unknown reward kind '{kind}': use one of {', '.join(KINDS)}")
    if cost < 1:
        raise InvalidInput(f"cost must be at least 1 point, got {cost}")
    if stock is not None and stock < 0:
        raise InvalidInput(f"stock must be 0 or more, got {stock}")
    if kind == "code" and stock is not None:
        raise InvalidInput("a code reward's stock is its pool of unused codes: load them with `crm reward codes NAME FILE`")
    if per_member is not None and per_member < 1:
        raise InvalidInput(f"--per-member must be at least 1, got {per_member}")
    vf, vt = _opt_day(valid_from), _opt_day(valid_to)
    _check_dates(vf, vt)
    # creations in one store wait for each other: the same name twice is one clear refusal,
    # and two rewards at once take different numbers
    dialect.lock_row(session, "store", store_id, keys_too=False)
    if session.exec(select(Reward).where(Reward.store_id == store_id, func.lower(Reward.name) == name.lower())).first():
        raise Conflict(f"reward '{name}' already exists: change it with `crm reward edit`")
    tier_id = _tier_by_name(session, store_id, min_tier).id if min_tier else None
    if kind == "code":
        stock = 0
    number = session.exec(select(func.coalesce(func.max(Reward.number), 0)).where(Reward.store_id == store_id)).one() + 1
    r = Reward(
        store_id=store_id, name=name, kind=kind, description=description, cost=cost, stock_total=stock,
        stock_left=stock, per_member=per_member, valid_from=vf, valid_to=vt, min_tier_id=tier_id, hidden=hidden,
        created_at=now, position=pos, discount_amount=amount, discount_percent=percent, number=number,
    )
    session.add(r)
    session.flush()
    return _info(session, r, now=now, redeemed=0)


def list_rewards(session, *, store_id: int, now: datetime, include_hidden: bool = True) -> list[RewardInfo]:
    counts = _redeemed_counts(session, store_id)
    from sqlalchemy import case

    # positioned rewards first (1, 2, ...), then the others by cost
    q = select(Reward).where(Reward.store_id == store_id).order_by(
        case((col(Reward.position) > 0, 0), else_=1), col(Reward.position), col(Reward.cost), col(Reward.name))
    if not include_hidden:
        q = q.where(col(Reward.hidden).is_(False))
    return [_info(session, r, now=now, redeemed=counts.get(r.id, 0)) for r in session.exec(q).all()]


def show_reward(session, *, store_id: int, name: str, now: datetime) -> RewardInfo:
    return _info(session, get_reward(session, store_id, name), now=now)


def edit_reward(
    session, *, store_id: int, name: str, now: datetime, new_name: str | None = None, cost: int | None = None,
    stock: str | None = None, per_member: str | None = None, valid_from: str | None = None,
    valid_to: str | None = None, min_tier: str | None = None, description: str | None = None,
    hidden: bool | None = None, position: int | None = None, discount: str | None = None,
) -> RewardInfo:
    """Change a reward. ``stock``, ``per_member``, ``min_tier``, dates accept 'none' to clear
    (stock 'none' = unlimited); ``stock`` N sets the units left now."""
    r = get_reward(session, store_id, name)
    if new_name is not None:
        nn = _clean_name(new_name)
        other = session.exec(select(Reward).where(Reward.store_id == store_id, func.lower(Reward.name) == nn.lower())).first()
        if other is not None and other.id != r.id:
            raise Conflict(f"reward '{nn}' already exists")
        r.name = nn
    if cost is not None:
        if cost < 1:
            raise InvalidInput(f"cost must be at least 1 point, got {cost}")
        r.cost = cost
    if stock is not None:
        if r.kind == "code":
            raise InvalidInput("a code reward's stock is its pool of unused codes: load more with `crm reward codes`")
        active = _redeemed_counts(session, store_id).get(r.id, 0)
        if stock.strip().lower() in ("none", "unlimited"):
            r.stock_left = r.stock_total = None
        else:
            n = _int(stock, "--stock")
            if n < 0:
                raise InvalidInput(f"stock must be 0 or more, got {n}")
            r.stock_left, r.stock_total = n, n + active
    if per_member is not None:
        if per_member.strip().lower() in ("none", "unlimited"):
            r.per_member = None
        else:
            n = _int(per_member, "--per-member")
            if n < 1:
                raise InvalidInput(f"--per-member must be at least 1, got {n}")
            r.per_member = n
    if valid_from is not None:
        r.valid_from = _opt_day(valid_from)
    if valid_to is not None:
        r.valid_to = _opt_day(valid_to)
    _check_dates(r.valid_from, r.valid_to)
    if min_tier is not None:
        r.min_tier_id = None if min_tier.strip().lower() in ("", "none") else _tier_by_name(session, store_id, min_tier).id
    if description is not None:
        r.description = description or None
    if hidden is not None:
        r.hidden = hidden
    if position is not None:
        r.position = _position(position)
    if discount is not None:
        r.discount_amount, r.discount_percent = parse_discount(discount)
    session.add(r)
    session.flush()
    return _info(session, r, now=now)


def _int(raw: str, opt: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidInput(f"{opt} must be a whole number or 'none', got '{raw}'") from None


# ---------------------------------------------------------------- code pools


def load_codes(session, *, store_id: int, name: str, path: Path) -> CodesLoaded:
    r = get_reward(session, store_id, name)
    if r.kind != "code":
        raise InvalidInput(f"reward '{r.name}' is a {r.kind} reward; code pools are for kind 'code'")
    from crm_cli.fileio.codes import read_codes

    codes = read_codes(path)
    if not codes:
        raise InvalidInput(f"{path} holds no codes")
    seen: set[str] = set()
    dups = []
    for c in codes:
        if c in seen:
            dups.append(c)
        seen.add(c)
    if dups:
        raise InvalidInput(f"{len(dups)} duplicate code(s) in {path.name}, e.g. {', '.join(sorted(set(dups))[:3])}; nothing loaded")
    existing = set()
    chunk = 500
    for i in range(0, len(codes), chunk):
        part = codes[i:i + chunk]
        existing.update(session.exec(select(RewardCode.code).where(RewardCode.reward_id == r.id, col(RewardCode.code).in_(part))).all())
    if existing:
        ex = sorted(existing)
        raise Conflict(f"{len(ex)} code(s) are already in the pool of '{r.name}', e.g. {', '.join(ex[:3])}; nothing loaded")
    session.execute(RewardCode.__table__.insert(), [{"reward_id": r.id, "code": c} for c in codes])
    session.execute(
        update(Reward).where(col(Reward.id) == r.id).values(
            stock_left=func.coalesce(Reward.stock_left, 0) + len(codes),
            stock_total=func.coalesce(Reward.stock_total, 0) + len(codes),
        )
    )
    session.flush()
    session.refresh(r)
    left = session.exec(select(func.count()).select_from(RewardCode).where(RewardCode.reward_id == r.id, col(RewardCode.redemption_id).is_(None))).one()
    return CodesLoaded(reward=r.name, added=len(codes), codes_left=int(left), stock_left=int(r.stock_left or 0))


# ---------------------------------------------------------------- redeem


def new_coupon_code() -> str:
    return "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LEN))


def normalize_coupon(raw: str) -> str:
    code = re.sub(r"[\s-]", "", raw).upper()
    if not code:
        raise InvalidInput("coupon code must not be empty")
    return code


def _coupon_expiry(r: Reward, now: datetime) -> datetime:
    """End of the reward's last day or 30 days after issue (end of that Bangkok day), whichever is first."""
    limit = end_of_bkk_day(bkk_date(now) + timedelta(days=COUPON_DAYS))
    if r.valid_to is not None:
        return min(limit, end_of_bkk_day(r.valid_to))
    return limit


def _take_stock(session, r: Reward) -> None:
    if r.stock_left is None and r.kind != "code":
        return
    res = session.execute(
        update(Reward).where(col(Reward.id) == r.id, col(Reward.stock_left) > 0).values(stock_left=col(Reward.stock_left) - 1)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise OutOfStock(f"reward '{r.name}' is out of stock")


def _return_stock(session, reward_id: int) -> None:
    session.execute(
        update(Reward).where(col(Reward.id) == reward_id, col(Reward.stock_left).is_not(None))
        .values(stock_left=col(Reward.stock_left) + 1).execution_options(synchronize_session=False)
    )


def redeem(
    session, *, store_id: int, name: str, phone_raw: str, address: str | None, now: datetime,
    branch: str | None = None, staff: str | None = None, actor: str | None = None, key: str | None = None,
) -> Redeemed:
    """Redeem one unit of reward ``name`` for the member. With ``key`` (e.g. the request's
    receipt number) the same key redeems once: used again for the same reward and phone it
    returns the original redemption (``duplicate``); for another reward or phone it is refused."""
    from crm_cli.services import common, ledger

    branch_id, staff_id = common.resolve_actor(session, store_id, branch=branch, staff=staff)
    r = get_reward(session, store_id, name)
    fp = None
    if key is not None:
        key = key.strip()
        if not key or len(key) > 200:
            raise InvalidInput("--key must be 1 to 200 characters")
        p = common.phone(phone_raw)
        fp = ledger.fingerprint("redeem", r.id, p)
        account = common.find_member(session, store_id, p)
        if account is not None:  # serialize with a concurrent use of the same key for this member
            common.lock_member(session, account.id)
        prior = session.exec(select(Redemption).where(Redemption.store_id == store_id, Redemption.idem_key == key)).first()
        if prior is not None:
            if prior.fingerprint != fp:
                raise Conflict(f"key '{key}' was already used for another redemption (#{prior.id}): use a new key")
            return _redeemed(session, prior, now=now, duplicate=True)
    today = bkk_date(now)
    if r.hidden:
        raise Conflict(f"reward '{r.name}' is hidden: show it with `crm reward unhide` first")
    if r.valid_from and today < r.valid_from:
        raise Conflict(f"reward '{r.name}' opens on {r.valid_from}")
    if r.valid_to and today > r.valid_to:
        raise Conflict(f"reward '{r.name}' ended on {r.valid_to}")
    m = common.get_member(session, store_id, phone_raw)
    if m.erased_at is not None:
        raise NotFound(f"no member or points account for {phone_raw} in this store")
    if m.registered_at is None:
        raise Conflict(
            f"{m.phone} is a phone-only points account: the customer must register "
            f"(`crm member register`) before redeeming rewards"
        )
    common.lock_member(session, m.id)
    session.refresh(m)
    store = session.get(Store, store_id)
    if r.min_tier_id is not None:
        need = session.get(Tier, r.min_tier_id)
        if not store.tiers_enabled:
            raise Conflict(f"reward '{r.name}' is for tier {need.name} and up, but tiers are switched off in this store")
        from crm_cli.services.tiers import current_tier

        held = current_tier(session, m.id)
        if held is None or held.threshold < need.threshold:
            cur = held.name if held is not None else "no tier"
            raise Conflict(f"reward '{r.name}' is for tier {need.name} and up; {m.phone} is {cur}")
    if r.per_member is not None:
        used = session.exec(
            select(func.count()).select_from(Redemption).where(
                Redemption.reward_id == r.id, Redemption.member_id == m.id, Redemption.status != "cancelled")
        ).one()
        if used >= r.per_member:
            raise Conflict(f"{m.phone} has already redeemed '{r.name}' {used} time(s): the limit is {r.per_member} per member")
    delivery_address = None
    if r.kind == "delivery":
        delivery_address = (address or "").strip() or m.address
        if not delivery_address:
            raise InvalidInput(f"'{r.name}' is delivered: pass --address (the member has no address on file)")
    _take_stock(session, r)
    posted = ledger.debit(
        session, store_id=store_id, member_id=m.id, kind="redeem", points=r.cost, now=now, channel="reward",
        branch_id=branch_id, staff_id=staff_id, reason=f"redeemed '{r.name}'", actor=actor,
    )
    red = Redemption(
        store_id=store_id, reward_id=r.id, member_id=m.id, entry_id=posted.entry_id, kind=r.kind, points=r.cost,
        status={"in-store": "issued", "delivery": "pending", "code": "issued"}[r.kind],
        address=delivery_address, created_at=now, updated_at=now, idem_key=key, fingerprint=fp,
    )
    if r.kind == "in-store":
        red.expires_at = _coupon_expiry(r, now)
        for _ in range(20):
            code = new_coupon_code()
            if session.exec(select(Redemption.id).where(Redemption.store_id == store_id, Redemption.coupon_code == code)).first() is None:
                break
        red.coupon_code = code
    session.add(red)
    session.flush()
    if r.kind == "code":
        q = select(RewardCode).where(col(RewardCode.reward_id) == r.id, col(RewardCode.redemption_id).is_(None)).order_by(col(RewardCode.id)).limit(1)
        q = dialect.skip_locked(q, session)
        rc = session.exec(q).first()
        if rc is None:  # stock said yes but the pool is empty: keep them consistent
            raise OutOfStock(f"reward '{r.name}' is out of stock (no unused codes left)")
        rc.redemption_id = red.id
        red.pool_code = rc.code
        session.add_all([rc, red])
        session.flush()
    return _redeemed(session, red, now=now)


def _redeemed(session, red: Redemption, *, now: datetime, duplicate: bool = False) -> Redeemed:
    from crm_cli.services import ledger

    r = session.get(Reward, red.reward_id)
    m = session.get(Member, red.member_id)
    left = session.execute(select(Reward.stock_left).where(Reward.id == r.id)).scalar_one()
    return Redeemed(
        redemption_id=red.id, reward=r.name, kind=red.kind, phone=m.phone, points=red.points,
        balance=ledger.balance(session, m.id, now), status=red.status, coupon_code=red.coupon_code,
        expires_at=red.expires_at, pool_code=red.pool_code, delivery_id=red.id if red.kind == "delivery" else None,
        address=red.address, stock_left=left, discount=discount_text(r), duplicate=duplicate,
    )


def _refund(session, red: Redemption, *, reason: str, now: datetime, actor: str | None) -> int:
    """Return a redemption's points (refund lot) and its unit of stock. Caller holds the member lock."""
    from crm_cli.services import ledger

    store = session.get(Store, red.store_id)
    # the returned points keep the expiry of the lots they were taken from (latest of them;
    # never if any never expired); when that moment has passed, the store's policy applies from now
    exps = session.execute(
        select(LedgerEntry.expires_at).join(LotAllocation, col(LotAllocation.lot_entry_id) == col(LedgerEntry.id))
        .where(LotAllocation.debit_entry_id == red.entry_id)
    ).scalars().all()
    if not exps or any(e is None for e in exps):
        exp = None
    else:
        exp = max(exps)
        if exp <= now:
            exp = "policy"
    posted = ledger.credit(
        session, store=store, member_id=red.member_id, kind="refund", points=red.points, now=now, channel="reward",
        reason=reason, idem=("refund", f"redemption:{red.id}"), expires_at=exp, actor=actor,
    )
    _return_stock(session, red.reward_id)
    return 0 if posted.duplicate else red.points


# ---------------------------------------------------------------- coupons


def _coupon(session, store_id: int, raw: str) -> Redemption:
    code = normalize_coupon(raw)
    red = session.exec(select(Redemption).where(Redemption.store_id == store_id, Redemption.coupon_code == code)).first()
    if red is None:
        elsewhere = session.exec(select(Redemption.id).where(Redemption.store_id != store_id, Redemption.coupon_code == code)).first()
        if elsewhere is not None:
            raise Conflict(f"coupon {code} was issued by another store and cannot be used here")
        raise NotFound(f"coupon {code} not found in this store: check the code")
    return red


def _coupon_info(session, red: Redemption, *, returned: int = 0, balance: int | None = None) -> CouponInfo:
    reward = session.get(Reward, red.reward_id)
    m = session.get(Member, red.member_id)
    b = session.get(Branch, red.used_branch_id) if red.used_branch_id else None
    s = session.get(Staff, red.used_staff_id) if red.used_staff_id else None
    return CouponInfo(code=red.coupon_code, reward=reward.name, phone=m.phone, status=red.status,
                      expires_at=red.expires_at, used_at=red.used_at, branch=b.name if b else None,
                      staff=s.name if s else None, points_returned=returned, balance=balance,
                      discount=discount_text(reward))


def use_coupon(session, *, store_id: int, code: str, now: datetime, staff: str | None = None,
               branch: str | None = None) -> CouponInfo:
    """Mark an in-store coupon used at the counter (any branch of the store)."""
    from crm_cli.services import common

    branch_id, staff_id = common.resolve_actor(session, store_id, branch=branch, staff=staff)
    red = _coupon(session, store_id, code)
    _check_usable(session, red, now)
    res = session.execute(
        update(Redemption).where(col(Redemption.id) == red.id, col(Redemption.status) == "issued").values(
            status="used", used_at=now, used_branch_id=branch_id, used_staff_id=staff_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        session.refresh(red)
        _check_usable(session, red, now)
        raise Conflict(f"coupon {red.coupon_code} was just used or cancelled")  # pragma: no cover
    session.refresh(red)
    return _coupon_info(session, red)


def _check_usable(session, red: Redemption, now: datetime) -> None:
    if red.status == "used":
        b = session.get(Branch, red.used_branch_id) if red.used_branch_id else None
        where = f" at {b.name}" if b else ""
        from crm_cli.domain.timeutil import BKK

        raise Conflict(
            f"coupon {red.coupon_code} was already used on {red.used_at.astimezone(BKK):%Y-%m-%d %H:%M} (Bangkok){where}"
        )
    if red.status == "cancelled":
        raise Conflict(f"coupon {red.coupon_code} was cancelled")
    if red.expires_at is not None and now >= red.expires_at:
        raise Conflict(f"coupon {red.coupon_code} expired on {bkk_date(red.expires_at - timedelta(microseconds=1))}")


def cancel_coupon(session, *, store_id: int, code: str, now: datetime, actor: str | None = None) -> CouponInfo:
    """Cancel an unused in-store coupon: the points come back (refund entry) and so does the stock."""
    from crm_cli.services import common, ledger

    red = _coupon(session, store_id, code)
    common.lock_member(session, red.member_id)
    session.refresh(red)
    if red.status != "issued":
        raise Conflict(f"coupon {red.coupon_code} is {red.status}: only an unused coupon can be cancelled")
    res = session.execute(
        update(Redemption).where(col(Redemption.id) == red.id, col(Redemption.status) == "issued")
        .values(status="cancelled", updated_at=now).execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # pragma: no cover - guarded by the member lock
        raise Conflict(f"coupon {red.coupon_code} changed meanwhile; try again")
    returned = _refund(session, red, reason=f"cancelled coupon {red.coupon_code}", now=now, actor=actor)
    session.refresh(red)
    return _coupon_info(session, red, returned=returned, balance=ledger.balance(session, red.member_id, now))


# ---------------------------------------------------------------- deliveries


def _delivery_rows(session, store_id: int, *, status: str | None = None, ids: list[int] | None = None) -> list[DeliveryInfo]:
    q = (
        select(Redemption, Reward.name, Member.phone, Member.name)
        .join(Reward, col(Reward.id) == col(Redemption.reward_id))
        .join(Member, col(Member.id) == col(Redemption.member_id))
        .where(Redemption.store_id == store_id, Redemption.kind == "delivery")
        .order_by(col(Redemption.id))
        .execution_options(populate_existing=True)
    )
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(f"unknown delivery status '{status}': use one of {', '.join(DELIVERY_STATUSES)}")
        q = q.where(Redemption.status == status)
    if ids is not None:
        q = q.where(col(Redemption.id).in_(ids))
    return [
        DeliveryInfo(id=red.id, reward=rname, phone=phone_, name=mname, address=red.address, status=red.status,
                     carrier=red.carrier, tracking=red.tracking, points=red.points, created_at=red.created_at,
                     updated_at=red.updated_at)
        for red, rname, phone_, mname in session.exec(q).all()
    ]


def list_deliveries(session, *, store_id: int, status: str | None = None) -> list[DeliveryInfo]:
    return _delivery_rows(session, store_id, status=status)


def update_delivery(
    session, *, store_id: int, delivery_id: int, status: str, now: datetime, carrier: str | None = None,
    tracking: str | None = None, staff: str | None = None, actor: str | None = None,
) -> DeliveryInfo:
    """Move a delivery along pending → preparing → shipped → delivered, or cancel it
    (from pending or preparing: the points and the stock come back)."""
    from crm_cli.services import common

    if staff is not None:
        common.resolve_actor(session, store_id, branch=None, staff=staff)
    if status not in DELIVERY_STATUSES:
        raise InvalidInput(f"unknown delivery status '{status}': use one of {', '.join(DELIVERY_STATUSES)}")
    red = session.exec(
        select(Redemption).where(Redemption.id == delivery_id, Redemption.store_id == store_id, Redemption.kind == "delivery")
    ).first()
    if red is None:
        raise NotFound(f"delivery {delivery_id} not found in this store: see `crm delivery list`")
    common.lock_member(session, red.member_id)
    session.refresh(red)
    if status not in DELIVERY_FLOW[red.status]:
        allowed = ", ".join(DELIVERY_FLOW[red.status]) or "nothing (final)"
        raise Conflict(f"delivery {red.id} is {red.status}: it can move to {allowed}, not {status}")
    values: dict = {"status": status, "updated_at": now}
    if status == "shipped":
        if not (carrier and carrier.strip()) or not (tracking and tracking.strip()):
            raise InvalidInput("shipping needs --carrier and --tracking")
        values.update(carrier=carrier.strip(), tracking=tracking.strip())
    elif carrier or tracking:
        raise InvalidInput("--carrier and --tracking go with --status shipped")
    res = session.execute(
        update(Redemption).where(Redemption.id == red.id, Redemption.status == red.status).values(**values)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # pragma: no cover - guarded by the member lock
        raise Conflict(f"delivery {red.id} changed meanwhile; try again")
    returned = 0
    if status == "cancelled":
        returned = _refund(session, red, reason=f"cancelled delivery #{red.id}", now=now, actor=actor)
    session.flush()
    info = _delivery_rows(session, store_id, ids=[red.id])[0]
    return DeliveryInfo(**{**info.__dict__, "points_returned": returned})


EXPORT_COLUMNS = ["id", "redeemed_at_bangkok", "reward", "name", "phone", "address", "status", "carrier", "tracking"]


def export_deliveries(session, *, store_id: int, out: Path, status: str | None = None) -> int:
    """Write deliveries to an .xlsx for the shipping team; returns the number of rows."""
    if out.suffix.lower() != ".xlsx":
        raise InvalidInput(f"delivery export writes .xlsx files, got '{out.name}'")
    rows = _delivery_rows(session, store_id, status=status)
    from crm_cli.domain.timeutil import BKK

    data = [
        [d.id, d.created_at.astimezone(BKK).strftime("%Y-%m-%d %H:%M"), d.reward, d.name, d.phone, d.address, d.status,
         d.carrier, d.tracking]
        for d in rows
    ]
    try:
        from crm_cli.fileio.spreadsheet import write_table  # the shared streaming writer
    except ImportError:  # pragma: no cover - older tree
        write_table = None
    if write_table is not None:
        write_table(out, EXPORT_COLUMNS, data, {"id": "int"}, sheet="deliveries")
    else:  # pragma: no cover
        _write_xlsx(out, EXPORT_COLUMNS, data)
    return len(data)


def _write_xlsx(path: Path, columns: list[str], rows: list[list], types: list[str] | None = None) -> None:
    """A small streaming .xlsx writer (openpyxl write-only mode)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("deliveries")
    ws.append(columns)
    for r in rows:
        ws.append(r)
    tmp = path.with_name(path.name + ".tmp")
    try:
        wb.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None
