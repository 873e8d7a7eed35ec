"""Members and staff signed in with LINE (the member and staff pages of `crm serve`).

A LINE userId (``sub`` of the LINE Login ID token) identifies a person on the pages:
``member.line_user_id`` links it to one points account of the store (set when they
register on the pages, or through a follower linked by `crm follower link`), and
``staff.line_user_id`` to one staff member (set when they accept an invite on the pages).

Everything a page changes goes through the services the commands use (``members.register``,
``points.claim_qr``, ``rewards.redeem``, ``stores.join_staff``, ``points.give_for_spend``,
``rewards.use_coupon``), so the rules and error messages are the CLI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_
from sqlmodel import col, select

from crm_cli.db.models import (
    Branch,
    LedgerEntry,
    LineFollower,
    Member,
    Redemption,
    Reward,
    Staff,
    Store,
    Tier,
)
from crm_cli.domain import member_fields as fields
from crm_cli.domain.errors import Conflict, NotFound, PermissionDenied
from crm_cli.domain.timeutil import bkk_date, start_of_bkk_day
from crm_cli.services import common


@dataclass(frozen=True)
class StaffRef:
    id: int
    name: str
    phone: str
    role: str
    branch: str
    branch_id: int


@dataclass(frozen=True)
class BranchEntry:
    at: datetime
    kind: str
    points: int
    spend: Decimal | None
    phone: str | None
    staff: str | None
    channel: str


# ---------------------------------------------------------------- who is signed in


def member_for_line(session, *, store_id: int, user_id: str) -> Member | None:
    """The store's member behind a LINE account: linked on the pages, or through the follower
    (`crm follower link`). Erased members are nobody."""
    m = session.exec(select(Member).where(Member.store_id == store_id, Member.line_user_id == user_id)).first()
    if m is None:
        f = session.exec(select(LineFollower).where(LineFollower.store_id == store_id,
                                                    LineFollower.user_id == user_id)).first()
        if f is not None and f.member_id is not None:
            m = session.get(Member, f.member_id)
    if m is None or m.erased_at is not None or m.phone is None:
        return None
    return m


def _link(session, *, store_id: int, member: Member, user_id: str, display_name: str | None, now: datetime) -> None:
    """Tie the LINE account to the member (and its follower row, created if LINE never told us of it)."""
    from crm_cli.services import followers

    if member.line_user_id and member.line_user_id != user_id:
        raise Conflict(f"{member.phone} is already linked to another LINE account: ask the shop's staff")
    other = session.exec(select(Member).where(Member.store_id == store_id, Member.line_user_id == user_id,
                                              Member.id != member.id)).first()
    if other is not None:
        raise Conflict("this LINE account is already linked to another member of this store")
    member.line_user_id = user_id
    if display_name and not member.line_display_name:
        member.line_display_name = fields.line_name(display_name)
    session.add(member)
    f, _ = followers.get_or_create(session, store_id=store_id, user_id=user_id, now=now, source="login")
    if f.member_id is not None and f.member_id != member.id:
        raise Conflict("this LINE account is already linked to another member of this store")
    f.member_id = member.id
    if display_name and not f.display_name:
        f.display_name = display_name[:200]
    session.add(f)
    session.flush()


@dataclass(frozen=True)
class SignUp:
    """What the registration page did: a new registration, or an imported member's confirmation."""

    kind: str  # registered | confirmed
    phone: str
    name: str
    terms_version: int
    merged_points: int
    welcome_points: int
    points: int
    tags: list[str]


def register_with_line(session, *, store_id: int, user_id: str, display_name: str | None, phone_raw: str, name: str,
                       accept_terms: bool, now: datetime, gender: str | None = None, birthday: str | None = None,
                       email: str | None = None, answers: list[str] | None = None,
                       actor: str | None = None) -> SignUp:
    """Register from the member page and link the LINE account.

    A phone-only account (points collected before) is registered as `crm member register`
    does (same service: merged points, welcome points once per phone). A member imported
    from a spreadsheet who never consented confirms: the details given replace the imported
    ones (blank optional fields keep them), consent to the current terms is recorded, the
    answers and their tags are added. A member who registered before (and consented) cannot
    be claimed by typing their phone: they ask the staff to link their LINE account.
    """
    from crm_cli.services import members

    e164 = common.phone(phone_raw)
    linked = member_for_line(session, store_id=store_id, user_id=user_id)
    if linked is not None and (linked.consent_terms_version is not None or linked.phone != e164):
        raise Conflict("this LINE account is already registered in this store")
    existing = common.find_member(session, store_id, e164)
    if existing is not None and existing.registered_at is not None and existing.erased_at is None \
            and existing.consent_terms_version is None:
        return _confirm_imported(session, store_id=store_id, member=existing, user_id=user_id, display_name=display_name,
                                 name=name, accept_terms=accept_terms, now=now, gender=gender, birthday=birthday,
                                 email=email, answers=answers)
    if existing is not None and existing.registered_at is not None:
        raise Conflict(f"{phone_raw} is already a registered member: ask the shop's staff to link your LINE account")
    reg = members.register(session, store_id=store_id, phone_raw=phone_raw, name=name, accept_terms=accept_terms, now=now,
                           gender=gender, birthday=birthday, email=email, line_name=display_name, answers=answers,
                           actor=actor)
    m = common.find_member(session, store_id, reg.phone)
    _link(session, store_id=store_id, member=m, user_id=user_id, display_name=display_name, now=now)
    return SignUp(kind="registered", phone=reg.phone, name=reg.name, terms_version=reg.terms_version,
                  merged_points=reg.merged_points, welcome_points=reg.welcome_points, points=reg.points, tags=reg.tags)


def _confirm_imported(session, *, store_id: int, member: Member, user_id: str, display_name: str | None, name: str,
                      accept_terms: bool, now: datetime, gender: str | None, birthday: str | None, email: str | None,
                      answers: list[str] | None) -> SignUp:
    from crm_cli.services import forms, ledger, members

    terms = forms.consented_terms(session, store_id, accept_terms=accept_terms)
    clean_name = fields.name(name)
    g = fields.gender(gender)
    bday = fields.birthday(birthday, today=bkk_date(now))
    mail = fields.email(email)
    checked = forms.check_answers(session, store_id=store_id, answers=answers or [])
    common.lock_member(session, member.id)
    session.refresh(member)
    member.name = clean_name
    if g is not None:
        member.gender = g
    if bday is not None:
        member.birthday = bday
    if mail is not None:
        member.email = mail
    members.record_consent(session, member, terms_version=terms.version, checked=checked, now=now)
    _link(session, store_id=store_id, member=member, user_id=user_id, display_name=display_name, now=now)
    pts = ledger.balance(session, member.id, now)
    return SignUp(kind="confirmed", phone=member.phone, name=clean_name, terms_version=terms.version, merged_points=pts,
                  welcome_points=0, points=pts, tags=members._tags(session, member.id))


# ---------------------------------------------------------------- the member card


@dataclass(frozen=True)
class Card:
    member_id: int
    phone: str
    name: str | None
    points: int
    tier: str | None
    tiers_enabled: bool
    next_tier: str | None
    next_tier_threshold: int | None
    earned_in_cycle: int
    progress_percent: int  # 0..100 toward the next tier
    points_to_next: int | None
    next_expiry_on: str | None
    next_expiry_points: int
    consented: bool


def card(session, *, store_id: int, member: Member, now: datetime) -> Card:
    from crm_cli.services import points, tiers

    store = session.get(Store, store_id)
    bal = points.balance(session, store_id=store_id, phone=member.phone, now=now)
    tier = tiers.current_tier(session, member.id)
    earned = 0
    nxt = None
    if store.tiers_enabled:
        earned = tiers.earned_in_window(session, store, member.id, now)
        floor = tier.threshold if tier else -1
        ladder = list(session.exec(select(Tier).where(col(Tier.store_id) == store_id).order_by(col(Tier.threshold))).all())
        nxt = next((t for t in ladder if t.threshold > floor), None)
    percent = 100
    to_next = None
    if nxt is not None:
        to_next = max(nxt.threshold - earned, 0)
        percent = min(100, int(earned * 100 // nxt.threshold)) if nxt.threshold > 0 else 100
    return Card(member_id=member.id, phone=member.phone, name=member.name, points=bal.balance,
                tier=tier.name if tier else None, tiers_enabled=store.tiers_enabled,
                next_tier=nxt.name if nxt else None, next_tier_threshold=nxt.threshold if nxt else None,
                earned_in_cycle=earned, progress_percent=percent, points_to_next=to_next,
                next_expiry_on=bal.next_expiry_on, next_expiry_points=bal.next_expiry_points,
                consented=member.consent_terms_version is not None)


@dataclass(frozen=True)
class RewardOffer:
    id: str
    name: str
    kind: str
    cost: int
    stock_left: int | None
    description: str | None
    valid_to: date | None
    min_tier: str | None
    discount: str | None
    affordable: bool


def rewards_for(session, *, store_id: int, member: Member, now: datetime) -> list[RewardOffer]:
    """The rewards a member can see: shown, in date, in stock, and allowed for their tier."""
    from crm_cli.services import ledger, rewards, tiers

    store = session.get(Store, store_id)
    held = tiers.current_tier(session, member.id)
    have = held.threshold if held is not None else None
    thresholds = {t.name: t.threshold for t in session.exec(select(Tier).where(Tier.store_id == store_id)).all()}
    bal = ledger.balance(session, member.id, now)
    out = []
    for r in rewards.list_rewards(session, store_id=store_id, now=now, include_hidden=False):
        if r.status != "available":
            continue
        if r.min_tier is not None:
            need = thresholds.get(r.min_tier)
            if not store.tiers_enabled or have is None or need is None or have < need:
                continue
        out.append(RewardOffer(id=r.id, name=r.name, kind=r.kind, cost=r.cost, stock_left=r.stock_left,
                               description=r.description, valid_to=r.valid_to, min_tier=r.min_tier,
                               discount=r.discount, affordable=bal >= r.cost))
    return out


def reward_for(session, *, store_id: int, member: Member, ref: str, now: datetime) -> RewardOffer:
    for r in rewards_for(session, store_id=store_id, member=member, now=now):
        if r.id.casefold() == ref.casefold():
            return r
    raise NotFound(f"reward '{ref}' is not available")


@dataclass(frozen=True)
class MemberCoupon:
    id: int
    reward: str
    kind: str
    status: str
    points: int
    code: str | None  # the in-store coupon code or the pool code
    expires_at: datetime | None
    valid_until: str | None  # Bangkok day
    address: str | None
    carrier: str | None
    tracking: str | None
    created_at: datetime
    used_at: datetime | None
    discount: str | None


def _coupon(session, red: Redemption) -> MemberCoupon:
    from crm_cli.services.rewards import discount_text

    r = session.get(Reward, red.reward_id)
    until = bkk_date(red.expires_at - timedelta(microseconds=1)).isoformat() if red.expires_at else None
    return MemberCoupon(id=red.id, reward=r.name, kind=red.kind, status=red.status, points=red.points,
                        code=red.coupon_code or red.pool_code, expires_at=red.expires_at, valid_until=until,
                        address=red.address, carrier=red.carrier, tracking=red.tracking, created_at=red.created_at,
                        used_at=red.used_at, discount=discount_text(r))


def coupons_of(session, *, store_id: int, member: Member) -> list[MemberCoupon]:
    rows = session.exec(select(Redemption).where(Redemption.store_id == store_id, Redemption.member_id == member.id)
                        .order_by(col(Redemption.created_at).desc(), col(Redemption.id).desc())).all()
    return [_coupon(session, red) for red in rows]


def coupon_of(session, *, store_id: int, member: Member, code: str) -> MemberCoupon:
    """One of the member's own coupons by its code; anyone else's is 'not found' (never shown)."""
    from crm_cli.services.rewards import normalize_coupon

    try:
        c = normalize_coupon(code)
    except Exception:  # noqa: BLE001 - a malformed code is simply not found
        c = code
    red = session.exec(select(Redemption).where(
        col(Redemption.store_id) == store_id, or_(col(Redemption.coupon_code) == c, col(Redemption.pool_code) == code))).first()
    if red is None or red.member_id != member.id:
        raise NotFound(f"coupon {c} not found among your coupons")
    return _coupon(session, red)


# ---------------------------------------------------------------- staff


def staff_for_line(session, *, store_id: int, user_id: str) -> StaffRef | None:
    s = session.exec(select(Staff).where(Staff.store_id == store_id, Staff.line_user_id == user_id)).first()
    if s is None:
        return None
    if not s.active:
        raise PermissionDenied(f"staff member {s.phone} is deactivated")
    b = session.get(Branch, s.branch_id)
    return StaffRef(id=s.id, name=s.name, phone=s.phone, role=s.role, branch=b.name, branch_id=b.id)


def _token_store(session, table, token_hash: str, unknown: str) -> int:
    """The live store a link's token belongs to; ``unknown`` when the token is not known or
    its store has been purged."""
    store_id = session.exec(select(table.store_id).join(Store, col(Store.id) == table.store_id)
                            .where(table.token_hash == token_hash, col(Store.purged_at).is_(None))).first()
    if store_id is None:
        raise NotFound(unknown)
    return store_id


def invite_store(session, *, token: str) -> int:
    """The store an invite token belongs to (the token itself is checked by `join_staff`)."""
    from crm_cli.db.models import StaffInvite

    return _token_store(session, StaffInvite, common.token_hash(token.strip()),
                        "invite token not recognised: ask the store admin for a new invite")


def qr_store(session, *, token: str) -> int:
    """The store a QR claim token belongs to (the claim itself is checked by `points.claim_qr`)."""
    from crm_cli.db.models import QrClaim

    return _token_store(session, QrClaim, common.token_hash(token.strip().lower()),
                        "QR code not recognised: check the code, or ask the staff for a new one")


def join_with_line(session, *, token: str, user_id: str, name: str, phone_raw: str, now: datetime):
    """`crm staff join` from the invite page, tied to the LINE account that opened it."""
    from crm_cli.services import stores

    store_id = invite_store(session, token=token)
    if session.exec(select(Staff.id).where(Staff.store_id == store_id, Staff.line_user_id == user_id)).first():
        raise Conflict("this LINE account is already staff in this store")
    sid, info = stores.join_staff(session, token=token, name=name, phone_raw=phone_raw, now=now)
    s = session.exec(select(Staff).where(Staff.store_id == sid, Staff.phone == info.phone)).one()
    s.line_user_id = user_id
    session.add(s)
    session.flush()
    return sid, info


def branches_for(session, *, store_id: int, staff: StaffRef) -> list[str]:
    """Where a staff member may act: their own branch; an admin, every open branch."""
    if staff.role != "admin":
        return [staff.branch]
    rows = session.exec(select(Branch.name).where(Branch.store_id == store_id, col(Branch.closed_at).is_(None))
                        .order_by(Branch.name)).all()
    return list(rows)


def branch_today(session, *, store_id: int, branch: str, now: datetime, limit: int = 100) -> list[BranchEntry]:
    """The branch's ledger entries since 00:00 Bangkok today, newest first (phones masked)."""
    from crm_cli.domain.redact import mask_phone

    b = common.get_branch(session, store_id, branch, open_only=False)
    since = start_of_bkk_day(bkk_date(now))
    q = (select(LedgerEntry, Member.phone, Staff.name)
         .join(Member, col(Member.id) == col(LedgerEntry.member_id))
         .join(Staff, col(Staff.id) == col(LedgerEntry.staff_id), isouter=True)
         .where(LedgerEntry.store_id == store_id, LedgerEntry.branch_id == b.id, LedgerEntry.created_at >= since)
         .order_by(col(LedgerEntry.created_at).desc(), col(LedgerEntry.id).desc()).limit(limit))
    return [BranchEntry(at=e.created_at, kind=e.kind, points=e.points, spend=e.spend,
                        phone=mask_phone(p) if p else None, staff=sn, channel=e.channel)
            for e, p, sn in session.exec(q).all()]


def member_phone(session, *, store_id: int, member_id: int) -> str:
    m = session.get(Member, member_id)
    if m is None or m.store_id != store_id or m.phone is None or m.erased_at is not None:
        raise NotFound("member QR not recognised in this store")
    return m.phone
