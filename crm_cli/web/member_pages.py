"""Member pages (opened from the Rich Menu, or as a LIFF app inside LINE):

- ``/m/{store}``: LINE Login, then registration (terms, questions, phone, name, optional
  birthday/gender/email) or, for a registered member, the member card;
- ``/m/{store}/history``, ``/m/{store}/rewards`` (+ redeem with a confirmation step),
  ``/m/{store}/coupons`` (+ one coupon with its QR);
- ``/claim/{token}``: the link inside a `crm points qr` code.

Every change goes through the command's own service and writes the command's audit record.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import APIRouter, Request

from crm_cli.domain.errors import Conflict, CrmError, InvalidInput
from crm_cli.services import line_accounts
from crm_cli.web.pages import (
    CLAIM_LIMIT,
    REDEEM_LIMIT,
    Page,
    TokenLink,
    blocking,
    client_ip,
    page,
    qr_data_uri,
    signed_in,
)
from crm_cli.web.session import member_qr_value

router = APIRouter()

FIELDS = ("phone", "name", "birthday", "gender", "email")


def _mask(phone: str) -> str:
    from crm_cli.domain.redact import mask_phone

    return mask_phone(phone)


def _me(tx, pg: Page):
    """The signed-in member of this store, or None (not registered yet)."""
    who = pg.user()
    return line_accounts.member_for_line(tx.session, store_id=tx.store.id, user_id=who["sub"])


def _form_context(tx) -> dict:
    from crm_cli.services import forms

    terms = forms.current_terms(tx.session, tx.store.id)
    qs = []
    for q in forms.questions(tx.session, tx.store.id):
        qs.append({"id": q.id, "number": q.position, "text": q.text, "kind": q.kind, "required": q.required,
                   "choices": [c.value for c in forms.question_choices(q)]})
    return {"terms": terms.text if terms else None, "terms_version": terms.version if terms else None, "questions": qs}


def _answers(form, questions: list[dict]) -> list[str]:
    """The form's ``q_<id>`` fields as the CLI's ``--answer NUMBER=VALUE`` strings."""
    out = []
    for q in questions:
        key = f"q_{q['id']}"
        if q["kind"] == "multi":
            picked = [v.strip() for v in form.getlist(key) if v.strip()]
            if picked:
                out.append(f"{q['number']}={','.join(picked)}")
        else:
            value = (form.get(key) or "").strip()
            if value:
                out.append(f"{q['number']}={value}")
    return out


# ---------------------------------------------------------------- card / registration


@router.get("/m/{store}")
@page
def member_home(store: str, request: Request):
    pg = Page(request, store)
    if pg.who() is None:
        return pg.login()
    st = pg.state("serve member card")
    with st.reading() as tx:
        pg.store_name = tx.store.name
        me = _me(tx, pg)
        if me is None or me.consent_terms_version is None:
            ctx = _form_context(tx)
            values = {"phone": ""}
            if me is not None:  # their own imported details (linked to this LINE account), to confirm
                values = {"phone": me.phone, "name": me.name or "", "email": me.email or "", "gender": me.gender or "",
                          "birthday": me.birthday.strftime("%d/%m/%Y") if me.birthday else ""}
            return pg.html("register.html", values=values, errors={},
                           confirm=me is not None, **ctx)
        card = line_accounts.card(tx.session, store_id=tx.store.id, member=me, now=st.now())
        qr_value = member_qr_value(request, store_id=tx.store.id, member_id=me.id)
    flash = pg.sess.drop("flash")
    return pg.html("card.html", card=card, qr=qr_data_uri(qr_value), qr_value=qr_value, flash=flash)


@router.post("/m/{store}/register")
@page
async def member_register(store: str, request: Request):
    return await signed_in(Page(request, store), _register)


def _register(pg: Page, form):
    who = pg.user()
    values = {k: (form.get(k) or "").strip() for k in FIELDS}
    st = pg.state("member register")
    with st.reading() as tx:
        pg.store_name = tx.store.name
        ctx = _form_context(tx)
        me = _me(tx, pg)
    answers = _answers(form, ctx["questions"])
    errors = _field_errors(values, st.now())
    if errors:  # every field at once, each with the words `crm member register` uses
        given = {k: v for k, v in form.multi_items() if k.startswith("q_")}
        return pg.html("register.html", status=422, values=values, errors=errors, answers=given,
                       confirm=me is not None, **ctx)
    try:
        with st.transaction() as tx:
            res = line_accounts.register_with_line(
                tx.session, store_id=tx.store.id, user_id=who["sub"], display_name=who.get("name") or None,
                phone_raw=values["phone"], name=values["name"], accept_terms=form.get("accept_terms") in ("1", "on", "yes"),
                gender=values["gender"] or None, birthday=values["birthday"] or None, email=values["email"] or None,
                answers=answers, now=st.now(), actor=st.actor_name())
            verb = "registered" if res.kind == "registered" else "confirmed the imported member"
            tx.audit(f"{verb} {_mask(res.phone)} on the member page (LINE), terms v{res.terms_version}"
                     + (f", {res.welcome_points} welcome points" if res.welcome_points else ""))
    except CrmError as exc:
        field = getattr(exc, "field", None)
        if field in FIELDS:
            errors[field] = exc.message
        elif isinstance(exc, Conflict) and "consent" in exc.message:
            errors["accept_terms"] = exc.message
        elif isinstance(exc, Conflict) and "registered" in exc.message:
            errors["phone"] = exc.message
        elif isinstance(exc, (InvalidInput, Conflict)):
            errors["questions" if ctx["questions"] else "form"] = exc.message
        else:
            raise
        given = {k: v for k, v in form.multi_items() if k.startswith("q_")}
        return pg.html("register.html", status=422 if isinstance(exc, InvalidInput) else 409, values=values,
                       errors=errors, answers=given, confirm=me is not None, **ctx)
    if res.kind == "confirmed":
        flash = pg.t("confirmed")
    else:
        flash = pg.t("registered")
        if res.merged_points:
            flash += " · " + pg.t("merged", n=res.merged_points)
        if res.welcome_points:
            flash += " · " + pg.t("welcome", n=res.welcome_points)
    pg.sess.set("flash", flash)
    after = pg.sess.drop("after")
    return pg.redirect(after if isinstance(after, str) and after.startswith("/claim/") else f"/m/{quote(pg.store_slug)}")


def _field_errors(values: dict, now) -> dict[str, str]:
    """Check each field with the rule the service applies (domain.member_fields)."""
    from crm_cli.domain import member_fields as fields
    from crm_cli.domain.timeutil import bkk_date

    checks = {
        "phone": lambda v: fields.phone(v),
        "name": lambda v: fields.name(v),
        "birthday": lambda v: fields.birthday(v or None, today=bkk_date(now)),
        "gender": lambda v: fields.gender(v or None),
        "email": lambda v: fields.email(v or None),
    }
    errors = {}
    for name, check in checks.items():
        try:
            check(values[name])
        except CrmError as exc:
            errors[name] = exc.message
    return errors


def _member_or_register(pg: Page, tx):
    me = _me(tx, pg)
    if me is None or me.consent_terms_version is None:
        return None
    return me


@contextmanager
def _member_reading(pg: Page, command: str):
    """A read-only transaction for the signed-in member's page: ``(state, tx, member)``,
    the member None while they have not registered (or confirmed) yet."""
    st = pg.state(command)
    with st.reading() as tx:
        pg.store_name = tx.store.name
        yield st, tx, _member_or_register(pg, tx)


def _member_page(store: str, request: Request, command: str, view):
    """A registered member's page: LINE Login first, the card page (registration) for one
    who has not registered; else ``view(pg, st, tx, member)`` makes it."""
    pg = Page(request, store)
    if pg.who() is None:
        return pg.login()
    with _member_reading(pg, command) as (st, tx, me):
        if me is None:
            return pg.redirect(f"/m/{quote(store)}")
        return view(pg, st, tx, me)


@router.get("/m/{store}/history")
@page
def member_history(store: str, request: Request):
    from crm_cli.services import points

    def view(pg: Page, st, tx, me):
        rows = points.history(tx.session, store_id=tx.store.id, phone=me.phone, limit=100)
        return pg.html("history.html", rows=rows[::-1])

    return _member_page(store, request, "serve member history", view)


# ---------------------------------------------------------------- rewards


@router.get("/m/{store}/rewards")
@page
def member_rewards(store: str, request: Request):
    def view(pg: Page, st, tx, me):
        card = line_accounts.card(tx.session, store_id=tx.store.id, member=me, now=st.now())
        offers = line_accounts.rewards_for(tx.session, store_id=tx.store.id, member=me, now=st.now())
        return pg.html("rewards.html", card=card, offers=offers)

    return _member_page(store, request, "serve member rewards", view)


def _redeem_page(pg: Page, tx, me, ref: str, now, *, errors=None, address: str = "", status: int = 200):
    card = line_accounts.card(tx.session, store_id=tx.store.id, member=me, now=now)
    offer = line_accounts.reward_for(tx.session, store_id=tx.store.id, member=me, ref=ref, now=now)
    return pg.html("redeem.html", status=status, card=card, offer=offer, errors=errors or {},
                   address=address or (me.address or ""), key=secrets.token_urlsafe(16))


@router.get("/m/{store}/rewards/{ref}")
@page
def member_redeem_confirm(store: str, ref: str, request: Request):
    return _member_page(store, request, "serve member rewards",
                        lambda pg, st, tx, me: _redeem_page(pg, tx, me, ref, st.now()))


@router.post("/m/{store}/rewards/{ref}")
@page
async def member_redeem(store: str, ref: str, request: Request):
    return await signed_in(Page(request, store), _redeem, ref)


def _redeem(pg: Page, ref: str, form):
    from crm_cli.services import rewards

    who = pg.user()
    key = (form.get("key") or "").strip()[:60]
    address = (form.get("address") or "").strip()
    with _member_reading(pg, "reward redeem") as (st, tx, me):
        if me is None:
            return pg.redirect(f"/m/{quote(pg.store_slug)}")
        offer = line_accounts.reward_for(tx.session, store_id=tx.store.id, member=me, ref=ref, now=st.now())
        store_id, phone = tx.store.id, me.phone
    pg.rate(f"redeem:{store_id}:{who['sub']}", REDEEM_LIMIT, "redeem")
    try:
        with st.transaction() as tx:
            res = rewards.redeem(tx.session, store_id=tx.store.id, name=offer.id, phone_raw=phone,
                                 address=address or None, now=st.now(), actor=st.actor_name(),
                                 key=f"web:{key}" if key else None)
            tx.audit(f"{'replayed' if res.duplicate else 'redeemed'} '{res.reward}' for {_mask(res.phone)} "
                     f"({res.points} points) on the member page")
    except (InvalidInput, Conflict) as exc:
        field = "address" if "address" in exc.message else "form"
        with st.reading() as tx:
            me = _member_or_register(pg, tx)
            return _redeem_page(pg, tx, me, ref, st.now(), errors={field: exc.message}, address=address,
                                status=422 if isinstance(exc, InvalidInput) else 409)
    pg.sess.set("flash", f"{pg.t('redeemed')}: {res.reward}")
    code = res.coupon_code or res.pool_code
    if code and res.coupon_code:
        return pg.redirect(f"/m/{quote(pg.store_slug)}/coupons/{quote(res.coupon_code)}")
    return pg.redirect(f"/m/{quote(pg.store_slug)}/coupons")


# ---------------------------------------------------------------- coupons


@router.get("/m/{store}/coupons")
@page
def member_coupons(store: str, request: Request):
    def view(pg: Page, st, tx, me):
        rows = line_accounts.coupons_of(tx.session, store_id=tx.store.id, member=me)
        return pg.html("coupons.html", rows=rows, flash=pg.sess.drop("flash"))

    return _member_page(store, request, "serve member coupons", view)


@router.get("/m/{store}/coupons/{code}")
@page
def member_coupon(store: str, code: str, request: Request):
    def view(pg: Page, st, tx, me):
        c = line_accounts.coupon_of(tx.session, store_id=tx.store.id, member=me, code=code)
        return pg.html("coupon.html", c=c, qr=qr_data_uri(c.code) if c.code else None, flash=pg.sess.drop("flash"))

    return _member_page(store, request, "serve member coupons", view)


# ---------------------------------------------------------------- QR claim

#: the QR claim link: its token names the store
CLAIM = TokenLink(line_accounts.qr_store, command="serve claim")


@router.get("/claim/{token}")
@page
def claim_page(token: str, request: Request):
    pg = Page(request)
    pg.rate(f"claim-ip:{client_ip(request)}", (60, CLAIM_LIMIT[1]), "QR claim")
    pg.slug = CLAIM.store(request, token)
    if pg.who() is None:
        return pg.login()
    with _member_reading(pg, "serve claim") as (_, _, me):
        registered = me is not None
    if not registered:
        pg.sess.set("after", f"/claim/{quote(token)}")
        pg.sess.set("flash", pg.t("register_first"))
        return pg.redirect(f"/m/{quote(pg.store_slug)}")
    return pg.html("claim.html", token=token, result=None, error=None)


@router.post("/claim/{token}")
@page
async def claim_post(token: str, request: Request):
    pg = Page(request)
    pg.slug = await blocking(CLAIM.store, request, token)
    return await signed_in(pg, lambda pg, form: _claim(pg, token))


def _claim(pg: Page, token: str):
    from crm_cli.services import points

    who = pg.user()
    with _member_reading(pg, "points claim") as (st, _tx, me):
        if me is None:
            return pg.redirect(f"/m/{quote(pg.store_slug)}")
        phone = me.phone
    pg.rate(f"claim:{who['sub']}", CLAIM_LIMIT, "QR claim")
    try:
        with st.transaction() as tx:
            store_id, res = points.claim_qr(tx.session, token=token, phone=phone, now=st.now(), actor=st.actor_name())
            tx.audit(f"claimed {res.points} points for {_mask(res.phone)} (QR, member page)", store_id=store_id)
    except Conflict as exc:
        return pg.html("claim.html", status=409, token=token, result=None, error=exc.message)
    return pg.html("claim.html", token=token, result=res, error=None)


# ---------------------------------------------------------------- links printed before /m/ and /claim/


@router.get("/{store}/register")
def old_sign_up_link(store: str):
    from fastapi.responses import RedirectResponse

    return RedirectResponse(f"/m/{quote(store)}", status_code=308)


@router.get("/{store}/claim")
def old_claim_link(store: str, token: str = ""):
    from fastapi.responses import RedirectResponse

    return RedirectResponse(f"/claim/{quote(token.strip())}", status_code=308)
