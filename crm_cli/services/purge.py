"""Purge a cancelled store's data for good (SPEC section 7), keeping its invoices.

Set-based deletes in foreign-key order, one statement per table. Kept: the
store row (``purged_at`` set), its subscription events, invoices and invoice
lines, and the audit log. ``PURGED_TABLES`` + ``KEPT_TABLES`` name every table
of the schema (a test checks it, so a new table must be placed in one of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

_LEDGER = "SELECT id FROM ledger_entry WHERE store_id = :s"
_MEMBERS = "SELECT id FROM member WHERE store_id = :s"

#: (table, WHERE clause) in the order the rows are deleted
PURGE_STEPS: tuple[tuple[str, str], ...] = (
    ("campaign_batch", "campaign_id IN (SELECT id FROM campaign WHERE store_id = :s)"),
    ("campaign", "store_id = :s"),
    ("promo_code", "store_id = :s"),
    ("promo_pool", "store_id = :s"),
    ("richmenu_link", "richmenu_id IN (SELECT id FROM richmenu WHERE store_id = :s)"),
    ("richmenu", "store_id = :s"),
    ("survey_answer", "survey_id IN (SELECT id FROM survey WHERE store_id = :s)"),
    ("survey", "store_id = :s"),
    ("segment", "store_id = :s"),
    ("line_message", "store_id = :s"),
    ("line_follower_tag", "follower_id IN (SELECT id FROM line_follower WHERE store_id = :s)"),
    ("autoreply_rule", "store_id = :s"),
    ("line_follower", "store_id = :s"),
    ("line_webhook_event", "store_id = :s"),
    ("line_channel", "store_id = :s"),
    ("api_key", "store_id = :s"),
    ("lot_allocation", f"debit_entry_id IN ({_LEDGER}) OR lot_entry_id IN ({_LEDGER})"),
    ("reward_code", "reward_id IN (SELECT id FROM reward WHERE store_id = :s)"),
    ("redemption", "store_id = :s"),
    ("qr_claim", "store_id = :s"),
    ("lot_expiry", "store_id = :s"),
    ("ledger_summary", "store_id = :s"),
    ("ledger_entry", "store_id = :s"),
    ("member_answer", f"member_id IN ({_MEMBERS})"),
    ("member_tag", f"member_id IN ({_MEMBERS})"),
    ("tier_history", f"member_id IN ({_MEMBERS})"),
    ("member_tier", f"member_id IN ({_MEMBERS})"),
    ("welcome_grant", "store_id = :s"),
    ("marketplace_order", "store_id = :s"),
    ("member", "store_id = :s"),
    ("reward", "store_id = :s"),
    ("tier", "store_id = :s"),
    ("form_question", "store_id = :s"),
    ("form_terms", "store_id = :s"),
    ("staff_invite", "store_id = :s"),
    ("staff", "store_id = :s"),
    ("branch", "store_id = :s"),
)
PURGED_TABLES = frozenset(t for t, _ in PURGE_STEPS)
KEPT_TABLES = frozenset(
    {"store", "subscription_event", "invoice", "invoice_line", "invoice_counter", "audit_log", "maintenance_run",
     # the web server's own: signing secrets, and rate-limit hits (forgotten after a day)
     "web_secret", "rate_hit"}
)


@dataclass(frozen=True)
class PurgeResult:
    store: str
    counts: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def purge_store(session, *, store_id: int, now: datetime) -> PurgeResult:
    """Delete everything of the store except what KEPT_TABLES keeps; mark the store purged.

    Under a dry run the caller rolls the transaction back: the counts are then
    exactly what would have been deleted.
    """
    from crm_cli.db.models import Store

    store = session.get(Store, store_id)
    counts: dict[str, int] = {}
    for table, where in PURGE_STEPS:
        result = session.execute(text(f"DELETE FROM {table} WHERE {where}"), {"s": store_id})
        counts[table] = int(result.rowcount or 0)
    store.purged_at = now
    store.suspended_reason = (f"data purged on {now.date().isoformat()}")[:300]
    session.add(store)
    session.flush()
    return PurgeResult(store.slug, counts)
