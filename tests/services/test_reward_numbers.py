"""Two rewards created at once in one store take different short ids (PostgreSQL, two
sessions: the second waits for the first's store lock), and a long import into the store
does not hold reward creation up."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from sqlalchemy import text

from crm_cli.services import rewards
from tests.conftest import on_postgresql

NOW = datetime(2026, 11, 24, 3, tzinfo=timezone.utc)
pytestmark = on_postgresql


def _create(s, sid, name):
    return rewards.create_reward(s, store_id=sid, name=name, kind="in-store", cost=10, stock=None, per_member=None,
                                 valid_from=None, valid_to=None, min_tier=None, hidden=False, description=None, now=NOW)


def test_two_creations_at_once_take_different_numbers(shop, uow):
    with uow() as s:
        sid = s.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
    got: dict = {}
    first_open, second_started = threading.Event(), threading.Event()

    def second():
        second_started.set()
        with uow() as s:
            got["b"] = _create(s, sid, "Tote").id

    with uow() as s:
        got["a"] = _create(s, sid, "Latte").id
        first_open.set()
        t = threading.Thread(target=second)
        t.start()
        second_started.wait(5)
        t.join(0.5)
        assert t.is_alive()  # waiting for the store lock the first creation holds
    t.join(10)
    assert sorted(got.values()) == ["R1", "R2"]


def test_an_import_holding_the_store_does_not_hold_up_a_creation(shop, uow, engine):
    with uow() as s:
        sid = s.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
    with engine.connect() as importing:  # what a running import holds: the store's key-share lock
        importing.execute(text("SELECT 1 FROM store WHERE id = :s FOR KEY SHARE"), {"s": sid})
        with uow() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            assert _create(s, sid, "Latte").id == "R1"
        importing.rollback()
