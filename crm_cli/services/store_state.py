"""A store by slug or id with its CRM service state, read through SQLAlchemy Core.

Every command loads its store first, and whether the store's service is on is decided
here: the rule is :func:`crm_cli.domain.billing.service_state` over the store's
subscription events and the invoices that can hold the service off at that moment
(docs/billing.md). The queries are plain SQL on ``bind`` -- an ORM Session or a Core
Connection of the same unit of work, both answer ``execute`` -- so a command that needs
no ORM (``crm points balance``, ``crm store list``) never builds the model classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from crm_cli.db.uow import execute
from crm_cli.domain import billing as rules
from crm_cli.domain.errors import Conflict, NotFound, StoreSuspended

NO_SUBSCRIPTION = "no MyCustomer | CRM subscription: the store is not billed"


@dataclass(frozen=True)
class StoreState:
    """The store's identity, its service state at the moment asked, and the settings a
    member import needs (expiry of the imported lots, the row cap)."""

    id: int
    slug: str
    name: str
    service: rules.ServiceState
    expiry_policy: str
    expiry_months: int | None
    import_max_rows: int

    @property
    def suspended(self) -> bool:
        """Off after having been subscribed: store commands are refused (exit 7)."""
        return self.service.suspended


@dataclass(frozen=True)
class StoreInfo:
    """A store as `crm store show` and `crm store list` print it."""

    slug: str
    name: str
    phone: str | None
    email: str | None
    link_base: str
    earn_points: int
    earn_per: Decimal
    welcome_points: int
    expiry_policy: str
    expiry_months: int | None
    tiers_enabled: bool
    tier_cycle_months: int
    import_max_rows: int
    point_value: str | None  # THB per point for `report liability`, exact ("0.05", "0.0125"); None until set
    branches: int
    staff: int
    members: int
    suspended: bool
    suspended_reason: str | None
    created_at: datetime
    terms: str | None = None
    subscription: str | None = None  # e.g. "crm active", "none: not billed" (see subscription_summary)


# ---------------------------------------------------------------- statements (built once, typed like the tables)


@lru_cache(maxsize=None)
def _statements() -> dict[str, Any]:
    from sqlalchemy import Boolean, Date, bindparam, text

    from crm_cli.db.types import Money, PointValue, UTCDateTime

    store = (
        "SELECT id, slug, name, expiry_policy, expiry_months, import_max_rows, purged_at FROM store WHERE "
    )
    store_types: dict[str, Any] = dict(purged_at=UTCDateTime())
    info = (
        "SELECT s.id, s.slug, s.name, s.phone, s.email, s.link_base, s.earn_points, s.earn_per, s.welcome_points, "
        "s.expiry_policy, s.expiry_months, s.tiers_enabled, s.tier_cycle_months, s.import_max_rows, s.point_value, "
        "s.suspended_at, s.suspended_reason, s.created_at, s.terms, "
        "(SELECT count(*) FROM branch b WHERE b.store_id = s.id AND b.closed_at IS NULL) AS branches, "
        "(SELECT count(*) FROM staff t WHERE t.store_id = s.id AND t.active = :active) AS staff, "
        "(SELECT count(*) FROM member m WHERE m.store_id = s.id AND m.registered_at IS NOT NULL) AS members "
        "FROM store s WHERE s.purged_at IS NULL"
    )
    info_types: dict[str, Any] = dict(earn_per=Money(), tiers_enabled=Boolean(), point_value=PointValue(),
                      suspended_at=UTCDateTime(), created_at=UTCDateTime())
    active = bindparam("active", True, type_=Boolean())
    return {
        "info_all": text(info + " ORDER BY s.slug").bindparams(active).columns(**info_types),
        "info_one": text(info + " AND s.id = :id").bindparams(active).columns(**info_types),
        "by_slug": text(store + "slug = :slug").columns(**store_types),
        "by_id": text(store + "id = :id").columns(**store_types),
        "events": text(
            "SELECT kind, day, at FROM subscription_event WHERE store_id = :store_id ORDER BY day, id"
        ).columns(day=Date(), at=UTCDateTime()),
        "open_invoices": text(
            "SELECT number, due_date, paid_at FROM invoice WHERE store_id = :store_id AND due_date < :day "
            "AND (paid_at IS NULL OR paid_at > :at) ORDER BY due_date"
        ).bindparams(bindparam("day", type_=Date()), bindparam("at", type_=UTCDateTime()))
        .columns(due_date=Date(), paid_at=UTCDateTime()),
    }


# ---------------------------------------------------------------- service state


def subscription_events(bind, store_id: int) -> list[rules.SubscriptionEvent]:
    """The store's subscription events in day order (same day: recording order)."""
    rows = execute(bind, _statements()["events"], {"store_id": store_id}).all()
    return [rules.SubscriptionEvent(kind, day, at) for kind, day, at in rows]


def open_invoices(bind, store_id: int, *, at: datetime) -> list[rules.InvoiceFact]:
    """The store's invoices that can hold the service off at ``at``: due before its Bangkok
    day and not paid by then (earliest due first)."""
    from crm_cli.domain.timeutil import bkk_date

    rows = execute(bind, _statements()["open_invoices"], {"store_id": store_id, "day": bkk_date(at), "at": at}).all()
    return [rules.InvoiceFact(number, due, paid) for number, due, paid in rows]


def service_state(bind, *, store_id: int, now: datetime,
                  events: list[rules.SubscriptionEvent] | None = None) -> rules.ServiceState:
    """Is the store's CRM service on at ``now``? One query for the events, one for the open invoices."""
    if events is None:
        events = subscription_events(bind, store_id)
    if not events:
        return rules.ServiceState(rules.NOT_SUBSCRIBED, NO_SUBSCRIPTION)
    try:
        return rules.service_state(events, open_invoices(bind, store_id, at=now), now)
    except rules.BillingRuleError as exc:  # pragma: no cover - stored events were validated
        raise Conflict(exc.message) from None


def suspended_error(slug: str, service: rules.ServiceState) -> StoreSuspended:
    """The one-line refusal of a command on a store whose service is off."""
    reason = f" ({service.reason})" if service.reason else ""
    return StoreSuspended(
        f"store '{slug}' is suspended{reason}: its CRM service is not active; "
        f"resume it with `crm billing resume --date YYYY-MM-DD`"
    )


# ---------------------------------------------------------------- the store


def _state(bind, row, *, now: datetime, allow_suspended: bool) -> StoreState:
    service = service_state(bind, store_id=row.id, now=now)
    if service.suspended and not allow_suspended:
        raise suspended_error(row.slug, service)
    return StoreState(id=row.id, slug=row.slug, name=row.name, service=service, expiry_policy=row.expiry_policy,
                      expiry_months=row.expiry_months, import_max_rows=row.import_max_rows)


def by_slug(bind, slug: str, *, now: datetime, allow_suspended: bool = False) -> StoreState:
    """The store named ``slug`` with its service state at ``now``.

    NotFound when there is no such store (or it was purged); StoreSuspended when its
    service is off, unless ``allow_suspended``.
    """
    row = execute(bind, _statements()["by_slug"], {"slug": slug}).first()
    if row is None or row.purged_at is not None:
        raise NotFound(f"store '{slug}' not found: see `crm store list`")
    return _state(bind, row, now=now, allow_suspended=allow_suspended)


def by_id(bind, store_id: int, *, now: datetime, allow_suspended: bool = False) -> StoreState:
    """The store with id ``store_id``, as :func:`by_slug`."""
    row = execute(bind, _statements()["by_id"], {"id": store_id}).first()
    if row is None or row.purged_at is not None:
        raise NotFound("store not found: see `crm store list`")
    return _state(bind, row, now=now, allow_suspended=allow_suspended)


# ---------------------------------------------------------------- as store show / store list print it


def subscription_label(events: list[rules.SubscriptionEvent], status: rules.BillingStatus | None,
                       service: rules.ServiceState) -> str:
    """A short label of the subscription: "none: not billed", "crm trial", "pro active",
    "crm cancelled (service off)", ..."""
    if not events or status is None:
        return "none: not billed"
    if status.state == "none":
        return f"none: subscribes on {min(e.day for e in events).isoformat()}"
    label = f"{status.plan} {status.state}"
    if service.suspended:
        label += " (service off)"
    return label


def subscription_summary(bind, *, store_id: int, now: datetime) -> tuple[str, rules.ServiceState]:
    """The store's subscription label at ``now`` and its service state."""
    from crm_cli.domain.timeutil import bkk_date

    events = subscription_events(bind, store_id)
    service = service_state(bind, store_id=store_id, now=now, events=events)
    status = rules.status(events, bkk_date(now)) if events else None
    return subscription_label(events, status, service), service


def _point_value(d: Decimal | None) -> str | None:
    from crm_cli.domain.points import tidy_point_value

    return None if d is None else format(tidy_point_value(d), "f")


def _info(bind, r, *, with_terms: bool, now: datetime | None) -> StoreInfo:
    suspended, reason, label = r.suspended_at is not None, r.suspended_reason, None
    if now is not None:  # as the calendar has it at ``now`` (not the nightly job's record)
        label, service = subscription_summary(bind, store_id=r.id, now=now)
        suspended, reason = service.suspended, service.reason if service.suspended else None
    return StoreInfo(
        slug=r.slug, name=r.name, phone=r.phone, email=r.email, link_base=r.link_base,
        earn_points=r.earn_points, earn_per=r.earn_per, welcome_points=r.welcome_points,
        expiry_policy=r.expiry_policy, expiry_months=r.expiry_months,
        tiers_enabled=bool(r.tiers_enabled), tier_cycle_months=r.tier_cycle_months,
        import_max_rows=r.import_max_rows, point_value=_point_value(r.point_value),
        branches=int(r.branches), staff=int(r.staff), members=int(r.members),
        suspended=suspended, suspended_reason=reason, created_at=r.created_at,
        terms=r.terms if with_terms else None, subscription=label,
    )


def store_info(bind, store_id: int, *, with_terms: bool = False, now: datetime | None = None) -> StoreInfo:
    """One store with its counts (open branches, active staff, registered members); with
    ``now``, its suspension and subscription as the calendar has them at that moment."""
    r = execute(bind, _statements()["info_one"], {"id": store_id}).first()
    if r is None:
        raise NotFound("store not found: see `crm store list`")
    return _info(bind, r, with_terms=with_terms, now=now)


def list_stores(bind, *, now: datetime | None = None) -> list[StoreInfo]:
    """Every store (not purged) by slug, as :func:`store_info` without the terms."""
    return [_info(bind, r, with_terms=False, now=now) for r in execute(bind, _statements()["info_all"]).all()]
