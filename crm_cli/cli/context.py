"""Per-invocation state shared by every command: database, store, output, actor, clock.

A command does::

    st = state(ctx)
    with st.transaction() as tx:          # one write transaction + an audit record
        result = points.give_for_spend(tx.session, store_id=tx.store.id, ..., now=st.now())
        tx.audit(f"gave {result.points} points to {result.phone}")
    st.render(result)

Read-only commands use ``st.reading()``. Everything heavy is imported lazily.
"""

from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

import typer

from crm_cli.domain.errors import InvalidInput

# Start-up: on first use pydantic scans the entry points of every installed
# distribution for plugins (10-20 ms per command); crm uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

ENV_STORE = "CRM_STORE"
ENV_ACTOR = "CRM_ACTOR"
ENV_CONFIG_DIR = "CRM_CONFIG_DIR"

_ENGINES: dict[str, Any] = {}
_CURRENT: dict[str, str] = {}  # the URL of the database this invocation opened last


def current_url() -> str | None:
    return _CURRENT.get("url")


def dispose_engines() -> None:
    """Close every pooled connection. On SQLite the last connection to close merges the
    write-ahead log into the database file, so after any command the main file alone holds
    every committed change. The engines stay usable (a later call reconnects)."""
    for eng in list(_ENGINES.values()):
        try:
            eng.dispose()
        except Exception:  # noqa: BLE001 - closing at exit must never mask the command's outcome
            pass


def config_path():
    from pathlib import Path

    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override) / "config.json"
    from platformdirs import user_config_dir

    return Path(user_config_dir("crm", appauthor=False)) / "config.json"


def read_config() -> dict:
    import json

    path = config_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}


def write_config(data: dict) -> None:
    import json

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class StoreRef:
    """The current store as plain data (never a live ORM row)."""

    id: int
    slug: str
    name: str
    suspended: bool


@dataclass
class AppState:
    db_url: str | None = None
    store_slug: str | None = None
    fmt: str | None = None
    quiet: bool = False
    debug: bool = False
    actor: str | None = None
    command: str = "crm"

    # ------------------------------------------------------------------ basics
    def now(self) -> datetime:
        """The only clock: services receive it as ``now`` (freezegun pins it in tests)."""
        return datetime.now(timezone.utc)

    def as_of(self, raw: str | None, *, dry_run: bool = False, now: datetime | None = None) -> datetime:
        """The moment a job runs as: ``--as-of`` (Bangkok when no offset is given) or now.

        A moment after now would commit what has not happened yet (expire points early,
        suspend or purge stores), so it is refused unless the run is a dry run.
        """
        from crm_cli.domain.timeutil import BKK, parse_moment

        now = now or self.now()
        if raw is None:
            return now
        moment = parse_moment(raw)
        if moment > now and not dry_run:
            raise InvalidInput(
                f"--as-of {moment.astimezone(BKK):%Y-%m-%d %H:%M} Bangkok is in the future "
                f"(now {now.astimezone(BKK):%Y-%m-%d %H:%M}): nothing is written ahead of time; "
                "add --dry-run to preview it"
            )
        return moment

    def actor_name(self) -> str:
        if self.actor:
            return self.actor
        env = os.environ.get(ENV_ACTOR)
        if env:
            return env
        try:
            return getpass.getuser()
        except Exception:
            return "unknown"

    @property
    def interactive(self) -> bool:
        return not self.quiet and sys.stderr.isatty()

    def target(self):
        from crm_cli.db.engine import resolve_url

        return resolve_url(self.db_url)

    def engine(self, *, check_schema: bool = True):
        from crm_cli.db.engine import make_engine
        from crm_cli.db.schema import ensure_current

        target = self.target()
        _CURRENT["url"] = target.url
        key = f"{target.url}|{check_schema}"
        eng = _ENGINES.get(key)
        if eng is None:
            eng = make_engine(target)
            if check_schema:
                ensure_current(eng, auto_upgrade=target.embedded_default, safe_url=target.safe_url)
            _ENGINES[key] = eng
        return eng

    # ------------------------------------------------------------------ store
    def store_slug_resolved(self, required: bool = True) -> str | None:
        slug = self.store_slug or os.environ.get(ENV_STORE) or read_config().get("store")
        if not slug and required:
            raise InvalidInput(
                "no store selected: pass --store SLUG, set CRM_STORE, or run `crm store use SLUG`"
            )
        return slug

    def load_store(self, bind, *, allow_suspended: bool = False) -> StoreRef:
        """The selected store, refused when it does not exist or its service is off (unless
        ``allow_suspended``). ``bind``: the unit of work's Session or Core connection; the
        service state comes from the events and invoices, not from the nightly job's flag."""
        from crm_cli.services import store_state

        slug = self.store_slug_resolved()
        assert slug is not None  # required: a missing store is refused with InvalidInput first
        found = store_state.by_slug(bind, slug, now=self.now(), allow_suspended=allow_suspended)
        return StoreRef(id=found.id, slug=found.slug, name=found.name, suspended=found.suspended)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(
        self, *, store: bool = True, allow_suspended: bool = False, dry_run: bool = False
    ) -> Iterator["Tx"]:
        from crm_cli.db.uow import unit_of_work

        with unit_of_work(self.engine(), write=True, dry_run=dry_run) as session:
            tx = Tx(session=session, state=self)
            if store:
                tx.store = self.load_store(session, allow_suspended=allow_suspended)
            yield tx
            if not dry_run:
                tx._write_audit()
                written = tx._store_written()
        if not dry_run and written:
            self.info(f"store: {written}")  # the operator always sees which store was changed

    @contextmanager
    def reading(self, *, store: bool = True, allow_suspended: bool = False, core: bool = False) -> Iterator["Tx"]:
        """A read-only unit of work. ``core``: the transaction as a SQLAlchemy Core connection
        (``tx.conn``) instead of an ORM session, for reads that need no model classes (the
        start-up of `crm points balance` and `crm store list`)."""
        from crm_cli.db.uow import connection, unit_of_work

        opened = connection if core else unit_of_work
        with opened(self.engine(), write=False) as bind:
            tx = Tx(session=bind, state=self)
            if store:
                tx.store = self.load_store(bind, allow_suspended=allow_suspended)
            yield tx

    # ------------------------------------------------------------------ output
    def render(self, data: Any, *, columns: list[str] | None = None, title: str | None = None) -> None:
        from crm_cli.cli.render import render

        render(data, fmt=self.fmt or "table", columns=columns, title=title)

    def info(self, message: str) -> None:
        """Human chatter goes to stderr (never stdout, which is data)."""
        if not self.quiet:
            typer.echo(message, err=True)

    def progress(self, total: int | None, description: str):
        from crm_cli.cli.render import progress

        return progress(total=total, description=description, enabled=self.interactive)


@dataclass
class Tx:
    session: Any
    state: AppState
    store: StoreRef | None = None
    summary: str = ""
    _extra_store_id: int | None = field(default=None, repr=False)
    store_label: str | None = None  # names the store written to when its row no longer does (deleted)

    @property
    def conn(self) -> Any:
        """The unit of work's connection or session (both run Core statements)."""
        return self.session

    def audit(self, summary: str, *, store_id: int | None = None) -> None:
        self.summary = summary
        if store_id is not None:
            self._extra_store_id = store_id

    def _store_written(self) -> str | None:
        """Slug of the store this transaction wrote to (the current one, or the one named by audit)."""
        if self.store_label:
            return self.store_label
        if self._extra_store_id is not None and (self.store is None or self.store.id != self._extra_store_id):
            from crm_cli.db.models import Store

            row = self.session.get(Store, self._extra_store_id)
            return row.slug if row is not None else None
        return self.store.slug if self.store else None

    def _write_audit(self) -> None:
        from crm_cli.services.audit import record

        store_id = self._extra_store_id or (self.store.id if self.store else None)
        record(
            self.session,
            store_id=store_id,
            actor=self.state.actor_name(),
            command=self.state.command,
            summary=self.summary,
            now=self.state.now(),
        )


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    st = root.obj
    if not isinstance(st, AppState):
        st = AppState()
        root.obj = st
    names = []
    c = ctx
    while c.parent is not None:  # the command's own words, however the program was started
        names.append(c.info_name)
        c = c.parent
    st.command = " ".join(reversed(names)) or "crm"
    return st
