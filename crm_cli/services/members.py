"""Members: registration (consent, answers, tags, welcome points), profiles, lists, tags, notes, erasure.

A member is the points account of one phone in one store. Points collected before
registering live on the same row (a phone-only account, ``registered_at`` NULL), so
registering "merges" them simply by filling in the profile of that row.

Erasure (PDPA) wipes every personal field, tags, answers and delivery addresses, sets
``phone`` to NULL and gives the row an anonymous id (``anon-<hex>``); ledger entries stay
for accounting. Welcome points stay "given" for that phone (``welcome_grant`` keeps
only a hash), so a re-registration after erasure gets no second welcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import delete, exists, extract, func, or_, update
from sqlmodel import col, select

from crm_cli.db.models import (
    Branch,
    FormQuestion,
    LedgerEntry,
    LotAllocation,
    Member,
    MemberAnswer,
    MemberTag,
    MemberTier,
    Redemption,
    Store,
    Tier,
)
from crm_cli.domain import member_fields as fields
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.domain.redact import new_anon_id
from crm_cli.domain.timeutil import bkk_date, start_of_bkk_day
from crm_cli.services import common


@dataclass(frozen=True)
class Answer:
    """A registration-form answer as `member show` lists it (several choices joined)."""

    question: str
    value: str


# ---------------------------------------------------------------- field parsing
# The rules live in crm_cli.domain.member_fields (shared with the import and the web forms).


class Profile(TypedDict, total=False):
    """The optional profile fields, as typed, that registration takes and `crm member edit` changes."""

    gender: str | None
    birthday: str | None
    email: str | None
    address: str | None
    line_name: str | None


# Each profile field (the name and those of Profile): its Member column and its check, in the
# order they are checked (the first bad value is the one reported).
_PROFILE_FIELDS: dict[str, tuple[str, Callable[[Any, date], object]]] = {
    "name": ("name", lambda v, today: fields.name(v)),
    "gender": ("gender", lambda v, today: fields.gender(v)),
    "birthday": ("birthday", lambda v, today: fields.birthday(v, today=today)),
    "email": ("email", lambda v, today: fields.email(v)),
    "address": ("address", lambda v, today: fields.address(v)),
    "line_name": ("line_display_name", lambda v, today: fields.line_name(v)),
}


def _checked_profile(given: Mapping[str, object], *, now: datetime) -> dict[str, object]:
    """The ``given`` profile values checked, keyed by their Member column; a field not given
    is left out."""
    unknown = set(given) - set(_PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected profile field(s): {', '.join(sorted(unknown))}")
    today = bkk_date(now)
    return {column: check(given[f], today) for f, (column, check) in _PROFILE_FIELDS.items() if f in given}


def mask_phone(e164: str | None) -> str:
    """For audit summaries: +66812345678 -> +6681***5678 (the log outlives an erasure)."""
    from crm_cli.domain.redact import mask_phone as _mask

    return _mask(e164)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class MemberDetail:
    phone: str | None
    anon_id: str | None
    status: str  # registered | phone-only | erased
    name: str | None
    gender: str | None
    birthday: date | None
    email: str | None
    address: str | None
    line_name: str | None
    tier: str | None
    points: int
    tags: list[str]
    notes: str | None
    answers: list[Answer]
    source: str
    registered_at: datetime | None
    registered_branch: str | None
    consent_terms_version: int | None
    consent_at: datetime | None
    created_at: datetime
    last_activity_at: datetime | None


@dataclass(frozen=True)
class Registration:
    phone: str
    name: str
    status: str
    terms_version: int
    consent_at: datetime
    tags: list[str]
    answers: int  # questions answered (a multi-choice answer counts once)
    merged_points: int  # collected as a phone-only account before registering
    welcome_points: int
    points: int
    tier: str | None


@dataclass(frozen=True)
class MemberListRow:
    phone: str | None
    name: str | None
    status: str
    tier: str | None
    points: int
    tags: list[str]
    birthday: date | None
    registered_at: datetime | None
    last_activity_at: datetime | None


@dataclass(frozen=True)
class TagChange:
    phone: str
    tags: list[str]
    changed: list[str]


@dataclass(frozen=True)
class NoteResult:
    phone: str
    notes: str


@dataclass(frozen=True)
class Erasure:
    anon_id: str
    points_kept: int
    ledger_entries_kept: int
    tags_removed: int
    answers_removed: int
    erased_at: datetime


def status_of(m: Member) -> str:
    if m.erased_at is not None:
        return "erased"
    return "registered" if m.registered_at is not None else "phone-only"


# ---------------------------------------------------------------- registration


def record_consent(session, m: Member, *, terms_version: int, checked, now: datetime) -> None:
    """Consent to the terms version, the form's answers, and the tags their choices attach
    (active tags): the one way a sign-up is recorded, from the CLI and from the member pages."""
    m.consent_terms_version = terms_version
    m.consent_at = now
    m.last_activity_at = now
    session.add(m)
    tags: list[str] = []
    for a in checked:
        for v in a.values:
            session.add(MemberAnswer(member_id=m.id, question_id=a.question_id, value=v, created_at=now))
        for t in a.tags:
            if t not in tags:
                tags.append(t)
    session.flush()
    _add_tags(session, m.id, tags, kind="active")


def register(
    session,
    *,
    store_id: int,
    phone_raw: str,
    name: str,
    accept_terms: bool,
    now: datetime,
    answers: list[str] | None = None,
    branch: str | None = None,
    actor: str | None = None,
    **profile: Unpack[Profile],
) -> Registration:
    from crm_cli.services import forms, ledger

    e164 = common.phone(phone_raw)
    terms = forms.consented_terms(session, store_id, accept_terms=accept_terms)
    given: dict[str, object] = {**dict.fromkeys(_PROFILE_FIELDS), **profile, "name": name}
    columns = _checked_profile(given, now=now)
    checked = forms.check_answers(session, store_id=store_id, answers=answers or [])
    branch_id = common.get_branch(session, store_id, branch).id if branch else None

    m = common.get_or_create_account(session, store_id, e164, now=now)
    common.lock_member(session, m.id)
    session.refresh(m)
    if m.registered_at is not None:
        raise Conflict(f"{phone_raw} is already a registered member: see `crm member show {phone_raw}`")
    merged = ledger.balance(session, m.id, now)
    m.registered_at = now
    for column, value in columns.items():
        setattr(m, column, value)
    m.source = "form"
    m.registered_branch_id = branch_id
    record_consent(session, m, terms_version=terms.version, checked=checked, now=now)
    welcome = _give_welcome(session, store_id=store_id, member_id=m.id, phone=e164, now=now, actor=actor)
    session.flush()
    session.refresh(m)
    return Registration(
        phone=e164, name=cast(str, columns["name"]), status="registered", terms_version=terms.version, consent_at=now,
        tags=_tags(session, m.id), answers=sum(1 for a in checked if a.values), merged_points=merged,
        welcome_points=welcome, points=ledger.balance(session, m.id, now), tier=_tier_name(session, m.id),
    )


def _give_welcome(session, *, store_id: int, member_id: int, phone: str, now: datetime, actor: str | None) -> int:
    """Welcome points through the points service (once per phone per store, ever)."""
    from crm_cli.services import points

    res = points.give_welcome(session, store=session.get(Store, store_id), member_id=member_id, phone=phone, now=now, actor=actor)
    return res.points if res.given else 0


# ---------------------------------------------------------------- show


def _tier_name(session, member_id: int | None) -> str | None:
    """The member's tier, or None while the store has tiers switched off (they are kept for `tier on`)."""
    from crm_cli.services.tiers import current_tier

    t = current_tier(session, member_id)
    if t is None or not session.get(Store, t.store_id).tiers_enabled:
        return None
    return t.name


def _tags(session, member_id: int) -> list[str]:
    return list(session.exec(select(MemberTag.tag).where(MemberTag.member_id == member_id).order_by(MemberTag.tag)).all())


def _add_tags(session, member_id: int, tags: list[str], kind: str = "chat") -> list[str]:
    """``kind`` 'chat' for an operator's tags, 'active' for tags set by answers."""
    have = set(_tags(session, member_id))
    added = [t for t in tags if t not in have]
    for t in added:
        session.add(MemberTag(member_id=member_id, tag=t, kind=kind))
    session.flush()
    return added


def show_member(session, *, store_id: int, phone_raw: str, now: datetime) -> MemberDetail:
    return _detail(session, common.get_member(session, store_id, phone_raw), now)


def _detail(session, m: Member, now: datetime, cls: type = MemberDetail, **extra) -> MemberDetail:
    """The member as `member show` prints it (``cls``/``extra``: a subclass with more fields)."""
    from crm_cli.services import ledger

    answers = session.exec(
        select(FormQuestion.text, MemberAnswer.value)
        .join(FormQuestion, col(FormQuestion.id) == col(MemberAnswer.question_id))
        .where(MemberAnswer.member_id == m.id)
        .order_by(col(FormQuestion.position), col(MemberAnswer.id))
    ).all()
    grouped: dict[str, list[str]] = {}
    for q, v in answers:
        grouped.setdefault(q, []).append(v)
    branch = session.get(Branch, m.registered_branch_id).name if m.registered_branch_id else None
    return cls(
        phone=m.phone, anon_id=m.anon_id, status=status_of(m), name=m.name, gender=m.gender, birthday=m.birthday,
        email=m.email, address=m.address, line_name=m.line_display_name, tier=_tier_name(session, m.id),
        points=ledger.balance(session, m.id, now), tags=_tags(session, m.id), notes=m.notes,
        answers=[Answer(question=q, value=", ".join(vs)) for q, vs in grouped.items()], source=m.source,
        registered_at=m.registered_at, registered_branch=branch, consent_terms_version=m.consent_terms_version,
        consent_at=m.consent_at, created_at=m.created_at, last_activity_at=m.last_activity_at, **extra,
    )


# ---------------------------------------------------------------- list (set-based)


@dataclass(frozen=True)
class MemberFilter:
    tier: str | None = None
    tag: str | None = None
    min_points: int | None = None
    birthday_month: int | None = None
    registered: bool | None = None  # True: registered only; False: phone-only only
    active_since: date | None = None  # last activity on or after this Bangkok day
    inactive_since: date | None = None  # no activity on or after this Bangkok day


def balances_subquery(store_id: int, now: datetime):
    """member_id -> points left in unexpired lots, for every member of the store, in one query."""
    lot = LedgerEntry.__table__.alias("lot")
    used = (
        select(col(LotAllocation.lot_entry_id).label("lot_id"), func.sum(col(LotAllocation.points)).label("used"))
        .join(lot, lot.c.id == LotAllocation.lot_entry_id)
        .where(lot.c.store_id == store_id, lot.c.points > 0)
        .group_by(col(LotAllocation.lot_entry_id))
        .subquery("used")
    )
    return (
        select(
            col(LedgerEntry.member_id).label("member_id"),
            func.sum(LedgerEntry.points - func.coalesce(used.c.used, 0)).label("points"),
        )
        .join(used, used.c.lot_id == LedgerEntry.id, isouter=True)
        .where(
            LedgerEntry.store_id == store_id, LedgerEntry.points > 0,
            or_(col(LedgerEntry.expires_at).is_(None), col(LedgerEntry.expires_at) > now),
        )
        .group_by(col(LedgerEntry.member_id))
        .subquery("bal")
    )


def member_query(session, *, store_id: int, now: datetime, flt: MemberFilter, columns: list):
    """SELECT <columns> FROM member LEFT JOIN balances LEFT JOIN tier, filtered; returns (query, bal)."""
    bal = balances_subquery(store_id, now)
    points = func.coalesce(bal.c.points, 0)
    q = (
        select(*columns(bal, points))
        .select_from(Member)
        .join(bal, bal.c.member_id == Member.id, isouter=True)
        .join(MemberTier, col(MemberTier.member_id) == col(Member.id), isouter=True)
        .join(Tier, col(Tier.id) == col(MemberTier.tier_id), isouter=True)
        .where(Member.store_id == store_id, col(Member.erased_at).is_(None))
    )
    if flt.tier:
        tid = session.exec(select(Tier.id).where(Tier.store_id == store_id, Tier.name == flt.tier)).first()
        if tid is None:
            raise NotFound(f"tier '{flt.tier}' not found: see `crm tier list`")
        q = q.where(MemberTier.tier_id == tid)
    if flt.tag:
        q = q.where(exists().where(col(MemberTag.member_id) == col(Member.id), col(MemberTag.tag) == flt.tag))
    if flt.min_points is not None:
        q = q.where(points >= flt.min_points)
    if flt.birthday_month is not None:
        if not 1 <= flt.birthday_month <= 12:
            raise InvalidInput("--birthday-month must be 1 to 12")
        q = q.where(extract("month", col(Member.birthday)) == flt.birthday_month)
    if flt.registered is True:
        q = q.where(col(Member.registered_at).is_not(None))
    elif flt.registered is False:
        q = q.where(col(Member.registered_at).is_(None))
    if flt.active_since is not None:
        q = q.where(col(Member.last_activity_at) >= start_of_bkk_day(flt.active_since))
    if flt.inactive_since is not None:
        q = q.where(or_(col(Member.last_activity_at).is_(None), col(Member.last_activity_at) < start_of_bkk_day(flt.inactive_since)))
    return q.order_by(col(Member.id))


def tags_for(session, member_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for i in range(0, len(member_ids), 5000):
        chunk = member_ids[i:i + 5000]
        for mid, tag in session.exec(
            select(col(MemberTag.member_id), col(MemberTag.tag)).where(col(MemberTag.member_id).in_(chunk)).order_by(col(MemberTag.tag))
        ).all():
            out.setdefault(mid, []).append(tag)
    return out


def list_members(session, *, store_id: int, now: datetime, flt: MemberFilter, limit: int | None = None) -> list[MemberListRow]:
    q = member_query(
        session, store_id=store_id, now=now, flt=flt,
        columns=lambda bal, points: [
            col(Member.id), col(Member.phone), col(Member.name), col(Member.registered_at), col(Tier.name).label("tier"), points.label("points"),
            Member.birthday, Member.last_activity_at,
        ],
    )
    if limit:
        q = q.limit(limit)
    rows = session.exec(q).all()
    tags = tags_for(session, [r.id for r in rows])
    tiers_on = session.get(Store, store_id).tiers_enabled
    return [
        MemberListRow(
            phone=r.phone, name=r.name, status="registered" if r.registered_at else "phone-only",
            tier=r.tier if tiers_on else None,
            points=int(r.points), tags=tags.get(r.id, []), birthday=r.birthday, registered_at=r.registered_at,
            last_activity_at=r.last_activity_at,
        )
        for r in rows
    ]


# ---------------------------------------------------------------- tags, notes


def tag_member(session, *, store_id: int, phone_raw: str, tags: list[str]) -> TagChange:
    from crm_cli.services.forms import normalize_tag

    m = common.get_member(session, store_id, phone_raw)
    wanted: list[str] = []
    for t in tags:
        n = normalize_tag(t)
        if n not in wanted:
            wanted.append(n)
    added = _add_tags(session, m.id, wanted)
    return TagChange(phone=m.phone, tags=_tags(session, m.id), changed=added)


def untag_member(session, *, store_id: int, phone_raw: str, tags: list[str]) -> TagChange:
    from crm_cli.services.forms import normalize_tag

    m = common.get_member(session, store_id, phone_raw)
    names = [normalize_tag(t) for t in tags]
    have = set(_tags(session, m.id))
    removed = [t for t in dict.fromkeys(names) if t in have]
    if removed:
        session.execute(delete(MemberTag).where(col(MemberTag.member_id) == m.id, col(MemberTag.tag).in_(removed)))
        session.flush()
    return TagChange(phone=m.phone, tags=_tags(session, m.id), changed=removed)


def add_note(session, *, store_id: int, phone_raw: str, text: str, now: datetime, actor: str | None = None) -> NoteResult:
    """Append a dated line to the member's notes."""
    m = common.get_member(session, store_id, phone_raw)
    body = fields.note(text)
    line = f"{bkk_date(now).isoformat()}{' ' + actor if actor else ''}: {body}"
    m.notes = f"{m.notes}\n{line}" if m.notes else line
    session.add(m)
    session.flush()
    return NoteResult(phone=m.phone, notes=m.notes)


# ---------------------------------------------------------------- edit


@dataclass(frozen=True)
class ProfileEdit(MemberDetail):
    """The member as `member show` prints it after the edit, and ``changed``: the fields
    whose value changed."""

    changed: list[str]


def edit_member(
    session,
    *,
    store_id: int,
    phone_raw: str,
    now: datetime,
    name: str | None = None,
    **profile: Unpack[Profile],
) -> ProfileEdit:
    """Change a registered member's profile. ``None`` leaves a field as it is; an empty
    string clears an optional field (the name cannot be cleared). Every value goes
    through the same checks as registration and import."""
    given = {f: v for f, v in {"name": name, **profile}.items() if v is not None}
    wanted = _checked_profile(given, now=now)
    if not wanted:
        raise InvalidInput("nothing to change: pass --name, --gender, --birthday, --email, --address or --line-name")
    m = common.get_member(session, store_id, phone_raw)
    if m.registered_at is None:
        raise Conflict(
            f"{phone_raw} is a phone-only account, not a registered member: register it with `crm member register`"
        )
    common.lock_member(session, m.id)
    changed = []
    for attr, value in wanted.items():
        if getattr(m, attr) != value:
            setattr(m, attr, value)
            changed.append("line_name" if attr == "line_display_name" else attr)
    if changed:
        m.last_activity_at = now
        session.add(m)
        session.flush()
    return cast(ProfileEdit, _detail(session, m, now, ProfileEdit, changed=changed))


# ---------------------------------------------------------------- erasure


def forget_member(session, *, store_id: int, phone_raw: str, now: datetime) -> Erasure:
    """PDPA erasure: wipe personal data, keep the ledger under an anonymous id."""
    from crm_cli.services import ledger

    m = common.get_member(session, store_id, phone_raw)
    common.lock_member(session, m.id)
    tags = session.execute(delete(MemberTag).where(col(MemberTag.member_id) == m.id)).rowcount or 0
    answers = session.execute(delete(MemberAnswer).where(col(MemberAnswer.member_id) == m.id)).rowcount or 0
    from crm_cli.services.surveys import forget_member as forget_survey_answers

    answers += forget_survey_answers(session, member_id=m.id)
    session.execute(update(Redemption).where(col(Redemption.member_id) == m.id).values(address=None))
    anon = new_anon_id()
    if m.phone:
        from crm_cli.services.audit import scrub_phone

        # the audit log and ledger reasons keep no form of the number (older records included)
        scrub_phone(session, store_id=store_id, e164=m.phone, replacement=anon)
        from crm_cli.services.orders import forget_buyer

        forget_buyer(session, store_id=store_id, phone=m.phone, anon_id=anon)
    m.phone = None
    m.anon_id = anon
    m.name = m.gender = m.birthday = m.email = m.address = m.line_display_name = m.notes = None
    m.line_user_id = None  # the LINE account no longer leads to this row (member pages)
    from crm_cli.db.models import LineFollower

    session.execute(update(LineFollower).where(col(LineFollower.member_id) == m.id).values(member_id=None))
    m.erased_at = now
    session.add(m)
    session.flush()
    from crm_cli.services.tiers import drop_on_erasure

    if m.id is not None:  # always: the member was read from the database
        drop_on_erasure(session, store_id=store_id, member_id=m.id, now=now)
    entries = session.exec(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id == m.id)).one()
    return Erasure(
        anon_id=anon, points_kept=ledger.balance(session, m.id, now), ledger_entries_kept=int(entries),
        tags_removed=int(tags), answers_removed=int(answers), erased_at=now,
    )


__all__ = [
    "MemberFilter", "register", "show_member", "list_members", "tag_member", "untag_member", "add_note",
    "forget_member", "edit_member", "mask_phone",
]
