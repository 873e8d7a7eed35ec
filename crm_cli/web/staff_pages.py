"""Staff pages: ``/staff/join/{token}`` (the invite link: sign in with LINE, name and phone,
`crm staff join`) and ``/staff/{store}`` (give points by phone or member QR and spend,
use a coupon code, today's entries of the branch). A staff member acts at their own
branch only; an admin picks any branch: the role checks of `crm points give --staff` and
`crm coupon use --staff`, through the same services."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request

from crm_cli.domain.errors import (
    Conflict,
    CrmError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from crm_cli.services import line_accounts
from crm_cli.web.pages import STAFF_LIMIT, Page, TokenLink, blocking, page, signed_in
from crm_cli.web.session import parse_member_qr

router = APIRouter()


def _mask(phone: str) -> str:
    from crm_cli.domain.redact import mask_phone

    return mask_phone(phone)


# ---------------------------------------------------------------- join

#: the staff invite link: its token names the store
INVITE = TokenLink(line_accounts.invite_store, command="serve staff join")


@router.get("/staff/join/{token}")
@page
def join_page(token: str, request: Request):
    pg = Page(request)
    pg.slug = INVITE.store(request, token)
    if pg.who() is None:
        return pg.login()
    with pg.state("serve staff join").reading() as tx:
        pg.store_name = tx.store.name
    return pg.html("staff_join.html", token=token, values={"name": pg.user().get("name") or "", "phone": ""}, errors={})


@router.post("/staff/join/{token}")
@page
async def join_post(token: str, request: Request):
    pg = Page(request)
    pg.slug = await blocking(INVITE.store, request, token)
    return await signed_in(pg, _join, token)


def _join(pg: Page, token: str, form):
    values = {"name": (form.get("name") or "").strip(), "phone": (form.get("phone") or "").strip()}
    st = pg.state("staff join")
    try:
        with st.transaction() as tx:
            pg.store_name = tx.store.name
            _, info = line_accounts.join_with_line(tx.session, token=token, user_id=pg.user()["sub"],
                                                   name=values["name"], phone_raw=values["phone"], now=st.now())
            tx.audit(f"{info.name} joined as {info.role} at {info.branch} (LINE)")
    except (InvalidInput, Conflict) as exc:
        msg = exc.message
        field = "name" if "name" in msg and "phone" not in msg else "phone" if ("phone" in msg or "staff in" in msg) else "form"
        return pg.html("staff_join.html", status=422 if isinstance(exc, InvalidInput) else 409, token=token,
                       values=values, errors={field: msg})
    pg.sess.set("flash", pg.t("joined"))
    return pg.redirect(f"/staff/{quote(pg.store_slug)}")


# ---------------------------------------------------------------- the counter


def _me(pg: Page, tx):
    me = line_accounts.staff_for_line(tx.session, store_id=tx.store.id, user_id=pg.user()["sub"])
    if me is None:
        raise PermissionDenied(pg.t("not_staff"))
    return me


def _at_counter(pg: Page, command: str):
    """The signed-in staff member about to write at the counter: ``(state, staff, store id)``,
    within the staff rate limit."""
    st = pg.state(command)
    with st.reading() as tx:
        me = _me(pg, tx)
        store_id = tx.store.id
    pg.rate(f"staff:{store_id}:{me.id}", STAFF_LIMIT, "staff")
    return st, me, store_id


def _counter(pg: Page, *, branch: str | None = None, status: int = 200, done: str | None = None,
             errors: dict | None = None, values: dict | None = None):
    st = pg.state("serve staff")
    with st.reading() as tx:
        pg.store_name = tx.store.name
        me = _me(pg, tx)
        allowed = line_accounts.branches_for(tx.session, store_id=tx.store.id, staff=me)
        here = branch if branch in allowed else me.branch if me.branch in allowed else (allowed[0] if allowed else me.branch)
        today = line_accounts.branch_today(tx.session, store_id=tx.store.id, branch=here, now=st.now())
    flash = pg.sess.drop("flash")
    return pg.html("staff.html", status=status, me=me, branches=allowed, branch=here, today=today, done=done or flash,
                   errors=errors or {}, values=values or {}, key=secrets.token_urlsafe(16))


@router.get("/staff/{store}")
@page
def staff_home(store: str, request: Request, branch: str | None = None):
    pg = Page(request, store)
    if pg.who() is None:
        return pg.login()
    return _counter(pg, branch=branch)


@router.post("/staff/{store}/give")
@page
async def staff_give(store: str, request: Request):
    return await signed_in(Page(request, store), _give)


def _give(pg: Page, form):
    from crm_cli.services import points

    values = {"member": (form.get("member") or "").strip(), "spend": (form.get("spend") or "").strip()}
    branch = (form.get("branch") or "").strip() or None
    key = (form.get("key") or "").strip()[:60]
    st, me, store_id = _at_counter(pg, "points give")
    try:
        try:
            member_id = parse_member_qr(pg.request, store_id=store_id, value=values["member"])
        except ValueError as exc:
            raise NotFound(str(exc)) from None
        with st.transaction() as tx:
            phone = values["member"]
            if member_id is not None:
                phone = line_accounts.member_phone(tx.session, store_id=tx.store.id, member_id=member_id)
            res = points.give_for_spend(tx.session, store_id=tx.store.id, phone=phone, spend=values["spend"],
                                        branch=branch, staff=me.phone, key=f"web:{key}" if key else None,
                                        now=st.now(), actor=st.actor_name())
            tx.audit(f"{'replayed' if res.duplicate else 'gave'} {res.points} points to {_mask(res.phone)} "
                     f"for {res.spend:.2f} THB at {res.branch} (staff page)")
    except (InvalidInput, NotFound) as exc:
        field = "spend" if ("spend" in exc.message or "amount" in exc.message) else "member"
        return _counter(pg, branch=branch, status=422 if isinstance(exc, InvalidInput) else 404,
                        errors={field: exc.message}, values=values)
    except (Conflict, PermissionDenied) as exc:
        return _counter(pg, branch=branch, status=409 if isinstance(exc, Conflict) else 403,
                        errors={"member": exc.message}, values=values)
    pg.sess.set("flash", pg.t("gave", n=res.points, phone=_mask(res.phone), balance=res.balance))
    return pg.redirect(f"/staff/{quote(pg.store_slug)}" + (f"?branch={quote(branch)}" if branch else ""))


@router.post("/staff/{store}/coupon")
@page
async def staff_coupon(store: str, request: Request):
    return await signed_in(Page(request, store), _use_coupon)


def _use_coupon(pg: Page, form):
    from crm_cli.services import rewards

    code = (form.get("code") or "").strip()
    branch = (form.get("branch") or "").strip() or None
    st, me, store_id = _at_counter(pg, "coupon use")
    try:
        with st.transaction() as tx:
            res = rewards.use_coupon(tx.session, store_id=tx.store.id, code=code, staff=me.phone, branch=branch,
                                     now=st.now())
            tx.audit(f"used coupon {res.code} ({res.reward}) for {_mask(res.phone or '')} (staff page)")
    except CrmError as exc:
        if not isinstance(exc, (InvalidInput, NotFound, Conflict, PermissionDenied)):
            raise
        from crm_cli.domain.errors import http_status

        return _counter(pg, branch=branch, status=http_status(exc), errors={"code": exc.message}, values={"code": code})
    pg.sess.set("flash", pg.t("coupon_used", code=res.code, reward=res.reward))
    return pg.redirect(f"/staff/{quote(pg.store_slug)}" + (f"?branch={quote(branch)}" if branch else ""))


@router.get("/{store}/staff/join")
def old_invite_link(store: str, token: str = ""):
    """Invite links printed before the pages existed: /SLUG/staff/join?token=..."""
    from fastapi.responses import RedirectResponse

    return RedirectResponse(f"/staff/join/{quote(token.strip())}", status_code=308)
