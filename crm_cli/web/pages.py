"""What the member and staff pages share: templates (Jinja2, autoescape on), the session,
the language, redirects to LINE Login, CSRF checks, rate limits and error pages.

A page route is the web twin of a command: parse the form, one transaction (the CLI's
``AppState.transaction()``, so the same audit record is written), one service call,
render. A domain error becomes an HTML page (or the form again, with the message next
to the field) with the HTTP status its error class declares (``http=``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import HTMLResponse, RedirectResponse

from crm_cli.domain.errors import (
    CrmError,
    PermissionDenied,
    StoreSuspended,
    http_status,
)
from crm_cli.web import i18n
from crm_cli.web import session as sessions
from crm_cli.web.context import web_state

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
log = logging.getLogger("crm.web.pages")

#: rate limits (kept in the database: every server process counts the same attempts)
CLAIM_LIMIT = (10, timedelta(minutes=10))
REDEEM_LIMIT = (10, timedelta(minutes=10))
STAFF_LIMIT = (120, timedelta(minutes=10))


@functools.lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["bkk"] = _bkk
    env.filters["thb"] = lambda v: f"{v:,.2f}" if v is not None else ""
    env.filters["num"] = lambda v: f"{v:,}" if v is not None else ""
    return env


def _bkk(at, fmt: str = "%Y-%m-%d %H:%M") -> str:
    from crm_cli.domain.timeutil import BKK

    return at.astimezone(BKK).strftime(fmt) if at is not None else ""


def qr_data_uri(data: str) -> str:
    """A QR code as an inline PNG (``data:`` URI): no image host, no CDN."""
    import base64
    import io

    import qrcode

    qr = qrcode.QRCode(border=2, box_size=8, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class Page:
    """One request of a page: its session, language and store."""

    def __init__(self, request, slug: str | None = None) -> None:
        self.request = request
        self.sess = sessions.load(request)
        self.slug = slug
        asked = (request.query_params.get("lang") or "").lower()
        if asked in i18n.LANGS and self.sess.get("lang") != asked:
            self.sess.set("lang", asked)
        self.lang = i18n.pick(request, self.sess.get("lang"))
        self.t = i18n.translator(self.lang)
        self.store_name: str | None = None

    # -------------------------------------------------------------- state
    def who(self) -> dict | None:
        return self.sess.who(self.slug) if self.slug else None

    def user(self) -> dict:
        """The signed-in LINE user, on a page past its login check."""
        who = self.who()
        if who is None:
            raise RuntimeError("nobody is signed in on this page")
        return who

    @property
    def store_slug(self) -> str:
        """The page's store, on a page past its store lookup."""
        if self.slug is None:
            raise RuntimeError("this page has no store yet")
        return self.slug

    def actor(self) -> str:
        who = self.who()
        return f"line:{who['sub']}" if who else "web"

    def state(self, command: str):
        return web_state(self.request, store=self.slug, command=command, actor=self.actor())

    # -------------------------------------------------------------- responses
    def _finish(self, response):
        sessions.save(self.request, response)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
            "form-action 'self' " + _login_origin() + "; frame-ancestors 'none'; base-uri 'none'")
        return response

    def html(self, template: str, status: int = 200, **ctx):
        body = environment().get_template(template).render(
            t=self.t, lang=self.lang, slug=self.slug, store_name=self.store_name or self.slug or "",
            csrf=self.sess.csrf(), path=self.request.url.path, signed_in=self.who() is not None,
            lang_url=self._lang_url(), **ctx)
        return self._finish(HTMLResponse(body, status_code=status))

    def _lang_url(self) -> str:
        """This page in the other language (its other query parameters kept)."""
        other = "en" if self.lang == "th" else "th"
        if self.request.method != "GET":  # a form answered: back to its page, not to the POST address
            base = "/staff/" if self.request.url.path.startswith("/staff/") else "/m/"
            return f"{base}{quote(self.slug)}?lang={other}" if self.slug else f"?lang={other}"
        url = self.request.url.include_query_params(lang=other)
        return f"{url.path}?{url.query}"

    def redirect(self, url: str):
        return self._finish(RedirectResponse(url, status_code=303))

    def login(self):
        """Send the browser to LINE Login, back to this page afterwards."""
        nxt = self.request.url.path
        return self.redirect(f"/login/{quote(self.slug)}?next={quote(nxt)}")

    def error(self, exc: CrmError):
        status = http_status(exc)
        if status == 429:
            title = self.t("too_many")
        elif isinstance(exc, StoreSuspended):
            title = self.t("suspended")
        elif isinstance(exc, PermissionDenied):
            title = self.t("not_allowed")
        elif status == 404:
            title = self.t("not_found")
        elif status == 502:
            title = self.t("line_failed")
        else:
            title = self.t("error")
        return self.html("error.html", status=status, title=title, message=exc.message)

    def check_csrf(self, form) -> None:
        if not self.sess.csrf_ok(form.get(sessions.CSRF_FIELD)):
            raise PermissionDenied("the form expired or did not come from this site: reload the page and try again")

    def rate(self, bucket: str, limit: tuple, what: str) -> None:
        """Count an attempt in its own committed transaction (so failed attempts count too)."""
        from crm_cli.db.uow import unit_of_work
        from crm_cli.services import web_security

        st = self.state("serve rate limit")
        with unit_of_work(st.engine(), write=True) as session:
            web_security.hit(session, bucket=bucket, limit=limit[0], window=limit[1], now=st.now(), what=what)


def _login_origin() -> str:
    from crm_cli.line.endpoints import Endpoints

    return Endpoints.from_env().login


def client_ip(request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(raw: str | None, default: str) -> str:
    """Only a path on this site (never '//host' or a scheme): no open redirect."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw or "\n" in raw or "\r" in raw:
        return default
    return raw


def page(fn):
    """A page route: a domain error becomes an error page (HTML, the HTTP status of the error).
    A POST route is ``async`` (it reads the form) and runs its work with :func:`blocking`."""
    import inspect

    def _error(kwargs, exc):
        slug = kwargs.get("store") or kwargs.get("slug")
        return Page(kwargs.get("request"), slug).error(exc)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def awrapper(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except CrmError as exc:
                return _error(kwargs, exc)

        return awrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CrmError as exc:
            return _error(kwargs, exc)

    return wrapper


async def blocking(fn, *args, **kwargs):
    """Database work off the event loop (FastAPI's thread pool), from an async POST route."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args, **kwargs)


async def signed_in(pg: Page, work, *args):
    """A form posted to a page for a signed-in person: LINE Login first when nobody is
    signed in, then the CSRF token checked, then ``work(pg, *args, form)`` off the event loop."""
    form = await pg.request.form()
    if pg.who() is None:
        return pg.login()
    pg.check_csrf(form)
    return await blocking(work, pg, *args, form)


@dataclass(frozen=True)
class TokenLink:
    """A link whose token names its store (a staff invite, a QR claim): ``owner`` answers the
    store's id for a token and refuses a token it does not know or whose store is purged
    (``line_accounts.invite_store``, ``qr_store``); ``command`` is what the page does in the audit."""

    owner: Callable[..., int]
    command: str

    def store(self, request, token: str) -> str:
        """The slug of the token's store."""
        from crm_cli.db.models import Store

        st = web_state(request, command=self.command, actor="web")
        with st.reading(store=False) as tx:
            return tx.session.get(Store, self.owner(tx.session, token=token)).slug
