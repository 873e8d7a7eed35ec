"""Signed session cookies and CSRF tokens for the member and staff pages.

The cookie holds a small JSON document signed with ``itsdangerous`` (HMAC-SHA1 over a
key derived from a 256-bit secret): who signed in with LINE per store, the CSRF token,
the one-time values of a LINE Login in progress and the chosen language. It is signed,
not encrypted: nothing in it is secret from the person who holds it.

The secret lives in the database (``web_secret``), made by the first process that needs
it, so every `crm serve` process on one database reads the same cookies (a load
balancer may send each request to another process). Cookies are HttpOnly,
SameSite=Lax, and Secure when the request came over HTTPS (``X-Forwarded-Proto: https``
from a trusted proxy) or ``CRM_COOKIE_SECURE=1``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

COOKIE = "crm_session"
MAX_AGE = 14 * 24 * 3600  # a signed-in session lasts two weeks
ENV_SECURE = "CRM_COOKIE_SECURE"
CSRF_FIELD = "csrf"


def _secret(request, name: str) -> str:
    """The named signing secret; read from the database once per process (it never changes)."""
    cache = request.app.state.__dict__.setdefault("crm_secrets", {})
    value = cache.get(name)
    if value is None:
        from crm_cli.db.uow import unit_of_work
        from crm_cli.services import web_security
        from crm_cli.web.context import web_state

        st = web_state(request, command="serve", actor="web")
        with unit_of_work(st.engine(), write=True) as session:
            value = web_security.secret(session, name=name, now=st.now())
        cache[name] = value
    return value


def _serializer(request):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(_secret(request, "session"), salt="crm-session")


def secure(request) -> bool:
    flag = (os.environ.get(ENV_SECURE) or "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return request.url.scheme == "https"


class Session(dict):
    """The decoded cookie; ``changed`` when it must be written back."""

    changed: bool = False

    def set(self, key: str, value: Any) -> None:
        self[key] = value
        self.changed = True

    def drop(self, key: str) -> Any:
        if key in self:
            self.changed = True
            return self.pop(key)
        return None

    # -------------------------------------------------------------- identities
    def who(self, slug: str) -> dict | None:
        """The LINE account signed in for this store: {"sub": userId, "name": display name}."""
        ids = self.get("line") or {}
        entry = ids.get(slug)
        return entry if isinstance(entry, dict) and isinstance(entry.get("sub"), str) else None

    def sign_in(self, slug: str, sub: str, name: str | None) -> None:
        ids = dict(self.get("line") or {})
        ids[slug] = {"sub": sub, "name": (name or "")[:100]}
        self.set("line", ids)
        self.set(CSRF_FIELD, secrets.token_urlsafe(24))  # a new token after signing in

    def sign_out(self, slug: str) -> None:
        ids = dict(self.get("line") or {})
        ids.pop(slug, None)
        self.set("line", ids)

    # -------------------------------------------------------------- CSRF
    def csrf(self) -> str:
        token = self.get(CSRF_FIELD)
        if not isinstance(token, str) or len(token) < 20:
            token = secrets.token_urlsafe(24)
            self.set(CSRF_FIELD, token)
        return token

    def csrf_ok(self, given: str | None) -> bool:
        token = self.get(CSRF_FIELD)
        if not isinstance(token, str) or not given:
            return False
        return hmac.compare_digest(token.encode(), str(given).encode())


def load(request) -> Session:
    cached = request.scope.get("crm.session")
    if cached is not None:
        return cached
    from itsdangerous import BadSignature

    sess = Session()
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=MAX_AGE)
            if isinstance(data, dict):
                sess.update(data)
        except BadSignature:
            sess.changed = True  # a forged or expired cookie is replaced
    request.scope["crm.session"] = sess
    return sess


def save(request, response) -> None:
    sess = request.scope.get("crm.session")
    if sess is None or not sess.changed:
        return
    value = _serializer(request).dumps(dict(sess))
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, path="/", httponly=True, samesite="lax",
                        secure=secure(request))


# ---------------------------------------------------------------- member QR values


def member_qr_value(request, *, store_id: int, member_id: int) -> str:
    """What the member's QR code holds: ``CRM-M<id>-<signature>`` (staff scan it to give
    points; the signature stops anyone from making up a member's code)."""
    sig = _member_sig(request, store_id, member_id)
    return f"CRM-M{member_id}-{sig}"


def _member_sig(request, store_id: int, member_id: int) -> str:
    import base64
    import hashlib

    key = _secret(request, "member-qr").encode()
    mac = hmac.new(key, f"{store_id}:{member_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode().rstrip("=")


def parse_member_qr(request, *, store_id: int, value: str) -> int | None:
    """The member id of a QR value made by :func:`member_qr_value`; None if it is not one
    (then the value is read as a phone number). A forged value raises ValueError."""
    import re

    m = re.fullmatch(r"CRM-M(\d{1,12})-([A-Z2-7]{16})", (value or "").strip().upper())
    if m is None:
        return None
    member_id = int(m.group(1))
    if not hmac.compare_digest(_member_sig(request, store_id, member_id), m.group(2)):
        raise ValueError("member QR code not recognised in this store")
    return member_id
