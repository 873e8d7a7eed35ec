"""LINE Login on the fake platform: the authorize page (it signs in a configurable test
user at once and redirects back), the token endpoint (checks the client id and secret,
the redirect URI, single use of the code and the PKCE S256 ``code_verifier``) and the
ID-token verify endpoint (checks the token and the ``aud``/``nonce`` the caller names).

    login = LineLogin(line)                       # line: a running FakeLine
    login.add_channel("1657000000", "secret...")  # a LINE Login channel
    login.user("U" + "a" * 32, "สมชาย ใจดี")       # who signs in next
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from tests.fakeline.server import USER_ID, FakeLine, Refused, Req, endpoint


@dataclass
class Grant:
    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user_id: str
    name: str
    used: bool = False


class LineLogin:
    def __init__(self, line: FakeLine) -> None:
        self.line = line
        self.channels: dict[str, str] = {}  # login channel id -> secret
        self.grants: dict[str, Grant] = {}
        self.id_tokens: dict[str, dict] = {}
        self.current: tuple[str, str] | None = None
        self.deny = False  # the user presses "Cancel" on LINE's consent screen
        line.mount(self)

    # ------------------------------------------------------------------ set-up
    def add_channel(self, channel_id: str, secret: str) -> None:
        with self.line.lock:
            self.channels[channel_id] = secret

    def user(self, user_id: str | None = None, name: str = "LINE user") -> str:
        """The LINE account that signs in at the next authorize request."""
        user_id = user_id or "U" + uuid.uuid4().hex
        assert USER_ID.match(user_id), user_id
        with self.line.lock:
            self.current = (user_id, name)
        return user_id

    # ------------------------------------------------------------------ handlers
    @endpoint("GET", "/oauth2/v2.1/authorize")
    def _authorize(self, req: Req):
        q = req.query
        for key in ("response_type", "client_id", "redirect_uri", "state", "scope"):
            if not q.get(key):
                raise Refused(400, f"{key} is required")
        if q["response_type"] != "code":
            raise Refused(400, "unsupported response_type")
        if q["client_id"] not in self.channels:
            raise Refused(400, "invalid client_id")
        if "openid" not in q["scope"].split():
            raise Refused(400, "the openid scope is needed for an ID token")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            raise Refused(400, "PKCE: code_challenge with code_challenge_method=S256 is required")
        sep = "&" if "?" in q["redirect_uri"] else "?"
        if self.deny:
            back = {"error": "access_denied", "error_description": "The resource owner denied the request.",
                    "state": q["state"]}
            return 302, {}, {"location": q["redirect_uri"] + sep + urlencode(back)}
        if self.current is None:
            raise Refused(400, "no test user: call LineLogin.user() first")
        code = uuid.uuid4().hex[:20]
        with self.line.lock:
            self.grants[code] = Grant(code=code, client_id=q["client_id"], redirect_uri=q["redirect_uri"],
                                      challenge=q["code_challenge"], nonce=q.get("nonce"),
                                      user_id=self.current[0], name=self.current[1])
        return 302, {}, {"location": q["redirect_uri"] + sep + urlencode({"code": code, "state": q["state"]})}

    def _form(self, req: Req) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in req.headers.get("content-type", ""):
            raise Refused(400, "Content-Type must be application/x-www-form-urlencoded")
        return dict(parse_qsl(req.body.decode("utf-8")))

    @endpoint("POST", "/oauth2/v2.1/token")
    def _token(self, req: Req):
        f = self._form(req)
        if f.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        secret = self.channels.get(f.get("client_id", ""))
        if secret is None or f.get("client_secret") != secret:
            return 400, {"error": "invalid_client", "error_description": "invalid client_id or client_secret"}
        with self.line.lock:
            grant = self.grants.get(f.get("code", ""))
            if grant is None or grant.used or grant.client_id != f["client_id"]:
                return 400, {"error": "invalid_grant", "error_description": "invalid authorization code"}
            grant.used = True
        if f.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri does not match"}
        verifier = f.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or digest != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "code_verifier does not match"}
        id_token = "idt." + uuid.uuid4().hex
        now = int(time.time())
        with self.line.lock:
            self.id_tokens[id_token] = {"iss": "https://access.line.me", "sub": grant.user_id, "aud": grant.client_id,
                                        "exp": now + 3600, "iat": now, "amr": ["linesso"], "name": grant.name,
                                        **({"nonce": grant.nonce} if grant.nonce else {})}
        return 200, {"access_token": "at." + uuid.uuid4().hex, "expires_in": 2592000, "id_token": id_token,
                     "refresh_token": uuid.uuid4().hex, "scope": "openid profile", "token_type": "Bearer"}

    @endpoint("POST", "/oauth2/v2.1/verify")
    def _verify(self, req: Req):
        f = self._form(req)
        claims = self.id_tokens.get(f.get("id_token", ""))
        if claims is None:
            return 400, {"error": "invalid_request", "error_description": "Invalid IdToken."}
        if f.get("client_id") != claims["aud"]:
            return 400, {"error": "invalid_request", "error_description": "Invalid IdToken Audience."}
        if "nonce" in f and f["nonce"] != claims.get("nonce"):
            return 400, {"error": "invalid_request", "error_description": "Invalid IdToken Nonce."}
        return 200, dict(claims)
