"""crm db: schema upgrade and status (Alembic migrations shipped in the package); backup,
restore and integrity check of the whole database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import whole

app = typer.Typer(help="Database: schema upgrade and status; backup, restore, check.", no_args_is_help=True)

CHECK_COLUMNS = ["check", "scope", "ok", "detail"]


@app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema to this version's newest revision. Example: crm --db postgresql+psycopg://u@host/crm db upgrade"""
    from crm_cli.db.schema import upgrade

    st = state(ctx)
    engine = st.engine(check_schema=False)
    before, after = upgrade(engine)
    st.info("schema is up to date" if before == after else "schema upgraded")
    st.render({"database": st.target().safe_url, "before": sorted(before or []), "after": sorted(after)})


@app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the database URL (no password), its revision and this version's newest. Example: crm db status --format json"""
    from crm_cli.db.schema import HEADS, current_revisions

    st = state(ctx)
    engine = st.engine(check_schema=False)
    revs = current_revisions(engine)
    st.render({
        "database": st.target().safe_url,
        "dialect": engine.dialect.name,
        "current": sorted(revs or []),
        "head": sorted(HEADS),
        "up_to_date": revs == set(HEADS),
    })


@app.command("backup")
def db_backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Backup file, or a directory to write crm-YYYYMMDD-HHMMSS.sqlite3 (.dump on PostgreSQL) into.")],
    keep: Annotated[Optional[int], typer.Option("--keep", parser=whole("--keep", 1, 10_000), metavar="N", help="With a directory: then delete all but the newest N backups there.")] = None,
) -> None:
    """Back up the whole database while other commands keep writing: SQLite's online backup
    (a consistent snapshot, checked), or pg_dump --format=custom on PostgreSQL. The file is
    written to a temporary name with mode 0600 and renamed into place, so it is never half-written.

    Example (cron, nightly): crm --quiet db backup --out /var/backups/crm --keep 14
    """
    from crm_cli.db import backup as bk
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.domain.timeutil import BKK

    st = state(ctx)
    engine = st.engine(check_schema=False)
    url = engine.url.render_as_string(hide_password=False)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    if keep is not None and not out.is_dir():
        raise InvalidInput(f"--keep rotates the backups in a directory: {out} is not a directory")
    target = bk.backup_target(out, dialect=dialect, stamp=f"{st.now().astimezone(BKK):%Y%m%d-%H%M%S}")
    if dialect == "sqlite":
        result = bk.sqlite_backup(bk.database_file(url), target)
    else:
        result = bk.pg_backup(url, target)
    removed = bk.rotate(out, dialect=dialect, keep=keep) if keep is not None else []
    st.info(f"backup written: {result.file} ({result.bytes:,} bytes)"
            + (f"; {len(removed)} older backup(s) removed" if removed else ""))
    st.render({"database": st.target().safe_url, "file": result.file, "bytes": result.bytes,
               "method": result.method, "removed": removed})


@app.command("restore")
def db_restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup written by `crm db backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")] = False,
) -> None:
    """Restore a backup into the current database, all or nothing, then upgrade its schema
    if the backup is from an older version. Refused when the database holds data, unless --force.

    Example: crm --db sqlite:///restored.sqlite3 db restore /var/backups/crm/crm-20261201-190000.sqlite3
    """
    from crm_cli.db import backup as bk
    from crm_cli.db.schema import _known_revisions, current_revisions, upgrade
    from crm_cli.domain.errors import InvalidInput

    st = state(ctx)
    engine = st.engine(check_schema=False)
    url = engine.url.render_as_string(hide_password=False)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    kind = bk.kind_of_file(file)
    if kind != dialect:
        raise InvalidInput(f"{file} is a {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} backup; the current database "
                           f"is {'SQLite' if dialect == 'sqlite' else 'PostgreSQL'}: restore it into a database of its kind")
    revs = bk.sqlite_revisions(file) if kind == "sqlite" else bk.pg_dump_revisions(file, url)
    if not revs:
        raise InvalidInput(f"{file} holds no crm database (no schema revision)")
    unknown = revs - _known_revisions()
    if unknown:
        raise InvalidInput(f"{file} is from a newer crm (revision {', '.join(sorted(unknown))}): upgrade crm first")
    replaced = bk.refuse_overwrite(engine, url, force=force)
    engine.dispose()
    if kind == "sqlite":
        bk.sqlite_restore(file, bk.database_file(url))
    else:
        bk.pg_restore(file, url)
    engine.dispose()
    before = current_revisions(engine) or set()
    _, after = upgrade(engine)
    st.info(f"restored {file} into {st.target().safe_url}" + ("; schema upgraded" if after != before else ""))
    st.render({"database": st.target().safe_url, "file": str(file), "revision_before": sorted(before),
               "revision_after": sorted(after), "replaced_data": bool(replaced)})


@app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Check the whole database: SQLite integrity_check and foreign_key_check (PostgreSQL:
    every foreign key re-verified, constraints validated, B-tree indexes with amcheck when
    installed), the tier references no foreign key enforces, then `points check` for every
    store. Exit 9 on any breach.

    Example: crm db check
    """
    from sqlalchemy import select
    from sqlmodel import col

    from crm_cli.db import backup as bk
    from crm_cli.db.models import Store
    from crm_cli.domain.errors import CheckFailed
    from crm_cli.services import points as svc

    st = state(ctx)
    engine = st.engine()
    lines = bk.sqlite_checks(engine) if engine.dialect.name == "sqlite" else bk.pg_checks(engine)
    with st.reading(store=False) as tx:
        stores = tx.session.execute(select(col(Store.id), col(Store.slug)).where(col(Store.purged_at).is_(None)).order_by(Store.slug)).all()
        for store_id, slug in stores:
            report = svc.check_store(tx.session, store_id=store_id, now=st.now())
            n = sum(c.breaches for c in report.checks)
            names = ", ".join(c.check for c in report.checks if c.breaches)
            lines.append(bk.CheckLine("points ledger", f"store {slug}", not n,
                                      f"{report.entries} entries, {report.points_balance} points open" if not n
                                      else f"{n} breach(es): {names} (see `crm --store {slug} points check`)"))
    st.render([vars(line) for line in lines], columns=CHECK_COLUMNS)
    failed = [line for line in lines if not line.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} check(s) failed: " + "; ".join(f"{f.check} ({f.scope})" for f in failed))
