"""SQLModel tables. The schema itself is created only by the Alembic migrations.

Points live in an append-only ledger (``ledger_entry``): every positive entry is a
lot with its ``expires_at``; every negative entry records the lots it consumed in
``lot_allocation``. Balances are derived, never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_cli.db.types import Money, PointValue, UTCDateTime


def _dt(nullable: bool = False, **kw):
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def _money(nullable: bool = False, **kw):
    return Field(sa_type=Money, nullable=nullable, **kw)


# ---------------------------------------------------------------- stores, staff


class Store(SQLModel, table=True):
    __tablename__ = "store"
    id: Optional[int] = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    phone: Optional[str] = Field(default=None, max_length=20)
    email: Optional[str] = Field(default=None, max_length=254)
    terms: Optional[str] = Field(default=None)  # store T&C / privacy policy text
    link_base: str = Field(default="https://crm.example.com", max_length=200)
    # earning rule: earn_points per earn_per THB, rounded down
    earn_points: int = Field(default=1)
    earn_per: Decimal = _money(default=Decimal("25.00"))
    welcome_points: int = Field(default=0)
    # expiry: 'never' | 'rolling' | 'year_end'
    expiry_policy: str = Field(default="never", max_length=16)
    expiry_months: Optional[int] = Field(default=None)
    tiers_enabled: bool = Field(default=False)
    tier_cycle_months: int = Field(default=12)
    tier_last_recalc: Optional[date] = Field(default=None)
    import_max_rows: int = Field(default=5000)
    answer_retention_days: Optional[int] = Field(default=None)
    # THB value of one point for the liability report; None until the store sets it
    point_value: Optional[Decimal] = Field(default=None, sa_type=PointValue, nullable=True)
    created_at: datetime = _dt()
    suspended_at: Optional[datetime] = _dt(nullable=True, default=None)
    suspended_reason: Optional[str] = Field(default=None, max_length=300)
    purged_at: Optional[datetime] = _dt(nullable=True, default=None)


class Branch(SQLModel, table=True):
    __tablename__ = "branch"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_branch_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str = Field(max_length=120)
    created_at: datetime = _dt()
    closed_at: Optional[datetime] = _dt(nullable=True, default=None)


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("store_id", "phone", name="uq_staff_store_phone"),
                      UniqueConstraint("store_id", "line_user_id", name="uq_staff_store_line_user"))
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    name: str = Field(max_length=200)
    phone: str = Field(max_length=20)
    role: str = Field(max_length=10)  # 'admin' | 'staff'
    active: bool = Field(default=True)
    created_at: datetime = _dt()
    deactivated_at: Optional[datetime] = _dt(nullable=True, default=None)
    line_user_id: Optional[str] = Field(default=None, max_length=33)  # signed in with LINE (staff pages)


class StaffInvite(SQLModel, table=True):
    __tablename__ = "staff_invite"
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    role: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _dt()
    expires_at: datetime = _dt()
    used_at: Optional[datetime] = _dt(nullable=True, default=None)
    used_by_staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: Optional[int] = Field(default=None, foreign_key="store.id", index=True)
    actor: str = Field(max_length=120)
    command: str = Field(max_length=120)
    summary: str = Field(default="")
    created_at: datetime = _dt()


# ---------------------------------------------------------------- members


class Member(SQLModel, table=True):
    """A points account of one phone number in one store.

    ``registered_at`` is NULL for a phone-only account (collects points before
    registering). After erasure ``phone`` is NULL and ``anon_id`` identifies the row.
    """

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("store_id", "phone", name="uq_member_store_phone"),
        UniqueConstraint("store_id", "line_user_id", name="uq_member_store_line_user"),
        # pages keep free space, so the counter's last_activity_at write is an in-place (HOT)
        # update on PostgreSQL (migration 0010); the tier lives in member_tier (migration 0017)
        {"postgresql_with": {"fillfactor": 70}},
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    phone: Optional[str] = Field(default=None, max_length=20)
    anon_id: Optional[str] = Field(default=None, max_length=40)
    registered_at: Optional[datetime] = _dt(nullable=True, default=None)
    name: Optional[str] = Field(default=None, max_length=200)
    gender: Optional[str] = Field(default=None, max_length=12)
    birthday: Optional[date] = Field(default=None)
    email: Optional[str] = Field(default=None, max_length=254)
    address: Optional[str] = Field(default=None)
    line_display_name: Optional[str] = Field(default=None, max_length=200)
    line_user_id: Optional[str] = Field(default=None, max_length=33)  # LINE Login on the member pages
    notes: Optional[str] = Field(default=None)
    registered_branch_id: Optional[int] = Field(default=None, foreign_key="branch.id")
    source: str = Field(default="points", max_length=16)  # points | form | import
    consent_terms_version: Optional[int] = Field(default=None)
    consent_at: Optional[datetime] = _dt(nullable=True, default=None)
    created_at: datetime = _dt()
    last_activity_at: Optional[datetime] = _dt(nullable=True, default=None)
    erased_at: Optional[datetime] = _dt(nullable=True, default=None)


class MemberTag(SQLModel, table=True):
    """``kind`` 'chat': set by an operator (`member tag`, import); 'active': set by an action
    (registration or survey answers)."""

    __tablename__ = "member_tag"
    __table_args__ = (Index("ix_member_tag_tag", "tag"),)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    tag: str = Field(max_length=80, primary_key=True)
    kind: str = Field(default="chat", max_length=8, sa_column_kwargs={"server_default": "chat"})


class WelcomeGrant(SQLModel, table=True):
    """Welcome points are given once per phone per store, ever (kept after erasure)."""

    __tablename__ = "welcome_grant"
    __table_args__ = (UniqueConstraint("store_id", "phone_hash", name="uq_welcome_store_phone"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    phone_hash: str = Field(max_length=64)
    created_at: datetime = _dt()


# ---------------------------------------------------------------- points ledger


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("store_id", "idem_source", "idem_key", name="uq_ledger_idem"),
        # covering index for balances, FIFO and tier windows
        Index("ix_ledger_member_lots", "member_id", "expires_at", "created_at", "points"),
        Index("ix_ledger_store_expiry", "store_id", "expires_at"),
        Index("ix_ledger_store_created", "store_id", "created_at"),
        Index("ix_ledger_ref", "ref_entry_id"),
        # (a member's last visit is kept in ledger_summary: no index for it here, migration 0016)
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    member_id: int = Field(foreign_key="member.id")
    # earn | welcome | import | adjust | redeem | refund | expire | clawback | debt | settle
    kind: str = Field(max_length=12)
    points: int  # signed; > 0 is a lot
    debt: int = Field(default=0)  # + shortfall recorded, - shortfall settled
    expires_at: Optional[datetime] = _dt(nullable=True, default=None)  # lots only; NULL = never
    created_at: datetime = _dt()
    branch_id: Optional[int] = Field(default=None, foreign_key="branch.id")
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    channel: str = Field(default="admin", max_length=20)  # counter|qr|order|import|admin|system|reward
    reason: Optional[str] = Field(default=None, max_length=500)
    spend: Optional[Decimal] = _money(nullable=True, default=None)
    idem_source: Optional[str] = Field(default=None, max_length=20)
    idem_key: Optional[str] = Field(default=None, max_length=200)
    fingerprint: Optional[str] = Field(default=None, max_length=64)
    ref_entry_id: Optional[int] = Field(default=None)  # expire/refund: the entry it refers to
    actor: Optional[str] = Field(default=None, max_length=120)


class LotAllocation(SQLModel, table=True):
    """``points`` taken from lot ``lot_entry_id`` by negative entry ``debit_entry_id``."""

    __tablename__ = "lot_allocation"
    __table_args__ = (
        Index("ix_alloc_lot", "lot_entry_id", "points"),
        Index("ix_alloc_debit", "debit_entry_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    debit_entry_id: int = Field(foreign_key="ledger_entry.id")
    lot_entry_id: int = Field(foreign_key="ledger_entry.id")
    points: int


class LotExpiry(SQLModel, table=True):
    """A lot with an expiry date that no expiry run has handled yet (migration 0007).

    Written by a trigger on ``ledger_entry`` for every lot with ``expires_at``; the expiry
    job reads the rows due and deletes them, so it never re-reads expired history.
    """

    __tablename__ = "lot_expiry"
    __table_args__ = (Index("ix_lot_expiry_due", "expires_at", "store_id"),)
    lot_entry_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    store_id: int
    expires_at: datetime = _dt()


class LedgerSummary(SQLModel, table=True):
    """Per member, derived from the ledger by triggers (migration 0011): the sum of the
    lots' remainders (expired lots not yet through an expiry run included) and the newest
    entry with a branch. Segment counts read it instead of summing the ledger."""

    __tablename__ = "ledger_summary"
    __table_args__ = (
        Index("ix_ledger_summary_points", "store_id", "points", "member_id"),
        Index("ix_ledger_summary_visit", "visit_branch_id", "member_id"),
    )
    member_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    store_id: int
    points: int
    visit_at: Optional[datetime] = _dt(nullable=True, default=None)
    visit_entry_id: Optional[int] = Field(default=None)
    visit_branch_id: Optional[int] = Field(default=None)


class QrClaim(SQLModel, table=True):
    __tablename__ = "qr_claim"
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    spend: Decimal = _money()
    points: int
    branch_id: int = Field(foreign_key="branch.id")
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    created_at: datetime = _dt()
    expires_at: datetime = _dt()
    claimed_at: Optional[datetime] = _dt(nullable=True, default=None)
    claimed_member_id: Optional[int] = Field(default=None, foreign_key="member.id")
    entry_id: Optional[int] = Field(default=None, foreign_key="ledger_entry.id")


# ---------------------------------------------------------------- tiers


class Tier(SQLModel, table=True):
    __tablename__ = "tier"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_tier_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str = Field(max_length=80)
    threshold: int
    benefits: Optional[str] = Field(default=None)
    created_at: datetime = _dt()


class MemberTier(SQLModel, table=True):
    """A member's tier (migration 0017): no row for a member without one.

    A narrow table of its own, so a tier move writes a small row instead of the member's
    and a first placement is an append. No foreign keys, like ``tier_history``: rows are
    written only by the tier service from the members and tiers the same statement reads;
    removing a tier and purging a store delete them; `crm db check` verifies them.
    """

    __tablename__ = "member_tier"
    # pages keep free space, so a move is an in-place (HOT) update on PostgreSQL (migration 0018)
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)
    member_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    tier_id: int


class TierHistory(SQLModel, table=True):
    __tablename__ = "tier_history"
    id: Optional[int] = Field(default=None, primary_key=True)
    # no foreign keys (migration 0009): rows are written only from the member rows the same
    # statement reads or updates; a per-row check cost more than the insert itself. No index
    # on store_id (migration 0017): readers go by member, or by id after a recalculation
    store_id: int
    member_id: int = Field(index=True)
    old_tier: Optional[str] = Field(default=None, max_length=80)
    new_tier: Optional[str] = Field(default=None, max_length=80)
    earned_points: int = Field(default=0)
    reason: str = Field(max_length=40)  # earn | recalc | ...
    created_at: datetime = _dt()


# ---------------------------------------------------------------- registration form


class FormTerms(SQLModel, table=True):
    __tablename__ = "form_terms"
    __table_args__ = (UniqueConstraint("store_id", "version", name="uq_terms_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    version: int
    text: str
    created_at: datetime = _dt()


class FormQuestion(SQLModel, table=True):
    __tablename__ = "form_question"
    __table_args__ = (UniqueConstraint("store_id", "text", name="uq_question_text"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    text: str = Field(max_length=300)
    kind: str = Field(max_length=10)  # text | choice | multi | date
    choices_json: Optional[str] = Field(default=None)  # [{"value": .., "tag": ..}]
    required: bool = Field(default=False)
    position: int = Field(default=0)
    retention_days: Optional[int] = Field(default=None)
    created_at: datetime = _dt()


class MemberAnswer(SQLModel, table=True):
    __tablename__ = "member_answer"
    id: Optional[int] = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    question_id: int = Field(foreign_key="form_question.id")
    value: str
    created_at: datetime = _dt()


# ---------------------------------------------------------------- rewards


class Reward(SQLModel, table=True):
    __tablename__ = "reward"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_reward_store_name"),
                      Index("uq_reward_store_number", "store_id", "number", unique=True))
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=10)  # in-store | delivery | code
    description: Optional[str] = Field(default=None)
    cost: int
    stock_total: Optional[int] = Field(default=None)  # NULL = unlimited
    stock_left: Optional[int] = Field(default=None)
    per_member: Optional[int] = Field(default=None)
    valid_from: Optional[date] = Field(default=None)
    valid_to: Optional[date] = Field(default=None)
    min_tier_id: Optional[int] = Field(default=None, foreign_key="tier.id")
    hidden: bool = Field(default=False)
    created_at: datetime = _dt()
    # display order in lists: positions 1, 2, ... first, then the rewards without one (0) by cost
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # optional value printed on the coupon: an amount in THB or a percentage (at most one is set)
    discount_amount: Optional[Decimal] = _money(nullable=True, default=None)
    discount_percent: Optional[Decimal] = _money(nullable=True, default=None)
    # the short id within the store (R1, R2, ...): its highest number + 1 at creation
    number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class RewardCode(SQLModel, table=True):
    __tablename__ = "reward_code"
    __table_args__ = (UniqueConstraint("reward_id", "code", name="uq_reward_code"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    reward_id: int = Field(foreign_key="reward.id", index=True)
    code: str = Field(max_length=200)
    redemption_id: Optional[int] = Field(default=None, foreign_key="redemption.id")


class Redemption(SQLModel, table=True):
    """One redeemed unit: an in-store coupon, a delivery, or a pool code."""

    __tablename__ = "redemption"
    __table_args__ = (
        UniqueConstraint("store_id", "coupon_code", name="uq_redemption_coupon"),
        UniqueConstraint("store_id", "idem_key", name="uq_redemption_idem"),
        Index("ix_redemption_reward_member", "reward_id", "member_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    reward_id: int = Field(foreign_key="reward.id")
    member_id: int = Field(foreign_key="member.id")
    entry_id: int = Field(foreign_key="ledger_entry.id")
    kind: str = Field(max_length=10)
    points: int
    # in-store: issued|used|cancelled ; delivery: pending|preparing|shipped|delivered|cancelled ; code: issued
    status: str = Field(max_length=12)
    coupon_code: Optional[str] = Field(default=None, max_length=20)
    expires_at: Optional[datetime] = _dt(nullable=True, default=None)
    pool_code: Optional[str] = Field(default=None, max_length=200)
    address: Optional[str] = Field(default=None)
    carrier: Optional[str] = Field(default=None, max_length=80)
    tracking: Optional[str] = Field(default=None, max_length=120)
    used_at: Optional[datetime] = _dt(nullable=True, default=None)
    used_branch_id: Optional[int] = Field(default=None, foreign_key="branch.id")
    used_staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    created_at: datetime = _dt()
    updated_at: datetime = _dt()
    # reward redeem --key: the same key redeems once; the fingerprint is of the request it was used for
    idem_key: Optional[str] = Field(default=None, max_length=200)
    fingerprint: Optional[str] = Field(default=None, max_length=64)


# ---------------------------------------------------------------- marketplace orders


class MarketplaceOrder(SQLModel, table=True):
    __tablename__ = "marketplace_order"
    __table_args__ = (
        UniqueConstraint("store_id", "channel", "order_id", name="uq_order_store_channel_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    channel: str = Field(max_length=20)
    order_id: str = Field(max_length=100)
    phone: str = Field(max_length=40)  # E.164, or the anonymous id of an erased buyer
    paid_at: datetime = _dt()
    amount: Decimal = _money()
    status: str = Field(max_length=12)  # paid | cancelled | refunded
    refund_amount: Optional[Decimal] = _money(nullable=True, default=None)
    state: str = Field(default="new", max_length=14)  # new | awarded | not_eligible | reversed
    state_reason: Optional[str] = Field(default=None, max_length=300)
    points_awarded: int = Field(default=0)
    points_clawed: int = Field(default=0)
    imported_at: datetime = _dt()
    updated_at: datetime = _dt()


# ---------------------------------------------------------------- billing


class SubscriptionEventRow(SQLModel, table=True):
    __tablename__ = "subscription_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    kind: str = Field(max_length=12)  # subscribe | pro | cancel | cancel_pro | resume
    day: date
    at: Optional[datetime] = _dt(nullable=True, default=None)
    created_at: datetime = _dt()


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("store_id", "month", name="uq_invoice_store_month"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    number: str = Field(max_length=20, unique=True)
    month: str = Field(max_length=7)  # YYYY-MM
    subtotal: Decimal = _money()
    vat: Decimal = _money()
    total: Decimal = _money()
    issued_at: datetime = _dt()
    due_date: date
    paid_at: Optional[datetime] = _dt(nullable=True, default=None)


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"
    id: Optional[int] = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    plan: str = Field(max_length=20)
    description: str = Field(max_length=300)
    period_start: date
    period_end: date
    days: int
    days_in_month: int
    rate: Decimal = _money()
    amount: Decimal = _money()


class InvoiceCounter(SQLModel, table=True):
    __tablename__ = "invoice_counter"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class MaintenanceRun(SQLModel, table=True):
    __tablename__ = "maintenance_run"
    id: Optional[int] = Field(default=None, primary_key=True)
    job: str = Field(max_length=40)
    as_of: datetime = _dt()
    started_at: datetime = _dt()
    finished_at: Optional[datetime] = _dt(nullable=True, default=None)
    status: str = Field(max_length=10)  # ok | failed
    summary: str = Field(default="")



# ---------------------------------------------------------------- LINE Official Account


class LineChannel(SQLModel, table=True):
    """A store's LINE channels. The secrets are never shown, logged or audited."""

    __tablename__ = "line_channel"
    store_id: int = Field(foreign_key="store.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    channel_id: str = Field(max_length=32)
    channel_secret: str = Field(max_length=128)
    access_token: str = Field(max_length=1024)
    login_channel_id: Optional[str] = Field(default=None, max_length=32)
    login_channel_secret: Optional[str] = Field(default=None, max_length=128)
    bot_user_id: Optional[str] = Field(default=None, max_length=40)
    bot_basic_id: Optional[str] = Field(default=None, max_length=40)
    bot_name: Optional[str] = Field(default=None, max_length=200)
    connected_at: datetime = _dt()
    updated_at: datetime = _dt()


class LineFollower(SQLModel, table=True):
    """A LINE user who follows (or followed) the store's Official Account."""

    __tablename__ = "line_follower"
    __table_args__ = (
        UniqueConstraint("store_id", "user_id", name="uq_line_follower_store_user"),
        Index("ix_line_follower_member", "member_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    user_id: str = Field(max_length=33)
    display_name: Optional[str] = Field(default=None, max_length=200)
    picture_url: Optional[str] = Field(default=None, max_length=1000)
    language: Optional[str] = Field(default=None, max_length=20)
    status: str = Field(default="following", max_length=12)  # following | blocked | unknown
    followed_at: Optional[datetime] = _dt(nullable=True, default=None)
    unfollowed_at: Optional[datetime] = _dt(nullable=True, default=None)
    note: Optional[str] = Field(default=None)
    member_id: Optional[int] = Field(default=None, foreign_key="member.id")
    source: str = Field(default="webhook", max_length=12)  # webhook | sync | import
    profile_at: Optional[datetime] = _dt(nullable=True, default=None)
    last_message_at: Optional[datetime] = _dt(nullable=True, default=None)
    created_at: datetime = _dt()


class LineFollowerTag(SQLModel, table=True):
    """``kind`` 'chat': set by an operator; 'active': set by an action (rich-menu tap, answer)."""

    __tablename__ = "line_follower_tag"
    __table_args__ = (Index("ix_line_follower_tag_tag", "tag"),)
    follower_id: int = Field(foreign_key="line_follower.id", primary_key=True)
    kind: str = Field(max_length=8, primary_key=True)
    tag: str = Field(max_length=80, primary_key=True)
    created_at: datetime = _dt()


class LineMessage(SQLModel, table=True):
    """One chat message: 'in' from the follower, 'out' from the store (an auto-reply).

    An 'out' row is also the delivery record of its reply: ``delivery`` is pending until
    the Messaging API accepted it (sent) or refused it (failed).
    """

    __tablename__ = "line_message"
    __table_args__ = (Index("ix_line_message_follower_at", "follower_id", "at"),
                      Index("ix_line_message_store_at", "store_id", "at"),
                      Index("ix_line_message_autoreply", "autoreply_id", "at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    follower_id: int = Field(foreign_key="line_follower.id")
    direction: str = Field(max_length=3)  # in | out
    kind: str = Field(max_length=16)  # text | image | imagemap | sticker | video | audio | file | location
    text: Optional[str] = Field(default=None)
    payload: Optional[str] = Field(default=None)  # JSON of the message objects sent (out)
    line_message_id: Optional[str] = Field(default=None, max_length=40)
    autoreply_id: Optional[int] = Field(default=None, foreign_key="autoreply_rule.id")
    reply_token: Optional[str] = Field(default=None, max_length=100)  # cleared once used
    delivery: str = Field(default="received", max_length=10)  # received | pending | sent | failed
    error: Optional[str] = Field(default=None, max_length=300)
    at: datetime = _dt()


class LineWebhookEvent(SQLModel, table=True):
    """Each webhook event processed once: written in the same transaction as its effect."""

    __tablename__ = "line_webhook_event"
    __table_args__ = (UniqueConstraint("store_id", "event_id", name="uq_line_webhook_event"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    event_id: str = Field(max_length=64)
    type: str = Field(max_length=32)
    redelivery: bool = Field(default=False)
    occurred_at: datetime = _dt()
    received_at: datetime = _dt()


class AutoreplyRule(SQLModel, table=True):
    __tablename__ = "autoreply_rule"
    __table_args__ = (Index("ix_autoreply_store", "store_id", "removed_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    keyword: str = Field(max_length=200)
    match: str = Field(max_length=8)  # exact | contains
    kind: str = Field(max_length=10)  # text | image | imagemap
    payload: str  # JSON: the LINE message object sent
    created_at: datetime = _dt()
    removed_at: Optional[datetime] = _dt(nullable=True, default=None)


class ApiKey(SQLModel, table=True):
    """A counter API key for one branch; only its SHA-256 is stored."""

    __tablename__ = "api_key"
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    branch_id: int = Field(foreign_key="branch.id")
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    label: Optional[str] = Field(default=None, max_length=120)
    created_at: datetime = _dt()
    last_used_at: Optional[datetime] = _dt(nullable=True, default=None)
    revoked_at: Optional[datetime] = _dt(nullable=True, default=None)


# ---------------------------------------------------------------- web pages


class WebSecret(SQLModel, table=True):
    """A signing secret of `crm serve` (session cookies, member QR values), made once and
    shared by every server process on the database."""

    __tablename__ = "web_secret"
    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=128)
    created_at: datetime = _dt()


class RateHit(SQLModel, table=True):
    """One attempt counted by a rate limit (``bucket`` names the action and who)."""

    __tablename__ = "rate_hit"
    __table_args__ = (Index("ix_rate_hit_bucket_at", "bucket", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=120)
    at: datetime = _dt()


# ---------------------------------------------------------------- engage: segments, campaigns, rich menus, surveys, promo codes


class Segment(SQLModel, table=True):
    """A saved audience query: ``spec`` is the JSON filter (domain/segments.py), evaluated when used."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_segment_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    name: str = Field(max_length=80)
    spec: str
    created_at: datetime = _dt()
    updated_at: datetime = _dt()


class Campaign(SQLModel, table=True):
    """A broadcast: draft | scheduled | sending | sent | cancelled. ``messages`` is the JSON
    list of LINE message objects (text may hold {display_name} {points} {tier} {promo_code})."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_campaign_store_name"),
                      Index("ix_campaign_status_at", "status", "scheduled_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    name: str = Field(max_length=120)
    segment_id: Optional[int] = Field(default=None, foreign_key="segment.id")
    messages: str
    personalized: bool = Field(default=False)
    promo_pool_id: Optional[int] = Field(default=None, foreign_key="promo_pool.id")
    status: str = Field(default="draft", max_length=12)
    scheduled_at: Optional[datetime] = _dt(nullable=True, default=None)
    partial: bool = Field(default=False)
    recipients: int = Field(default=0)
    skipped: int = Field(default=0)
    note: Optional[str] = Field(default=None)
    created_at: datetime = _dt()
    started_at: Optional[datetime] = _dt(nullable=True, default=None)
    finished_at: Optional[datetime] = _dt(nullable=True, default=None)
    cancelled_at: Optional[datetime] = _dt(nullable=True, default=None)


class CampaignBatch(SQLModel, table=True):
    """One request of a campaign: a multicast to at most 500 userIds or one push. The
    ``retry_key`` is committed before the request is made and reused on every retry."""

    __tablename__ = "campaign_batch"
    __table_args__ = (UniqueConstraint("campaign_id", "seq", name="uq_campaign_batch_seq"),
                      Index("ix_campaign_batch_status", "campaign_id", "status"))
    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    seq: int
    kind: str = Field(max_length=10)  # multicast | push
    retry_key: str = Field(max_length=36, unique=True)
    status: str = Field(default="pending", max_length=10)  # pending | sending | accepted | failed
    size: int
    body: str  # JSON request body, identical on every retry
    request_id: Optional[str] = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    error: Optional[str] = Field(default=None, max_length=300)
    claimed_at: Optional[datetime] = _dt(nullable=True, default=None)
    sent_at: Optional[datetime] = _dt(nullable=True, default=None)


class PromoPool(SQLModel, table=True):
    __tablename__ = "promo_pool"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_promo_pool_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    name: str = Field(max_length=80)
    created_at: datetime = _dt()


class PromoCode(SQLModel, table=True):
    """One code; issued to one person (a member, or a follower without a member) at most once."""

    __tablename__ = "promo_code"
    __table_args__ = (UniqueConstraint("store_id", "code", name="uq_promo_code_store_code"),
                      UniqueConstraint("pool_id", "member_id", name="uq_promo_code_pool_member"),
                      UniqueConstraint("pool_id", "follower_id", name="uq_promo_code_pool_follower"),
                      Index("ix_promo_code_pool_free", "pool_id", "issued_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    pool_id: int = Field(foreign_key="promo_pool.id")
    code: str = Field(max_length=64)
    member_id: Optional[int] = Field(default=None, foreign_key="member.id")
    follower_id: Optional[int] = Field(default=None, foreign_key="line_follower.id")
    issued_at: Optional[datetime] = _dt(nullable=True, default=None)
    redeemed_at: Optional[datetime] = _dt(nullable=True, default=None)


class RichMenu(SQLModel, table=True):
    __tablename__ = "richmenu"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_richmenu_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    name: str = Field(max_length=80)
    line_richmenu_id: str = Field(max_length=80)
    layout: str  # JSON: the rich menu object sent to LINE
    segment_id: Optional[int] = Field(default=None, foreign_key="segment.id")
    is_default: bool = Field(default=False)
    created_at: datetime = _dt()
    removed_at: Optional[datetime] = _dt(nullable=True, default=None)


class RichMenuLink(SQLModel, table=True):
    """The rich menu a follower is linked to (one at a time)."""

    __tablename__ = "richmenu_link"
    follower_id: int = Field(foreign_key="line_follower.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    richmenu_id: int = Field(foreign_key="richmenu.id", index=True)
    linked_at: datetime = _dt()


class Survey(SQLModel, table=True):
    """``questions``: JSON [{"text", "kind": text|choice, "choices": [{"value", "tag"}]}];
    answers are deleted ``retention_days`` after they were given."""

    __tablename__ = "survey"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_survey_store_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    name: str = Field(max_length=80)
    questions: str
    notice: str
    retention_days: int
    created_at: datetime = _dt()
    closed_at: Optional[datetime] = _dt(nullable=True, default=None)


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_survey_at", "survey_id", "created_at"),
                      UniqueConstraint("survey_id", "follower_id", name="uq_survey_answer_follower"))
    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    follower_id: Optional[int] = Field(default=None, foreign_key="line_follower.id")
    member_id: Optional[int] = Field(default=None, foreign_key="member.id")
    answers: str  # JSON list, one entry per question
    created_at: datetime = _dt()
