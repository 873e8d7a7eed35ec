"""`crm demo`: a realistic demo store built through the same services the commands use.

One transaction: the store, its earning rule and expiry, three branches, staff who
joined through invites, a registration form, tiers, three kinds of reward, the
sample member spreadsheet imported, a few counter sales, a QR claim, redemptions,
a coupon used at the counter, a delivery on its way, and the CRM subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from crm_cli.domain.errors import Conflict
from crm_cli.domain.timeutil import bkk_date

SAMPLE_MEMBERS = Path(__file__).resolve().parents[2] / "sample_data" / "members-demo.xlsx"

BRANCHES = ("Siam Square", "Ari", "Chiang Mai Nimman")
STAFF = (  # name, phone, role, branch
    ("Ploy Srisuk", "081-000-1001", "admin", "Siam Square"),
    ("Somchai Jaidee", "081-000-1002", "staff", "Ari"),
    ("Nok Kaewmanee", "081-000-1003", "staff", "Chiang Mai Nimman"),
)
TIERS = (("Silver", 150, "5% off drinks"), ("Gold", 600, "10% off and a birthday cake"), ("Platinum", 2000, "15% off, free delivery"))
REGISTERED = (  # phone, name, occupation answer, spends (THB) at branches
    ("089-111-2233", "Malee Rattanakorn", "office worker", (("Siam Square", "420.00"), ("Ari", "185.50"), ("Siam Square", "960.00"))),
    ("+66 86 555 0101", "Anan Wongsawat", "student", (("Ari", "95.00"), ("Ari", "125.00"))),
    ("0623334444", "Siriporn Chaiyaporn", "business owner", (("Chiang Mai Nimman", "2750.00"), ("Siam Square", "1320.25"))),
)
WALK_IN = ("095-777-8888", "310.00")  # a customer who only gave a phone number
POINT_VALUE = "1.00"  # THB per point: the Free Latte (60 points) sells for about 60 THB


@dataclass(frozen=True)
class DemoResult:
    store_id: int
    slug: str
    overview: dict
    branches: list = field(default_factory=list)
    staff: list = field(default_factory=list)
    tiers: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    members: list = field(default_factory=list)

    def sections(self):
        yield "Demo store", self.overview, None
        yield "Branches", self.branches, ["name", "status", "staff"]
        yield "Staff", self.staff, ["name", "phone", "role", "branch"]
        yield "Tiers", self.tiers, ["rank", "name", "threshold", "members", "benefits"]
        yield "Rewards", self.rewards, ["name", "kind", "cost", "stock_left", "redeemed", "min_tier"]
        yield "Members with the most points (of %d)" % self.overview["members"], self.members, ["phone", "name", "tier", "points", "tags"]


def _import_sample(session, *, store_id: int, slug: str, now: datetime, actor: str) -> int:
    from crm_cli.services import member_import as mi

    conn = session.connection()
    db = mi.Db(conn)
    store = mi.load_store(db, slug=slug, now=now)
    outcome = mi.import_members(db, store=store, path=SAMPLE_MEMBERS, branch=BRANCHES[0], now=now, actor=actor)
    if outcome.errors:  # the shipped sample is valid; a broken checkout should say so
        first = outcome.errors[0]
        raise Conflict(f"sample file {SAMPLE_MEMBERS.name} has {len(outcome.errors)} bad rows (first: row {first.row})")
    return outcome.summary.created


def build_demo(session, *, slug: str, now: datetime, actor: str = "demo") -> tuple[bool, DemoResult]:
    """Build the demo store, or show it when it already exists. Returns (built, result)."""
    from sqlmodel import col, select

    from crm_cli.db.models import Store

    existing = session.exec(select(Store.id).where(Store.slug == slug, col(Store.purged_at).is_(None))).first()
    if existing is not None:
        return False, show_demo(session, store_id=existing, slug=slug, now=now, imported=None)
    store_id, created = _build(session, slug=slug, now=now, actor=actor)
    return True, show_demo(session, store_id=store_id, slug=slug, now=now, imported=created)


def _build(session, *, slug: str, now: datetime, actor: str) -> tuple[int, int]:
    from crm_cli.services import billing, forms, members, points, rewards, stores, tiers

    store_id, _ = stores.create_store(session, slug=slug, name="Demo Cafe คาเฟ่ตัวอย่าง", phone_raw="02-123-4567",
                                      email="hello@demo-cafe.example", now=now)
    stores.edit_store(session, store_id=store_id, terms="Points are personal and cannot be exchanged for cash.",
                      point_value=POINT_VALUE)
    points.set_rule(session, store_id=store_id, points=1, per="25", welcome=20)
    points.set_expiry(session, store_id=store_id, policy="rolling", months=12)
    for b in BRANCHES:
        stores.add_branch(session, store_id=store_id, name=b, now=now)
    for name, phone, role, branch in STAFF:
        inv = stores.invite_staff(session, store_id=store_id, branch=branch, role=role, now=now)
        stores.join_staff(session, token=inv.token, name=name, phone_raw=phone, now=now)

    forms.set_terms(session, store_id=store_id, now=now,
                    text="ข้อกำหนดและเงื่อนไข / Terms: we keep your phone, name and purchases to give you points.")
    forms.add_question(session, store_id=store_id, text="Occupation / อาชีพ", kind="choice", now=now,
                       choices=["office worker:working-age", "student:student", "business owner:working-age", "other"])

    tiers.set_enabled(session, store_id=store_id, enabled=True)
    tiers.set_cycle(session, store_id=store_id, months=12)
    for name, threshold, benefits in TIERS:
        tiers.set_tier(session, store_id=store_id, name=name, threshold=threshold, benefits=benefits, now=now)

    end = (bkk_date(now) + timedelta(days=90)).isoformat()
    rewards.create_reward(session, store_id=store_id, name="Free Latte", kind="in-store", cost=60, stock=100,
                          per_member=None, valid_from=None, valid_to=end, min_tier=None, hidden=False,
                          description="Any hot or iced latte at the counter", now=now)
    rewards.create_reward(session, store_id=store_id, name="Canvas Tote Bag", kind="delivery", cost=150, stock=20,
                          per_member=1, valid_from=None, valid_to=None, min_tier="Silver", hidden=False,
                          description="Shipped to your address", now=now)
    created = _import_sample(session, store_id=store_id, slug=slug, now=now, actor=actor) if SAMPLE_MEMBERS.exists() else 0

    # a year of counter sales before they registered: points collected on the phone number
    from dateutil.relativedelta import relativedelta

    for months_ago in range(11, 0, -1):
        when = now - relativedelta(months=months_ago)
        for i, (phone, _name, _job, spends) in enumerate(REGISTERED):
            if (months_ago + i) % 3 == 0:
                continue
            branch, spend = spends[months_ago % len(spends)]
            staff = next((p for _, p, role, b in STAFF if b == branch and role == "staff"), STAFF[0][1])
            points.give_for_spend(session, store_id=store_id, phone=phone, spend=spend, now=when,
                                  branch=branch, staff=staff, actor=actor)
    for phone, name, job, spends in REGISTERED:
        members.register(session, store_id=store_id, phone_raw=phone, name=name, accept_terms=True, now=now,
                         answers=[f"Occupation / อาชีพ={job}"], branch=BRANCHES[0], actor=actor)
        for branch, spend in spends:
            staff = next((p for _, p, role, b in STAFF if b == branch and role == "staff"), STAFF[0][1])
            points.give_for_spend(session, store_id=store_id, phone=phone, spend=spend, now=now,
                                  branch=branch, staff=staff, actor=actor)
    points.give_for_spend(session, store_id=store_id, phone=WALK_IN[0], spend=WALK_IN[1], now=now,
                          branch="Ari", staff=STAFF[1][1], actor=actor)

    tiers.recalc(session, store_id=store_id, as_of=now, now=now)  # place the imported members
    latte = rewards.redeem(session, store_id=store_id, name="Free Latte", phone_raw=REGISTERED[0][0], address=None,
                           now=now, actor=actor)
    rewards.use_coupon(session, store_id=store_id, code=latte.coupon_code, now=now, staff=STAFF[1][1])
    rewards.redeem(session, store_id=store_id, name="Canvas Tote Bag", phone_raw=REGISTERED[2][0],
                   address="99/1 Nimmanhaemin Rd, Chiang Mai 50200", now=now, actor=actor)
    billing.record_event(session, store_id=store_id, kind="subscribe", day=bkk_date(now), now=now)
    return store_id, created


def show_demo(session, *, store_id: int, slug: str, now: datetime, imported: int | None) -> DemoResult:
    from crm_cli.services import members, rewards, stores, tiers

    info = stores.show_store(session, store_id=store_id)
    top = members.list_members(session, store_id=store_id, now=now, flt=members.MemberFilter(registered=True), limit=None)
    top = sorted(top, key=lambda m: (-m.points, m.name or ""))[:10]
    return DemoResult(
        store_id=store_id,
        slug=slug,
        overview={"store": f"{info.name} ({info.slug})", "earning_rule": f"{info.earn_points} point per {info.earn_per} THB",
                  "expiry": "12 months after earning", "welcome_points": info.welcome_points,
                  "point_value": f"{info.point_value} THB" if info.point_value else None,
                  "members": info.members, "imported_from_sample": imported, "branches": info.branches,
                  "staff": info.staff},
        branches=stores.list_branches(session, store_id=store_id),
        staff=stores.list_staff(session, store_id=store_id),
        tiers=tiers.list_tiers(session, store_id=store_id),
        rewards=rewards.list_rewards(session, store_id=store_id, now=now),
        members=top,
    )
