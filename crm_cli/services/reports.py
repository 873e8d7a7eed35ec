"""Reports: summary, points liability (IFRS 15), expiring points.

Every figure is one set-based SQL statement over the ledger (no per-member loops),
written once for both databases; only the Bangkok-month expression differs.

Bangkok has kept UTC+07:00 without daylight saving since 1920, so the Bangkok month
of a stored UTC timestamp is the month of ``timestamp + 7 hours`` — exact, and the
same on SQLite and PostgreSQL.

Ledger kinds are grouped like this (docs/reports.md explains why):

* issued   = earn + welcome + positive adjust
* imported = import (opening balances brought over from an earlier system: not sales of the month)
* redeemed = redeem − refund (a refund gives back the points of a cancelled redemption)
* expired  = expire
* reversed = clawback + settle + negative adjust (orders taken back, debt settled, corrections)

so that, over all time, issued + imported − redeemed − expired − reversed = points still held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, text

from crm_cli.db import dialect as db_dialect
from crm_cli.db.types import PointValue, UTCDateTime
from crm_cli.domain.errors import InvalidInput
from crm_cli.domain.reports import RATE_PLACES
from crm_cli.domain.timeutil import bkk_date, end_of_bkk_day, start_of_bkk_day

CENT = Decimal("0.01")
NO_POINT_VALUE = ("no point value set: the liability needs the THB value of one point; set it once with "
                  "`crm store edit --point-value 0.05` or pass `--point-value 0.05`")
BREAKAGE_MONTHS = 12
DEFAULT_SUMMARY_MONTHS = 12

ISSUED_SQL = "(e.kind IN ('earn', 'welcome') OR (e.kind = 'adjust' AND e.points > 0))"
IMPORTED_SQL = "(e.kind = 'import')"
REDEEMED_SQL = "(e.kind IN ('redeem', 'refund'))"
EXPIRED_SQL = "(e.kind = 'expire')"
REVERSED_SQL = "(e.kind IN ('clawback', 'settle') OR (e.kind = 'adjust' AND e.points < 0))"
#: what counts as a member's own activity (the expiry job and debt notes do not)
ACTIVE_SQL = "(e.kind NOT IN ('expire', 'debt', 'import'))"


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _satang(raw) -> Decimal:
    return (Decimal(int(raw or 0)) / 100).quantize(CENT)


def _month_sql(dialect: str, col: str, *, last_valid_day: bool = False) -> str:
    """SQL for the Bangkok 'YYYY-MM' of a UTC timestamp column.

    ``last_valid_day``: for a lot's ``expires_at`` (the exclusive instant its expiry day
    ends) use the month of the last day it is still valid, i.e. one second earlier.
    """
    if dialect == db_dialect.POSTGRESQL:
        shift = "interval '7 hours' - interval '1 second'" if last_valid_day else "interval '7 hours'"
        return f"to_char({col} + {shift}, 'YYYY-MM')"
    mods = "'+7 hours', '-1 seconds'" if last_valid_day else "'+7 hours'"
    return f"strftime('%Y-%m', {col}, {mods})"


def _ts(name: str):
    return bindparam(name, type_=UTCDateTime())


def _months(first: date, last: date) -> list[str]:
    out, d = [], date(first.year, first.month, 1)
    while d <= last:
        out.append(f"{d.year:04d}-{d.month:02d}")
        d += relativedelta(months=1)
    return out


def last_valid_day(expires_at: datetime | None) -> date | None:
    """The last Bangkok day on which a lot can still be spent (expires_at is exclusive)."""
    return None if expires_at is None else bkk_date(expires_at - timedelta(microseconds=1))


# ---------------------------------------------------------------- summary


@dataclass(frozen=True)
class MemberCounts:
    total: int
    registered: int
    phone_only: int
    erased: int
    new_accounts: int  # accounts (any kind) created in the range
    new_registrations: int  # registrations in the range


@dataclass(frozen=True)
class MonthRow:
    month: str
    issued: int
    imported: int  # opening balances from a member import, kept apart from what the month issued
    redeemed: int
    expired: int
    reversed: int
    net: int
    active_members: int


@dataclass(frozen=True)
class RewardRow:
    reward: str
    kind: str
    redeemed: int
    cancelled: int
    points: int
    members: int


@dataclass(frozen=True)
class BranchRow:
    branch: str
    issued: int
    imported: int  # opening balances a member import credited at this branch
    redeemed: int
    spend: Decimal
    transactions: int
    members: int


@dataclass(frozen=True)
class StaffRow:
    staff: str
    phone: str | None
    branch: str | None
    issued: int
    redeemed: int
    spend: Decimal
    transactions: int


@dataclass(frozen=True)
class Summary:
    store: str
    date_from: date
    date_to: date
    members: MemberCounts
    totals: MonthRow
    monthly: list[MonthRow]
    rewards: list[RewardRow]
    branches: list[BranchRow]
    staff: list[StaffRow]


def summary_range(now: datetime, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Default: the last 12 Bangkok months, this month included, up to today."""
    today = bkk_date(now)
    to = date_to or today
    if date_from is None:
        first = date(to.year, to.month, 1) - relativedelta(months=DEFAULT_SUMMARY_MONTHS - 1)
    else:
        first = date_from
    if first > to:
        raise InvalidInput(f"--from {first} is after --to {to}")
    return first, to


def summary(session, *, store_id: int, store_slug: str, now: datetime,
            date_from: date | None = None, date_to: date | None = None) -> Summary:
    d_from, d_to = summary_range(now, date_from, date_to)
    lo, hi = start_of_bkk_day(d_from), end_of_bkk_day(d_to)
    dialect = db_dialect.name(session)
    p = {"s": store_id, "lo": lo, "hi": hi}
    rng = "e.created_at >= :lo AND e.created_at < :hi"

    # -- members (current state) and new ones in the range
    m = session.execute(
        text(
            """
            SELECT COUNT(*),
                   COALESCE(SUM(CASE WHEN registered_at IS NOT NULL AND erased_at IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN registered_at IS NULL AND erased_at IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN erased_at IS NOT NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN created_at >= :lo AND created_at < :hi THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN registered_at >= :lo AND registered_at < :hi THEN 1 ELSE 0 END), 0)
            FROM member WHERE store_id = :s
            """
        ).bindparams(_ts("lo"), _ts("hi")),
        p,
    ).one()
    members = MemberCounts(*(int(x) for x in m))

    # -- the ledger per Bangkok month, plus the same figures over the whole range
    sums = f"""
        COALESCE(SUM(CASE WHEN {ISSUED_SQL} THEN e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {IMPORTED_SQL} THEN e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {REDEEMED_SQL} THEN -e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {EXPIRED_SQL} THEN -e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {REVERSED_SQL} THEN -e.points ELSE 0 END), 0),
        COUNT(DISTINCT CASE WHEN {ACTIVE_SQL} THEN e.member_id END)
    """
    month = _month_sql(dialect, "e.created_at")
    rows = session.execute(
        text(
            f"SELECT {month} AS m, {sums} FROM ledger_entry e WHERE e.store_id = :s AND {rng} GROUP BY {month}"
        ).bindparams(_ts("lo"), _ts("hi")),
        p,
    ).all()
    by_month = {r[0]: r for r in rows}

    def _row(label, r) -> MonthRow:
        iss, imp, red, exp, rev, act = (int(x) for x in (r[1:] if r is not None else (0, 0, 0, 0, 0, 0)))
        return MonthRow(label, iss, imp, red, exp, rev, iss + imp - red - exp - rev, act)

    monthly = [_row(mm, by_month.get(mm)) for mm in _months(d_from, d_to)]
    tot = session.execute(
        text(f"SELECT 'total', {sums} FROM ledger_entry e WHERE e.store_id = :s AND {rng}").bindparams(_ts("lo"), _ts("hi")),
        p,
    ).one()
    totals = _row("total", tot)

    # -- redemptions by reward
    rewards = [
        RewardRow(reward=r[0], kind=r[1], redeemed=int(r[2]), cancelled=int(r[3]), points=int(r[4]), members=int(r[5]))
        for r in session.execute(
            text(
                """
                SELECT w.name, w.kind,
                       COALESCE(SUM(CASE WHEN d.status <> 'cancelled' THEN 1 ELSE 0 END), 0) AS n,
                       COALESCE(SUM(CASE WHEN d.status = 'cancelled' THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN d.status <> 'cancelled' THEN d.points ELSE 0 END), 0),
                       COUNT(DISTINCT CASE WHEN d.status <> 'cancelled' THEN d.member_id END)
                FROM redemption d JOIN reward w ON w.id = d.reward_id
                WHERE d.store_id = :s AND d.created_at >= :lo AND d.created_at < :hi
                GROUP BY w.id, w.name, w.kind
                ORDER BY n DESC, w.name
                """
            ).bindparams(_ts("lo"), _ts("hi")),
            p,
        ).all()
    ]

    # -- per branch and per staff member (who gave and took the points)
    per = f"""
        COALESCE(SUM(CASE WHEN {ISSUED_SQL} THEN e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {REDEEMED_SQL} THEN -e.points ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN e.kind = 'earn' THEN e.spend ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN {ISSUED_SQL} OR {REDEEMED_SQL} THEN 1 ELSE 0 END), 0)
    """
    acts = f"({ISSUED_SQL} OR {REDEEMED_SQL})"
    served = f"COUNT(DISTINCT CASE WHEN {acts} THEN e.member_id END)"
    branches = [
        BranchRow(branch=r[0] or "(no branch)", issued=int(r[1]), imported=int(r[6]), redeemed=int(r[2]),
                  spend=_satang(r[3]), transactions=int(r[4]), members=int(r[5]))
        for r in session.execute(
            text(
                f"""
                SELECT b.name, {per}, {served},
                       COALESCE(SUM(CASE WHEN {IMPORTED_SQL} THEN e.points ELSE 0 END), 0)
                FROM ledger_entry e LEFT JOIN branch b ON b.id = e.branch_id
                WHERE e.store_id = :s AND {rng} AND ({acts} OR {IMPORTED_SQL})
                GROUP BY e.branch_id, b.name
                ORDER BY b.name IS NULL, b.name
                """
            ).bindparams(_ts("lo"), _ts("hi")),
            p,
        ).all()
    ]
    staff = [
        StaffRow(staff=r[0] or "(no staff)", phone=r[1], branch=r[2], issued=int(r[3]), redeemed=int(r[4]),
                 spend=_satang(r[5]), transactions=int(r[6]))
        for r in session.execute(
            text(
                f"""
                SELECT s.name, s.phone, b.name, {per}
                FROM ledger_entry e
                LEFT JOIN staff s ON s.id = e.staff_id
                LEFT JOIN branch b ON b.id = s.branch_id
                WHERE e.store_id = :s AND {rng} AND {acts}
                GROUP BY e.staff_id, s.name, s.phone, b.name
                ORDER BY s.name IS NULL, s.name, s.phone
                """
            ).bindparams(_ts("lo"), _ts("hi")),
            p,
        ).all()
    ]
    return Summary(store=store_slug, date_from=d_from, date_to=d_to, members=members, totals=totals,
                   monthly=monthly, rewards=rewards, branches=branches, staff=staff)


# ---------------------------------------------------------------- liability

_ALLOC_SQL = """
    LEFT JOIN (SELECT a.lot_entry_id, SUM(a.points) AS used
               FROM lot_allocation a JOIN ledger_entry l ON l.id = a.lot_entry_id
               WHERE l.store_id = :s
               GROUP BY a.lot_entry_id) u ON u.lot_entry_id = e.id
"""


@dataclass(frozen=True)
class ExpiryBucket:
    expires: str  # 'YYYY-MM' (month of the last valid day) or 'never'
    points: int
    members: int
    lots: int
    value: Decimal
    deferred: Decimal


@dataclass(frozen=True)
class Liability:
    store: str
    as_of: datetime
    point_value: str  # THB per point, exact: "0.05", "0.0125"
    point_value_source: str
    outstanding_points: int
    members_with_points: int
    outstanding_value: Decimal
    breakage_from: date
    breakage_to: date
    issued_12m: int  # issued and imported points in the breakage window
    expired_12m: int
    breakage_rate: str  # observed expired / issued over the window, as a 4-place fraction ("0.1250")
    expected_breakage: str  # the rate used: observed, or --breakage
    breakage_source: str
    deferred_revenue: Decimal
    debt_points: int
    by_expiry: list[ExpiryBucket]


def liability(session, *, store_id: int, store_slug: str, now: datetime,
              point_value: Decimal | None = None, breakage: Decimal | None = None) -> Liability:
    """``point_value`` overrides the store's own (``crm store edit --point-value``); with
    neither there is no honest figure to give, so the report refuses rather than guess."""
    from crm_cli.domain.points import parse_point_value

    if point_value is not None:
        pv, pv_source = parse_point_value(point_value), "--point-value"
    else:
        stored = session.execute(text("SELECT point_value FROM store WHERE id = :s").columns(point_value=PointValue()),
                                 {"s": store_id}).scalar_one()
        if stored is None:
            raise InvalidInput(NO_POINT_VALUE)
        pv, pv_source = parse_point_value(stored), "store setting (crm store edit --point-value)"
    dialect = db_dialect.name(session)
    p = {"s": store_id, "now": now}
    month = _month_sql(dialect, "e.expires_at", last_valid_day=True)
    rem = "(e.points - COALESCE(u.used, 0))"
    rows = session.execute(
        text(
            f"""
            SELECT {month} AS m, SUM({rem}), COUNT(DISTINCT e.member_id), COUNT(*)
            FROM ledger_entry e {_ALLOC_SQL}
            WHERE e.store_id = :s AND e.points > 0 AND (e.expires_at IS NULL OR e.expires_at > :now)
              AND {rem} > 0
            GROUP BY {month}
            """
        ).bindparams(_ts("now")),
        p,
    ).all()
    totals = session.execute(
        text(
            f"""
            SELECT COALESCE(SUM({rem}), 0), COUNT(DISTINCT e.member_id)
            FROM ledger_entry e {_ALLOC_SQL}
            WHERE e.store_id = :s AND e.points > 0 AND (e.expires_at IS NULL OR e.expires_at > :now)
              AND {rem} > 0
            """
        ).bindparams(_ts("now")),
        p,
    ).one()
    outstanding, holders = int(totals[0]), int(totals[1])

    # breakage: what expired over the last 12 months against what was issued (or imported: those
    # lots expire the same way) in them
    b_from = bkk_date(now) - relativedelta(months=BREAKAGE_MONTHS)
    lo = start_of_bkk_day(b_from)
    win = session.execute(
        text(
            f"""
            SELECT COALESCE(SUM(CASE WHEN {ISSUED_SQL} OR {IMPORTED_SQL} THEN e.points ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN {EXPIRED_SQL} THEN -e.points ELSE 0 END), 0)
            FROM ledger_entry e
            WHERE e.store_id = :s AND e.created_at >= :lo AND e.created_at <= :now
            """
        ).bindparams(_ts("lo"), _ts("now")),
        {**p, "lo": lo},
    ).one()
    issued, expired = int(win[0]), int(win[1])
    observed = Decimal(0) if issued == 0 else min(Decimal(1), Decimal(expired) / Decimal(issued))
    observed = observed.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    rate = observed if breakage is None else breakage.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    keep = Decimal(1) - rate

    debt = session.execute(
        text("SELECT COALESCE(SUM(debt), 0) FROM ledger_entry WHERE store_id = :s"), {"s": store_id}
    ).scalar_one()

    buckets = sorted(
        (
            ExpiryBucket(expires=r[0] or "never", points=int(r[1]), members=int(r[2]), lots=int(r[3]),
                         value=money(int(r[1]) * pv), deferred=money(int(r[1]) * pv * keep))
            for r in rows
        ),
        key=lambda b: (b.expires == "never", b.expires),
    )
    return Liability(
        store=store_slug, as_of=now, point_value=format(pv, "f"), point_value_source=pv_source,
        outstanding_points=outstanding, members_with_points=holders, outstanding_value=money(outstanding * pv),
        breakage_from=b_from, breakage_to=bkk_date(now), issued_12m=issued, expired_12m=expired,
        breakage_rate=format(observed, "f"), expected_breakage=format(rate, "f"),
        breakage_source="observed over the last 12 months" if breakage is None else "--breakage",
        deferred_revenue=money(outstanding * pv * keep), debt_points=int(debt), by_expiry=buckets,
    )


# ---------------------------------------------------------------- expiring points


@dataclass(frozen=True)
class ExpiringRow:
    phone: str
    name: str | None
    registered: bool
    points: int  # points that expire within the window
    expires_on: date  # the last day the soonest of them can be used (Bangkok)
    balance: int  # the member's whole balance now


def expiring(session, *, store_id: int, now: datetime, days: int) -> list[ExpiringRow]:
    """Members whose points expire within ``days`` Bangkok days (today + days, inclusive)."""
    if days < 0:
        raise InvalidInput("--days must be 0 or more")
    until = end_of_bkk_day(bkk_date(now) + timedelta(days=days))
    rem = "(e.points - COALESCE(u.used, 0))"
    q = text(
        f"""
        SELECT m.phone, m.name, m.registered_at,
               SUM(CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= :until THEN {rem} ELSE 0 END) AS soon,
               MIN(CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= :until THEN e.expires_at END) AS first_exp,
               SUM({rem}) AS bal
        FROM ledger_entry e
        JOIN member m ON m.id = e.member_id
        {_ALLOC_SQL}
        WHERE e.store_id = :s AND e.points > 0 AND (e.expires_at IS NULL OR e.expires_at > :now)
          AND {rem} > 0 AND m.phone IS NOT NULL AND m.erased_at IS NULL
        GROUP BY m.id, m.phone, m.name, m.registered_at
        HAVING SUM(CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= :until THEN {rem} ELSE 0 END) > 0
        ORDER BY first_exp, m.phone
        """
    ).bindparams(_ts("now"), _ts("until")).columns(first_exp=UTCDateTime(), registered_at=UTCDateTime())
    return [
        ExpiringRow(phone=r.phone, name=r.name, registered=r.registered_at is not None, points=int(r.soon),
                    expires_on=last_valid_day(r.first_exp), balance=int(r.bal))
        for r in session.execute(q, {"s": store_id, "now": now, "until": until}).all()
    ]
