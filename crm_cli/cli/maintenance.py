"""crm maintenance: the nightly jobs for cron."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import whole
from crm_cli.cli.run import current_store_id
from crm_cli.domain.maintenance import parse_only

app = typer.Typer(help="Nightly maintenance jobs for cron.", no_args_is_help=True)


@app.command("run")
def maintenance_run(
    ctx: typer.Context,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Run as if at this moment (default now), e.g. 2026-12-01T19:00; a future moment needs --dry-run.")] = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only these jobs (repeat or comma-separate): expire, tiers, orders, invoices, suspensions, purges, retention, surveys, campaigns, richmenus.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run every job and roll it back; shows what would happen (e.g. purge counts).")] = False,
) -> None:
    """Run the day's jobs in order: expire points, tiers, order sync, invoices, suspensions, purges, retention.

    One summary line per job on stdout; exit 9 if any job failed (the others still run);
    exit 4 at once if another run holds the lock.
    With --store SLUG only that store is processed; without it, every store.
    Example: crm --quiet maintenance run
    """
    from crm_cli.domain.errors import CheckFailed
    from crm_cli.services import audit, maintenance

    st = state(ctx)
    jobs = parse_only(only, list(maintenance.JOBS))
    when = st.as_of(as_of, dry_run=dry_run)
    engine = st.engine()
    store_id = None
    if st.store_slug:  # only an explicit --store limits the run (cron without it does every store)
        with st.reading(allow_suspended=True) as tx:
            store_id = current_store_id(tx)
    with st.progress(len(jobs), "maintenance") as bar:
        results = maintenance.run(engine, as_of=when, jobs=jobs, dry_run=dry_run, actor=st.actor_name(),
                                  clock=st.now, progress=bar, store_id=store_id)
    failed = [r.job for r in results if r.status != "ok"]
    if not dry_run:
        from crm_cli.db.uow import unit_of_work
        from crm_cli.domain.plain import bangkok_minute

        with unit_of_work(engine, write=True) as session:  # a --store run is recorded against that store
            audit.record(session, store_id=store_id, actor=st.actor_name(), command=st.command, now=st.now(),
                         summary=f"maintenance as of {bangkok_minute(when)} Bangkok: "
                         + "; ".join(f"{r.job} {r.status}" for r in results))
    if (st.fmt or "table") == "table":
        import sys

        from crm_cli.domain.timeutil import BKK

        cron = st.quiet or not sys.stdout.isatty()  # a log file: each line says when
        for r in results:
            typer.echo(f"{r.finished_at.astimezone(BKK).isoformat(timespec='seconds')} {r.line}" if cron else r.line)
    else:
        st.render(results, columns=["job", "status", "summary", "as_of", "started_at", "finished_at"])
    if failed:
        raise CheckFailed(f"{len(failed)} maintenance job(s) failed: {', '.join(failed)}; the other jobs ran (see the lines above)")


@app.command("history")
def maintenance_history(
    ctx: typer.Context,
    job: Annotated[Optional[str], typer.Option("--job", help="Only this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="Show at most this many runs.")] = 50,
) -> None:
    """Recent job runs recorded by `maintenance run`, newest first.

    Example: crm maintenance history --job invoices
    """
    from crm_cli.services import maintenance

    st = state(ctx)
    with st.reading(store=False) as tx:
        rows = maintenance.history(tx.session, limit=limit, job=job)
    st.render(rows, columns=["id", "job", "status", "as_of", "finished_at", "summary"])
