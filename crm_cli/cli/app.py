"""Root Typer app: global options, command groups, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from crm_cli.cli import complete
from crm_cli.domain.errors import CrmError

_DEBUG = {"on": False}

#: Command groups, loaded only when used: a command builds just its own group, so start-up
#: stays fast however many commands the tool grows. name -> (module, one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "db": ("crm_cli.cli.db", "Database: schema upgrade and status; backup, restore, check."),
    "store": ("crm_cli.cli.store", "Stores (shops): create, select, show, edit and delete."),
    "branch": ("crm_cli.cli.branch", "Branches of the current store (unlimited)."),
    "staff": ("crm_cli.cli.staff", "Staff of the current store: invites (link + QR), roles admin|staff."),
    "points": ("crm_cli.cli.points", "Points: earning rule, expiry, give, balance, history, adjust, QR claims, expiry job, checks."),
    "member": ("crm_cli.cli.member", "Members: register, show, list, tags, notes, erasure, template, import, export."),
    "form": ("crm_cli.cli.form", "Registration form: terms and conditions, questions, sign-up link."),
    "tier": ("crm_cli.cli.tier", "Tiers: on/off, cycle, thresholds, recalculation, history."),
    "reward": ("crm_cli.cli.reward", "Rewards: in-store coupons, deliveries, code pools; redeem."),
    "coupon": ("crm_cli.cli.coupon", "In-store coupons: use at the counter, cancel."),
    "delivery": ("crm_cli.cli.delivery", "Reward deliveries: list, update status, export."),
    "orders": ("crm_cli.cli.orders", "Marketplace orders (LINE SHOPPING, MyShop): import, sync, list."),
    "billing": ("crm_cli.cli.billing", "Subscription and billing: subscribe, Pro, cancel, resume, invoices."),
    "maintenance": ("crm_cli.cli.maintenance", "Nightly maintenance jobs for cron."),
    "report": ("crm_cli.cli.report", "Reports: summary, liability, expiring points."),
    "audit": ("crm_cli.cli.audit", "Audit trail: who changed what, when."),
    "line": ("crm_cli.cli.line", "The store's LINE Official Account: connect, status, disconnect."),
    "follower": ("crm_cli.cli.follower", "LINE followers: list, show, sync, tags, notes, link to members, import, export."),
    "chat": ("crm_cli.cli.chat", "1:1 chats with LINE followers: list, show, search."),
    "autoreply": ("crm_cli.cli.autoreply", "Keyword auto-replies (text, image, tappable image) with hit statistics."),
    "apikey": ("crm_cli.cli.apikey", "Counter API keys per branch: create, list, revoke."),
    "segment": ("crm_cli.cli.segment", "Audience segments: saved filters over members and LINE followers."),
    "campaign": ("crm_cli.cli.campaign", "Broadcast campaigns to a segment on LINE: create, schedule, send, stats."),
    "promo": ("crm_cli.cli.promo", "Unique promo codes: load or generate a pool, issue one per person, redeem."),
    "richmenu": ("crm_cli.cli.richmenu", "LINE rich menus: create, default, link to a segment, list, remove."),
    "survey": ("crm_cli.cli.survey", "Surveys with a PDPA notice and retention: create, send to a segment, results, export."),
}


#: The root options that every command also takes after its own words
#: (`crm branch list --format json` is `crm --format json branch list`).
#: root parameter -> AppState field
GLOBAL_OPTIONS = {"db": "db_url", "store": "store_slug", "fmt": "fmt", "quiet": "quiet", "debug": "debug", "actor": "actor"}
GLOBAL_EPILOG = ("Global options --format/-f, --store/-s, --db, --quiet/-q, --actor and --debug "
                 "work before the command group or after the command.")


def _store_global(ctx, param, value):
    """Parse-time callback of a global option given after the command: it overrides the
    value given (or defaulted) before the group, in the one AppState of the invocation."""
    if value is None or value is False or ctx.resilient_parsing:
        return value
    from crm_cli.cli.context import AppState

    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    st = root.obj
    if param.name == "fmt":
        _format_cb(value)
    elif param.name == "debug":
        _DEBUG["on"] = True
    setattr(st, GLOBAL_OPTIONS[param.name], value)
    return value


def _add_global_options(cmd, root_params) -> None:
    """Give every leaf command below ``cmd`` a copy of the root's global options (not passed
    to the command function: they go straight into AppState), once."""
    import copy

    subcommands = getattr(cmd, "commands", None)
    if subcommands is not None:
        for sub in subcommands.values():
            _add_global_options(sub, root_params)
        return
    if getattr(cmd, "_crm_globals", False):
        return
    taken = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    for param in root_params:
        if param.name not in GLOBAL_OPTIONS or taken.intersection(param.opts):
            continue
        clone = copy.copy(param)
        clone.expose_value = False
        clone.hidden = True
        clone.callback = _store_global
        cmd.params.append(clone)
    cmd.epilog = f"{cmd.epilog}\n\n{GLOBAL_EPILOG}" if cmd.epilog else GLOBAL_EPILOG
    cmd._crm_globals = True


class CrmGroup(TyperGroup):
    """The root group: loads command groups lazily, and turns CrmError (and any
    unexpected error) into one stderr line and an exit code."""

    _loaded: dict = {}

    def list_commands(self, ctx) -> list[str]:
        return list(super().list_commands(ctx)) + [n for n in GROUPS if n not in self.commands]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name in self.commands or cmd_name not in GROUPS:
            cmd = super().get_command(ctx, cmd_name)
            if cmd is not None:
                _add_global_options(cmd, self.params)
            return cmd
        cmd = self._loaded.get(cmd_name)
        if cmd is None:
            import importlib

            module = importlib.import_module(GROUPS[cmd_name][0])
            cmd = typer.main.get_group(module.app)
            cmd.name = cmd_name
            _add_global_options(cmd, self.params)
            self._loaded[cmd_name] = cmd
        return cmd

    def format_commands(self, ctx, formatter) -> None:
        rows = [(n, c.get_short_help_str(60)) for n, c in self.commands.items() if not c.hidden]
        rows += [(n, h) for n, (_m, h) in GROUPS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CrmError as exc:
            if _DEBUG["on"]:
                import traceback

                traceback.print_exc()
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except typer.Abort:
            # a prompt got Ctrl-C or end of input: no answer is a no
            from crm_cli.domain.errors import Declined

            typer.echo("error: no answer to the confirmation; nothing was done", err=True)
            raise typer.Exit(Declined.exit_code) from None
        except (typer.Exit, typer.TyperException, SystemExit):
            raise
        except BrokenPipeError:
            # the reader (e.g. `| head`) went away: stop quietly, as Unix tools do
            import os as _os
            import sys as _sys

            _os.dup2(_os.open(_os.devnull, _os.O_WRONLY), _sys.stdout.fileno())
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            from crm_cli.domain.errors import Interrupted

            typer.echo("error: interrupted; nothing was written by the unfinished command", err=True)
            raise typer.Exit(Interrupted.exit_code) from None
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
    add_completion=True,
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
    store: Annotated[Optional[str], typer.Option("--store", "-s", autocompletion=complete.stores, help="Store slug (env CRM_STORE, or `crm store use`).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="Output: table|json|csv|plain|markdown.", callback=_format_cb)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter (cron).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Name recorded in the audit log (env CRM_ACTOR; default: OS user).")] = None,
) -> None:
    """Global options: before the command group, or after the command (see GLOBAL_OPTIONS)."""
    from crm_cli.cli.context import AppState

    _DEBUG["on"] = debug or os.environ.get("CRM_DEBUG") == "1"
    ctx.obj = AppState(db_url=db, store_slug=store, fmt=fmt, quiet=quiet, debug=_DEBUG["on"], actor=actor)


def _mount() -> None:
    from crm_cli.cli import demo, exit_codes, serve

    demo.register(app)
    exit_codes.register(app)
    serve.register(app)


_mount()


def main(prog_name: str | None = None) -> None:
    try:
        try:
            app(prog_name=prog_name)
        finally:
            from crm_cli.cli.context import dispose_engines

            dispose_engines()
            _flush_stdout()
    except KeyboardInterrupt:
        # Ctrl-C outside a command's own handling (while starting, or while closing the
        # database after an interrupted command): the same documented exit, no traceback
        from crm_cli.domain.errors import Interrupted

        raise SystemExit(Interrupted.exit_code) from None


def _flush_stdout() -> None:
    """Flush what stdout still buffers; if the reader has gone (`crm member list | head -1`),
    end quietly with exit 0 as Unix tools do, without Python's shutdown warning."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
