"""Helpers for the engage tests: followers in bulk through `crm follower import`."""

from __future__ import annotations


def uid(i: int) -> str:
    return "U" + format(i, "032x")


def import_followers(cli, tmp_path, rows: list[tuple[str, str, str, str]], name: str = "followers.csv") -> None:
    """rows: (user_id, display_name, phone, tags)."""
    import csv

    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "display_name", "phone", "tags"])
        w.writerows(rows)
    cli.ok("follower", "import", str(path))


def many_followers(cli, tmp_path, n: int, *, start: int = 1) -> list[str]:
    """``n`` following followers of the 'cafe' store, written in one statement (the
    import command checks row by row, which is slow for thousands)."""
    from datetime import datetime, timezone

    from sqlalchemy import insert, select

    from crm_cli.cli.context import AppState
    from crm_cli.db.models import LineFollower, Store
    from crm_cli.db.uow import unit_of_work

    ids = [uid(i) for i in range(start, start + n)]
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with unit_of_work(AppState(db_url=cli.db_url).engine(), write=True) as session:
        store_id = session.execute(select(Store.id).where(Store.slug == cli.store)).scalar_one()
        session.execute(insert(LineFollower), [dict(store_id=store_id, user_id=u, display_name=f"Friend {i}",
                                                    status="following", source="sync", followed_at=now, created_at=now)
                                               for i, u in enumerate(ids)])
    return ids
