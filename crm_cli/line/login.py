"""LINE Login (OAuth 2.1 web login): the authorization-code flow with PKCE S256, ``state``
and ``nonce``.

1. :func:`start` makes the one-time values and the authorization URL
   (``{CRM_LINE_LOGIN_URL}/oauth2/v2.1/authorize``); the caller keeps ``state``, ``nonce``
   and ``code_verifier`` (in the signed session cookie) and redirects the browser there.
2. LINE sends the browser back to ``redirect_uri`` with ``code`` and ``state``;
   :meth:`LoginClient.finish` exchanges the code at ``{CRM_LINE_API_URL}/oauth2/v2.1/token``
   (with the client secret and the ``code_verifier``) and has LINE check the ID token at
   ``{CRM_LINE_API_URL}/oauth2/v2.1/verify`` (signature, expiry, ``aud`` = the login channel
   id, ``nonce``); the answer is checked again here before it is believed.

The channel secret and the tokens never appear in an error message or a log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from crm_cli.line.client import LineApiError
from crm_cli.line.endpoints import Endpoints

SCOPE = "profile openid"


@dataclass(frozen=True)
class LoginStart:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class LineIdentity:
    """Who signed in: ``user_id`` is the LINE userId (``sub``) for this channel's provider."""

    user_id: str
    name: str | None
    picture: str | None


def code_challenge(verifier: str) -> str:
    """PKCE S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(*, channel_id: str, redirect_uri: str, endpoints: Endpoints | None = None,
          ui_locales: str | None = None) -> LoginStart:
    endpoints = endpoints or Endpoints.from_env()
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-] (RFC 7636: 43 to 128)
    params = {
        "response_type": "code", "client_id": channel_id, "redirect_uri": redirect_uri, "state": state,
        "scope": SCOPE, "nonce": nonce, "code_challenge": code_challenge(verifier), "code_challenge_method": "S256",
    }
    if ui_locales:
        params["ui_locales"] = ui_locales
    return LoginStart(url=f"{endpoints.login}/oauth2/v2.1/authorize?{urlencode(params)}", state=state, nonce=nonce,
                      code_verifier=verifier)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two one-time values (``state``)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class LoginClient:
    """The two server-to-server calls of the flow, for one login channel."""

    def __init__(self, channel_id: str, channel_secret: str, *, endpoints: Endpoints | None = None,
                 timeout: float = 10.0, transport=None) -> None:
        import httpx

        if not channel_id or not channel_secret:
            raise LineApiError("LINE Login is not set up for this store: run `crm line connect --login-channel-id ID "
                               "--login-channel-secret SECRET`")
        self.channel_id = channel_id
        self._secret = channel_secret
        self.endpoints = endpoints or Endpoints.from_env()
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                                  headers={"User-Agent": "crm-cli"}, transport=transport, follow_redirects=False)

    def __enter__(self) -> LoginClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def finish(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> LineIdentity:
        token = self._post("/oauth2/v2.1/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": self.channel_id, "client_secret": self._secret, "code_verifier": code_verifier,
        }, what="exchange the sign-in code")
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise LineApiError("LINE answered the sign-in without an ID token (is the 'openid' scope enabled?)")
        claims = self._post("/oauth2/v2.1/verify", {"id_token": id_token, "client_id": self.channel_id, "nonce": nonce},
                            what="verify the ID token")
        if claims.get("aud") != self.channel_id:
            raise LineApiError("the ID token was issued for another channel")
        if not same(claims.get("nonce"), nonce):
            raise LineApiError("the ID token does not carry this sign-in's nonce")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith("U") or len(sub) != 33:
            raise LineApiError("the ID token has no LINE user id")
        name = claims.get("name")
        picture = claims.get("picture")
        return LineIdentity(user_id=sub, name=name[:200] if isinstance(name, str) else None,
                            picture=picture[:1000] if isinstance(picture, str) else None)

    def _post(self, path: str, form: dict, *, what: str) -> dict:
        import httpx

        try:
            resp = self._http.post(f"{self.endpoints.api}{path}", data=form)
        except httpx.TimeoutException:
            raise LineApiError(f"LINE did not answer in time when trying to {what}; try again") from None
        except httpx.HTTPError as exc:
            raise LineApiError(f"cannot reach LINE to {what}: {exc.__class__.__name__}") from None
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if resp.status_code >= 300:
            desc = str(body.get("error_description") or body.get("error") or resp.reason_phrase or "error")[:200]
            raise LineApiError(f"LINE refused to {what} ({resp.status_code}: {desc})", status=resp.status_code)
        return body
