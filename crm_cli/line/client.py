"""LINE Messaging API client (httpx, synchronous).

One client per channel access token. Every call has a timeout; a 429 waits for
``Retry-After`` (or backs off) and tries again; a 5xx or a network failure is retried
only where repeating cannot deliver twice: GET requests, push/multicast carrying the same
``X-Line-Retry-Key`` (LINE answers 409 to a key it already accepted, which counts as
success), and reply (a reply token is accepted once, so a repeat can only be refused).

The access token is sent in a header and never appears in an error message or a log.
"""

from __future__ import annotations

import functools
import http.client as http_client
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from crm_cli.domain.errors import UpstreamError
from crm_cli.line.endpoints import Endpoints

#: limits the platform enforces (checked here too, so a bad batch never leaves crm)
MAX_MESSAGES = 5
MAX_MULTICAST = 500


class LineApiError(UpstreamError):
    """The platform refused the request (``status`` >= 400) or did not answer (``status`` 0)."""

    def __init__(self, message: str, *, status: int = 0, details: list | None = None,
                 accepted_request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []
        self.accepted_request_id = accepted_request_id


@dataclass(frozen=True)
class Sent:
    """The platform's answer to a send: message ids, or that the retry key was already used."""

    message_ids: list[str] = field(default_factory=list)
    request_id: str | None = None
    already_accepted: bool = False


@dataclass(frozen=True)
class Profile:
    """A LINE user's profile (``GET /v2/bot/profile/{userId}``), as the user shows it to
    the channel: any field but the id may be missing."""

    user_id: str
    display_name: str | None
    picture_url: str | None
    language: str | None
    status_message: str | None = None


@dataclass(frozen=True)
class BotInfo:
    """The channel's bot account (``GET /v2/bot/info``): its user id and @ basic id."""

    user_id: str
    basic_id: str | None
    display_name: str | None
    picture_url: str | None
    chat_mode: str | None
    mark_as_read_mode: str | None
    premium_id: str | None = None


def _env_float(name: str, default: float) -> float:
    import os

    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass
class RetryPolicy:
    """``CRM_LINE_BACKOFF`` sets the first back-off in seconds (default 0.5; it doubles)."""

    attempts: int = 4  # first try included
    max_wait: float = 30.0  # never wait longer than this for one Retry-After
    base_backoff: float = field(default_factory=lambda: _env_float("CRM_LINE_BACKOFF", 0.5))
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.base_backoff * (2 ** attempt)) * (0.5 + random.random() / 2)


def new_retry_key() -> str:
    return str(uuid.uuid4())


class MessagingApi:
    """The Messaging API endpoints crm uses. ``close()`` (or ``with``) releases connections."""

    def __init__(self, access_token: str, *, endpoints: Endpoints | None = None, timeout: float = 10.0,
                 retry: RetryPolicy | None = None, transport=None) -> None:
        import httpx

        if not access_token:
            raise LineApiError("no channel access token: run `crm line connect` first")
        self.endpoints = endpoints or Endpoints.from_env()
        self.retry = retry or RetryPolicy()
        # sends of stored request bodies go through plain keep-alive connections (a quarter of
        # httpx's CPU per request); a proxy or an injected transport keeps them on httpx
        self._direct = None if transport is not None or _proxied() else _Direct(timeout, min(timeout, 5.0), access_token)
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"Authorization": f"Bearer {access_token}", "User-Agent": "crm-cli"},
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> "MessagingApi":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self._http.close()

    # ------------------------------------------------------------------ endpoints
    def bot_info(self) -> BotInfo:
        d = self._call("GET", f"{self.endpoints.api}/v2/bot/info", what="get the bot info")
        return BotInfo(user_id=d.get("userId", ""), basic_id=d.get("basicId"), display_name=d.get("displayName"),
                       picture_url=d.get("pictureUrl"), chat_mode=d.get("chatMode"),
                       mark_as_read_mode=d.get("markAsReadMode"), premium_id=d.get("premiumId"))

    def profile(self, user_id: str) -> Profile | None:
        """The follower's profile; None when LINE has none for them (404: blocked, or not a friend)."""
        try:
            d = self._call("GET", f"{self.endpoints.api}/v2/bot/profile/{user_id}", what="get a profile")
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return Profile(user_id=d.get("userId", user_id), display_name=d.get("displayName"),
                       picture_url=d.get("pictureUrl"), language=d.get("language"),
                       status_message=d.get("statusMessage"))

    def follower_ids_page(self, start: str | None = None, limit: int = 1000) -> tuple[list[str], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if start:
            params["start"] = start
        d = self._call("GET", f"{self.endpoints.api}/v2/bot/followers/ids", params=params, what="list the followers")
        return list(d.get("userIds") or []), d.get("next")

    def follower_ids(self, limit: int = 1000) -> Iterator[str]:
        start: str | None = None
        while True:
            ids, start = self.follower_ids_page(start, limit)
            yield from ids
            if not start:
                return

    def reply(self, reply_token: str, messages: list[dict]) -> Sent:
        _check_messages(messages)
        d = self._call("POST", f"{self.endpoints.api}/v2/bot/message/reply",
                       body={"replyToken": reply_token, "messages": messages}, retry_5xx=True, what="send a reply")
        return _sent(d)

    def push(self, to: str, messages: list[dict], *, retry_key: str | None = None,
             notification_disabled: bool = False) -> Sent:
        _check_messages(messages)
        body: dict[str, Any] = {"to": to, "messages": messages}
        if notification_disabled:
            body["notificationDisabled"] = True
        return self._send(f"{self.endpoints.api}/v2/bot/message/push", body, retry_key, "push a message")

    def multicast(self, to: list[str], messages: list[dict], *, retry_key: str | None = None,
                  notification_disabled: bool = False) -> Sent:
        _check_messages(messages)
        if not 1 <= len(to) <= MAX_MULTICAST:
            raise LineApiError(f"multicast takes 1 to {MAX_MULTICAST} user IDs, not {len(to)}")
        body: dict[str, Any] = {"to": list(to), "messages": messages}
        if notification_disabled:
            body["notificationDisabled"] = True
        return self._send(f"{self.endpoints.api}/v2/bot/message/multicast", body, retry_key, "multicast a message")

    def send_stored(self, kind: str, body: str, *, retry_key: str) -> Sent:
        """POST a push or multicast whose JSON body crm built and stored (campaign batches),
        as stored, with its retry key; the same answers and retries as :meth:`push`."""
        path, what = _STORED[kind]
        if self._direct is None:
            d = json.loads(body)
            return self.push(d["to"], d["messages"], retry_key=retry_key) if kind == "push" else \
                self.multicast(d["to"], d["messages"], retry_key=retry_key)
        return self._send(f"{self.endpoints.api}{path}", body.encode(), retry_key, what)

    def quota(self) -> dict:
        return self._call("GET", f"{self.endpoints.api}/v2/bot/message/quota", what="get the message quota")

    def quota_consumption(self) -> dict:
        return self._call("GET", f"{self.endpoints.api}/v2/bot/message/quota/consumption", what="get the quota used")

    def insight_event(self, request_id: str) -> dict:
        """LINE's statistics of one multicast/broadcast request (delivered, opened, clicked...)."""
        d = self._call("GET", f"{self.endpoints.api}/v2/bot/insight/message/event", params={"requestId": request_id},
                       what="get message statistics")
        raw = d.get("overview")
        overview: dict = raw if isinstance(raw, dict) else {}
        return {k: overview.get(k) for k in ("delivered", "uniqueImpression", "uniqueClick", "uniqueMediaPlayed")}

    # rich menus
    def create_rich_menu(self, menu: dict) -> str:
        d = self._call("POST", f"{self.endpoints.api}/v2/bot/richmenu", body=menu, what="create a rich menu")
        rid = d.get("richMenuId")
        if not isinstance(rid, str) or not rid:
            raise LineApiError("LINE did not return a rich menu ID")
        return rid

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        self._call("POST", f"{self.endpoints.data_api}/v2/bot/richmenu/{rich_menu_id}/content", content=image,
                   headers={"Content-Type": content_type}, what="upload the rich menu image")

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call("POST", f"{self.endpoints.api}/v2/bot/user/all/richmenu/{rich_menu_id}", retry_5xx=True,
                   what="set the default rich menu")

    def link_rich_menu(self, rich_menu_id: str, user_ids: list[str]) -> None:
        """Link up to 500 users to a rich menu (repeating it is harmless)."""
        if not 1 <= len(user_ids) <= MAX_MULTICAST:
            raise LineApiError(f"a bulk link takes 1 to {MAX_MULTICAST} user IDs, not {len(user_ids)}")
        self._call("POST", f"{self.endpoints.api}/v2/bot/richmenu/bulk/link",
                   body={"richMenuId": rich_menu_id, "userIds": list(user_ids)}, retry_5xx=True, what="link a rich menu")

    def unlink_rich_menus(self, user_ids: list[str]) -> None:
        """Unlink up to 500 users from their per-user rich menu (they see the default again)."""
        if not 1 <= len(user_ids) <= MAX_MULTICAST:
            raise LineApiError(f"a bulk unlink takes 1 to {MAX_MULTICAST} user IDs, not {len(user_ids)}")
        self._call("POST", f"{self.endpoints.api}/v2/bot/richmenu/bulk/unlink", body={"userIds": list(user_ids)},
                   retry_5xx=True, what="unlink rich menus")

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        try:
            self._call("DELETE", f"{self.endpoints.api}/v2/bot/richmenu/{rich_menu_id}", retry_5xx=True,
                       what="delete a rich menu")
        except LineApiError as exc:
            if exc.status != 404:  # already gone
                raise

    def rich_menu_ids(self) -> list[str]:
        d = self._call("GET", f"{self.endpoints.api}/v2/bot/richmenu/list", what="list the rich menus")
        return [m.get("richMenuId") for m in d.get("richmenus") or [] if isinstance(m, dict)]

    # ------------------------------------------------------------------ plumbing
    def _send(self, url: str, body: dict | bytes, retry_key: str | None, what: str) -> Sent:
        key = retry_key or new_retry_key()
        try:
            d = self._call("POST", url, body=body, headers={"X-Line-Retry-Key": key}, retry_5xx=True, what=what)
        except LineApiError as exc:
            if exc.status == 409 and exc.accepted_request_id:
                return Sent(request_id=exc.accepted_request_id, already_accepted=True)
            raise
        return _sent(d)

    def _call(self, method: str, url: str, *, params: dict | None = None, body: dict | bytes | None = None,
              headers: dict | None = None, retry_5xx: bool | None = None, what: str, content: bytes | None = None) -> dict:
        """One request with the retry rules; ``body`` bytes are JSON already encoded (sent on
        a keep-alive connection of :class:`_Direct`)."""
        import httpx

        if retry_5xx is None:
            retry_5xx = method == "GET"
        policy = self.retry
        last: LineApiError | None = None
        resp: Any
        for attempt in range(policy.attempts):
            try:
                if isinstance(body, bytes) and self._direct is not None:
                    resp = self._direct.post(url, body, headers or {})
                elif content is not None:
                    resp = self._http.request(method, url, params=params, content=content, headers=headers)
                else:
                    resp = self._http.request(method, url, params=params, json=body, headers=headers)
            except (httpx.TimeoutException, TimeoutError):
                last = LineApiError(f"LINE did not answer in time when trying to {what}; try again later")
                if not retry_5xx:
                    raise last from None
                if attempt + 1 < policy.attempts:
                    policy.sleep(policy.backoff(attempt))
                continue
            except (httpx.HTTPError, OSError, http_client.HTTPException) as exc:
                last = LineApiError(f"cannot reach LINE to {what}: {exc.__class__.__name__}; check the network "
                                    f"(or CRM_LINE_API_URL)")
                if not retry_5xx:
                    raise last from None
                if attempt + 1 < policy.attempts:
                    policy.sleep(policy.backoff(attempt))
                continue
            if resp.status_code < 300:
                return _json(resp)
            err = _error(resp, what)
            if resp.status_code == 429:
                last = err
                if attempt + 1 < policy.attempts:
                    policy.sleep(_retry_after(resp, policy, attempt))
                continue
            if resp.status_code >= 500 and retry_5xx:
                last = err
                if attempt + 1 < policy.attempts:
                    policy.sleep(policy.backoff(attempt))
                continue
            raise err
        assert last is not None
        raise last


_STORED = {"push": ("/v2/bot/message/push", "push a message"),
           "multicast": ("/v2/bot/message/multicast", "multicast a message")}

_PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def _proxied() -> bool:
    """A proxy is configured in the environment (httpx honours it; the direct path does not)."""
    import os

    return any(os.environ.get(v) for v in _PROXY_VARS)


class _Answer:
    """An http.client response read whole, with what ``_json``/``_error``/``_retry_after`` read."""

    __slots__ = ("status_code", "reason_phrase", "headers", "content")

    def __init__(self, resp: http_client.HTTPResponse) -> None:
        self.status_code = resp.status
        self.reason_phrase = resp.reason
        self.headers = resp.msg  # case-insensitive .get()
        self.content = resp.read()

    def json(self) -> Any:
        return json.loads(self.content)


class _Direct:
    """Keep-alive HTTP/1.1 connections (one per thread) for POSTing stored JSON bodies.

    A connection the server closed while idle is reopened once at once (the request never
    reached the server, and the retry key makes a repeat harmless anyway); every other
    failure goes to the caller's retry rules, like httpx's."""

    def __init__(self, timeout: float, connect_timeout: float, access_token: str) -> None:
        import threading

        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.headers = {"Authorization": f"Bearer {access_token}", "User-Agent": "crm-cli",
                        "Content-Type": "application/json"}
        self._local = threading.local()
        self._all: list[http_client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self, scheme: str, netloc: str) -> tuple[http_client.HTTPConnection, bool]:
        conns = self._local.__dict__.setdefault("conns", {})
        conn = conns.get((scheme, netloc))
        if conn is not None and conn.sock is not None:
            return conn, True
        if scheme == "https":
            conn = http_client.HTTPSConnection(netloc, timeout=self.connect_timeout, context=_tls_context())
        else:
            conn = http_client.HTTPConnection(netloc, timeout=self.connect_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)
        conns[(scheme, netloc)] = conn
        with self._lock:
            self._all.append(conn)
        return conn, False

    def post(self, url: str, body: bytes, headers: dict) -> _Answer:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        target = u.path + (f"?{u.query}" if u.query else "")
        for _ in range(2):
            conn, reused = self._connection(u.scheme, u.netloc)
            try:
                conn.request("POST", target, body=body, headers={**self.headers, **headers})
                resp = conn.getresponse()
            except (http_client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if reused:
                    continue  # the server closed the idle connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise
            answer = _Answer(resp)
            if resp.will_close:
                conn.close()
            return answer
        raise http_client.RemoteDisconnected("the connection was closed twice")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


@functools.lru_cache(maxsize=1)
def _tls_context():
    """The CA bundle httpx verifies against (certifi), for the direct connections."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _check_messages(messages: list[dict]) -> None:
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise LineApiError(f"a send takes 1 to {MAX_MESSAGES} messages, not {len(messages)}")
    for m in messages:
        if not isinstance(m, dict) or not m.get("type"):
            raise LineApiError("every message needs a 'type'")


def _json(resp) -> dict:
    if not resp.content:
        return {}
    try:
        d = resp.json()
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _sent(d: dict) -> Sent:
    return Sent(message_ids=[str(m.get("id")) for m in d.get("sentMessages") or [] if isinstance(m, dict)])


def _retry_after(resp, policy: RetryPolicy, attempt: int) -> float:
    raw = resp.headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, min(policy.max_wait, float(raw)))
        except ValueError:
            pass
    return policy.backoff(attempt)


def _error(resp, what: str) -> LineApiError:
    d = _json(resp)
    msg = str(d.get("message") or resp.reason_phrase or "error")[:200]
    raw = d.get("details")
    details: list = raw if isinstance(raw, list) else []
    code = resp.status_code
    if code == 401:
        text = "LINE refused the channel access token (401): reissue it in the LINE Developers console and run `crm line connect` again"
    elif code == 429:
        text = f"LINE is rate-limiting requests (429: {msg}) when trying to {what}; try again later"
    elif code >= 500:
        text = f"LINE failed to {what} ({code}: {msg}); try again later"
    else:
        extra = "; ".join(f"{x.get('property', '')}: {x.get('message', '')}" for x in details[:3] if isinstance(x, dict))
        text = f"LINE refused to {what} ({code}: {msg}{'; ' + extra if extra else ''})"
    return LineApiError(text, status=code, details=details,
                        accepted_request_id=resp.headers.get("x-line-accepted-request-id"))


def dumps(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
