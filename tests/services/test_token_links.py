"""The store a link's token names (a staff invite, a QR claim), as the pages look it up:
an unknown token and a token of a purged store are both "not recognised" (both databases)."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from crm_cli.domain.errors import NotFound
from crm_cli.services import line_accounts

NOW = "2026-11-24 03:00:00"


def test_invite_and_qr_tokens_name_their_live_store(shop, engine, uow):
    with freeze_time(NOW):
        invite = shop.json("staff", "invite", "--branch", "Siam", "--role", "staff")
        ticket = shop.json("points", "qr", "--spend", "100", "--branch", "Siam")
    with uow() as s:
        sid = s.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
        assert line_accounts.invite_store(s, token=invite["token"]) == sid
        assert line_accounts.qr_store(s, token=ticket["token"].upper()) == sid
        with pytest.raises(NotFound, match="invite token not recognised"):
            line_accounts.invite_store(s, token="0" * 40)
        with pytest.raises(NotFound, match="QR code not recognised"):
            line_accounts.qr_store(s, token="0" * 40)
    with engine.begin() as conn:  # the store's row marked purged, its tokens still in place
        conn.execute(text("UPDATE store SET purged_at = :t WHERE id = :s"), {"t": datetime(2026, 11, 25), "s": sid})
    with uow() as s:
        with pytest.raises(NotFound, match="invite token not recognised"):
            line_accounts.invite_store(s, token=invite["token"])
        with pytest.raises(NotFound, match="QR code not recognised"):
            line_accounts.qr_store(s, token=ticket["token"])
