"""Root Typer app: global options, command groups, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from crm_cli.domain.errors import CrmError

_DEBUG = {"on": False}


class CrmGroup(TyperGroup):
    """Turns CrmError (and any unexpected error) into one stderr line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CrmError as exc:
            if _DEBUG["on"]:
                import traceback

                traceback.print_exc()
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("error: interrupted; nothing was written by the unfinished command", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the one catch-all, by design
            if _DEBUG["on"]:
                raise
            from crm_cli.cli.errors import describe_unexpected

            code, message = describe_unexpected(exc)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="Administer a loyalty-points CRM: stores, branches, staff, points, members, tiers, rewards, orders and billing.\n\n"
    "Example: crm --store coffee points give 081-234-5678 --spend 350",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _format_cb(value: Optional[str]) -> Optional[str]:
    from crm_cli.cli.render import FORMATS

    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"must be one of: {', '.join(FORMATS)}")
    return value


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: embedded SQLite in the user data dir; env CRM_DATABASE_URL).", show_default=False)] = None,
    store: Annotated[Optional[str], typer.Option("--store", "-s", help="Store slug (env CRM_STORE, or `crm store use`).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="Output: table|json|csv|plain|markdown.", callback=_format_cb)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter (cron).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Name recorded in the audit log (env CRM_ACTOR; default: OS user).")] = None,
) -> None:
    """Global options come before the command group."""
    from crm_cli.cli.context import AppState

    _DEBUG["on"] = debug or os.environ.get("CRM_DEBUG") == "1"
    ctx.obj = AppState(db_url=db, store_slug=store, fmt=fmt, quiet=quiet, debug=_DEBUG["on"], actor=actor)


def _mount() -> None:
    from crm_cli.cli import (
        audit, billing, branch, coupon, db, delivery, demo, form, maintenance, member,
        orders, points, report, reward, staff, store, tier,
    )

    app.add_typer(db.app, name="db")
    app.add_typer(store.app, name="store")
    app.add_typer(branch.app, name="branch")
    app.add_typer(staff.app, name="staff")
    app.add_typer(points.app, name="points")
    app.add_typer(member.app, name="member")
    app.add_typer(form.app, name="form")
    app.add_typer(tier.app, name="tier")
    app.add_typer(reward.app, name="reward")
    app.add_typer(coupon.app, name="coupon")
    app.add_typer(delivery.app, name="delivery")
    app.add_typer(orders.app, name="orders")
    app.add_typer(billing.app, name="billing")
    app.add_typer(maintenance.app, name="maintenance")
    app.add_typer(report.app, name="report")
    app.add_typer(audit.app, name="audit")
    demo.register(app)


_mount()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
