"""Schema revision checks without importing Alembic on every command.

``HEADS`` names the newest migration revision(s); a test proves it matches the
migration scripts. Commands compare it with the database's ``alembic_version``:
the embedded default SQLite database is created and upgraded automatically, an
explicit ``--db``/``CRM_DATABASE_URL`` database must be upgraded with
``crm db upgrade``.
"""

from __future__ import annotations

from pathlib import Path

from crm_cli.domain.errors import DatabaseError

HEADS: frozenset[str] = frozenset({"0019_tier_holders_registered"})

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def current_revisions(engine) -> set[str] | None:
    """The database's revisions, or None when it has no schema at all."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    from crm_cli.db.engine import describe_db_error

    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            conn.rollback()
    except DBAPIError as exc:
        url = engine.url.render_as_string(hide_password=False)
        known = describe_db_error(exc, url)
        if known is not None:
            raise known from None
        raise DatabaseError(f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: {_first_line(exc)}") from None
    return set(rows)


def _first_line(exc: BaseException) -> str:
    """The driver's message on one line (psycopg splits it over several)."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    text = text.split("(Background on this error")[0].strip()
    return (text[:240] + "...") if len(text) > 240 else (text or exc.__class__.__name__)


def alembic_config(engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine, revision: str = "heads") -> tuple[set[str] | None, set[str]]:
    """Run the migrations; returns (revisions before, revisions after)."""
    from alembic import command

    before = current_revisions(engine)
    command.upgrade(alembic_config(engine), revision)
    return before, current_revisions(engine) or set()


def script_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(None)).get_heads())


def ensure_current(engine, *, auto_upgrade: bool, safe_url: str) -> None:
    revs = current_revisions(engine)
    if revs == set(HEADS):
        return
    if auto_upgrade:
        upgrade(engine)
        return
    if not revs:
        raise DatabaseError(f"database {safe_url} has no crm schema: run `crm db upgrade` first")
    unknown = revs - _known_revisions()
    if unknown:
        raise DatabaseError(
            f"database {safe_url} is at revision {', '.join(sorted(revs))}, newer than this crm knows: upgrade crm"
        )
    raise DatabaseError(
        f"database {safe_url} is at an older revision ({', '.join(sorted(revs))}): run `crm db upgrade`"
    )


def _known_revisions() -> set[str]:
    versions = MIGRATIONS_DIR / "versions"
    return {p.stem for p in versions.glob("*.py") if not p.name.startswith("_")}
