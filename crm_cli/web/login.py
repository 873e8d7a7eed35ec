"""LINE Login for the member and staff pages.

``GET /login/{store}?next=/m/{store}`` starts the code flow with the store's LINE Login
channel (`crm line connect --login-channel-id ID --login-channel-secret SECRET`): the
``state``, ``nonce`` and PKCE ``code_verifier`` go into the signed session cookie, the
browser goes to LINE. LINE sends it back to ``GET /auth/line/callback`` (the callback URL
to register in the LINE Developers console: ``https://HOST/auth/line/callback``); the code
is exchanged, the ID token verified, and the LINE userId is the person on this store's
pages until they sign out (``POST /logout/{store}``).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, Request

from crm_cli.domain.errors import InvalidInput, NotFound
from crm_cli.web.pages import Page, page, safe_next

router = APIRouter()
PENDING_SECONDS = 600  # a sign-in must come back within 10 minutes


def _callback_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/auth/line/callback"


def _login_channel(st):
    from crm_cli.services import line_channel

    with st.reading() as tx:  # a suspended store refuses here, like every command
        store_name = tx.store.name
        try:
            creds = line_channel.credentials(tx.session, store_id=tx.store.id)
        except NotFound:
            creds = None
    return store_name, creds


@router.get("/login/{store}")
@page
def login_start(store: str, request: Request, next: str | None = None):
    from crm_cli.line import login as line_login

    pg = Page(request, store)
    store_name, creds = _login_channel(pg.state("serve login"))
    pg.store_name = store_name
    if creds is None or not creds.login_channel_id:
        return pg.html("error.html", status=503, title=pg.t("no_login_channel"),
                       message="LINE Login is not set up for this store: run `crm line connect --login-channel-id ID "
                               "--login-channel-secret SECRET`")
    redirect_uri = _callback_url(request)
    started = line_login.start(channel_id=creds.login_channel_id, redirect_uri=redirect_uri,
                               ui_locales="th-TH" if pg.lang == "th" else "en-US")
    pg.sess.set("login", {"state": started.state, "nonce": started.nonce, "verifier": started.code_verifier,
                          "slug": store, "next": safe_next(next, f"/m/{quote(store)}"), "uri": redirect_uri,
                          "at": int(time.time())})
    return pg.redirect(started.url)


@router.get("/auth/line/callback")
@page
def login_callback(request: Request, code: str | None = None, state: str | None = None, error: str | None = None):
    from crm_cli.line import login as line_login
    from crm_cli.line.client import LineApiError

    pg = Page(request)
    pending = pg.sess.drop("login")
    if not isinstance(pending, dict) or not line_login.same(pending.get("state"), state) \
            or time.time() - int(pending.get("at") or 0) > PENDING_SECONDS:
        raise InvalidInput(pg.t("sign_in_expired"))
    slug = pending["slug"]
    pg.slug = slug
    if error or not code:
        return pg.html("error.html", status=400, title=pg.t("sign_in_cancelled"),
                       message=pg.t("sign_in_cancelled"), retry=f"/login/{quote(slug)}?next={quote(pending['next'])}")
    store_name, creds = _login_channel(pg.state("serve login"))
    pg.store_name = store_name
    if creds is None or not creds.login_channel_id or not creds.login_channel_secret:
        raise NotFound(pg.t("no_login_channel"))
    try:
        with line_login.LoginClient(creds.login_channel_id, creds.login_channel_secret) as client:
            who = client.finish(code=code, redirect_uri=pending["uri"], code_verifier=pending["verifier"],
                                nonce=pending["nonce"])
    except LineApiError as exc:
        return pg.error(exc)
    pg.sess.sign_in(slug, who.user_id, who.name)
    return pg.redirect(safe_next(pending.get("next"), f"/m/{quote(slug)}"))


@router.post("/logout/{store}")
@page
async def logout(store: str, request: Request):
    form = await request.form()
    pg = Page(request, store)
    pg.check_csrf(form)
    pg.sess.sign_out(store)
    return pg.html("error.html", status=200, title=pg.t("sign_out"), message=pg.t("sign_out"),
                   retry=f"/m/{quote(store)}")
