"""A fake LINE platform on loopback: the Messaging API endpoints crm uses, checked the way
LINE checks them (Bearer token, JSON body schema, limits, X-Line-Retry-Key format,
reply tokens valid once), every request recorded, and faults on demand (429 with
Retry-After, 5xx, slow answers).

    with FakeLine() as line:
        token = line.add_channel()          # a channel access token the fake accepts
        line.add_follower("U" + "0" * 32, display_name="Somchai")
        os.environ["CRM_LINE_API_URL"] = line.url
        ...
        assert line.calls("POST", "/v2/bot/message/reply")

More endpoints (LINE Login, rich menus) are methods marked ``@endpoint(METHOD, PATTERN)``
and registered with ``line.mount(handlers)`` (or one function with ``@line.route``); a handler takes a ``Req`` and returns
``(status, json_body)`` or ``(status, json_body, headers)``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

USER_ID = re.compile(r"^U[0-9a-f]{32}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MESSAGE_TYPES = {"text", "image", "video", "audio", "location", "sticker", "imagemap", "template", "flex", "textV2"}


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    at: float = 0.0
    status: int = 0  # filled in after the handler answered

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Fault:
    method: str
    prefix: str
    status: int = 500
    times: int = 1
    delay: float = 0.0
    retry_after: str | None = None
    body: dict | None = None


@dataclass
class Gate:
    """The first ``parties`` matching requests wait for each other (at most ``timeout`` s)."""

    method: str
    prefix: str
    parties: int
    timeout: float
    arrived: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Channel:
    token: str
    bot_user_id: str
    basic_id: str
    name: str


class Refused(Exception):
    def __init__(self, status: int, message: str, details: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details or [], headers or {}


def endpoint(method: str, pattern: str):
    """Mark a handler method with the request it answers; ``FakeLine.mount`` registers it."""
    def mark(fn):
        fn.endpoint = (method, pattern)
        return fn
    return mark


class FakeLine:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.channels: dict[str, Channel] = {}
        self.followers: dict[str, dict] = {}  # userId -> profile
        self.follower_order: list[str] = []
        self.reply_tokens: dict[str, str] = {}  # token -> userId (unused)
        self.used_reply_tokens: set[str] = set()
        self.retry_keys: dict[str, str] = {}  # X-Line-Retry-Key -> request id
        self.requests: list[Req] = []
        self.faults: deque[Fault] = deque()
        self.gates: list[Gate] = []
        self.page_size = 1000
        self.quota_value = 1000
        self.delivered: list[tuple[str, dict]] = []  # (userId, message) actually sent
        self._routes: list[tuple[str, re.Pattern, Callable[[Req], tuple]]] = []
        self._server = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.mount(self)

    # ------------------------------------------------------------------ set-up
    def add_channel(self, token: str | None = None, *, name: str = "Cafe Siam") -> str:
        token = token or uuid.uuid4().hex + uuid.uuid4().hex
        with self.lock:
            self.channels[token] = Channel(token=token, bot_user_id="U" + uuid.uuid4().hex,
                                           basic_id="@" + uuid.uuid4().hex[:7], name=name)
        return token

    def add_follower(self, user_id: str | None = None, *, display_name: str = "LINE user", picture_url: str | None = None,
                     language: str | None = "th") -> str:
        user_id = user_id or "U" + uuid.uuid4().hex
        with self.lock:
            if user_id not in self.followers:
                self.follower_order.append(user_id)
            self.followers[user_id] = {"userId": user_id, "displayName": display_name, "language": language,
                                       **({"pictureUrl": picture_url} if picture_url else {})}
        return user_id

    def remove_follower(self, user_id: str) -> None:
        with self.lock:
            self.followers.pop(user_id, None)
            if user_id in self.follower_order:
                self.follower_order.remove(user_id)

    def new_reply_token(self, user_id: str) -> str:
        token = uuid.uuid4().hex
        with self.lock:
            self.reply_tokens[token] = user_id
        return token

    def fail(self, method: str, prefix: str, status: int = 500, *, times: int = 1, retry_after: str | None = None,
             delay: float = 0.0, body: dict | None = None) -> None:
        """The next ``times`` matching requests answer ``status`` (after ``delay`` seconds).
        ``status`` 200 with a ``delay`` makes a slow but successful answer."""
        with self.lock:
            self.faults.append(Fault(method, prefix, status, times, delay, retry_after, body))

    def gate(self, method: str, prefix: str, parties: int = 2, *, timeout: float = 30.0) -> None:
        """Hold the first ``parties`` matching requests until all of them have arrived (or
        ``timeout`` seconds passed): proof that that many clients were sending at once."""
        with self.lock:
            self.gates.append(Gate(method, prefix, parties, timeout))

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[Req]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and r.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ routing
    def route(self, method: str, pattern: str):
        """Register a handler: ``pattern`` like '/v2/bot/profile/{userId}'."""
        rx = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def deco(fn):
            self._routes.insert(0, (method, rx, fn))
            return fn

        return deco

    def mount(self, handlers: object) -> None:
        """Register every method of ``handlers`` marked with ``@endpoint``."""
        for name in dir(type(handlers)):
            spec = getattr(getattr(type(handlers), name), "endpoint", None)
            if spec is not None:
                self.route(*spec)(getattr(handlers, name))

    # ------------------------------------------------------------------ checks
    def channel(self, req: Req) -> Channel:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise Refused(401, "Authentication failed. Confirm that the access token in the authorization header is valid.")
        ch = self.channels.get(auth[len("Bearer "):])
        if ch is None:
            raise Refused(401, "Authentication failed. Confirm that the access token in the authorization header is valid.")
        req.token = ch.token
        return ch

    def body(self, req: Req) -> dict:
        if "application/json" not in req.headers.get("content-type", ""):
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Content-Type must be application/json"}])
        try:
            data = req.json()
        except ValueError:
            raise Refused(400, "The request body has 1 error(s)", [{"message": "invalid JSON"}]) from None
        if not isinstance(data, dict):
            raise Refused(400, "The request body has 1 error(s)", [{"message": "must be an object"}])
        return data

    def messages(self, data: dict) -> list[dict]:
        msgs = data.get("messages")
        if not isinstance(msgs, list) or not 1 <= len(msgs) <= 5:
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Size must be between 1 and 5", "property": "messages"}])
        for i, m in enumerate(msgs):
            prop = f"messages[{i}]"
            if not isinstance(m, dict) or m.get("type") not in MESSAGE_TYPES:
                raise Refused(400, "The request body has 1 error(s)", [{"message": "Invalid message type", "property": prop + ".type"}])
            t = m["type"]
            if t == "text":
                if not isinstance(m.get("text"), str) or not m["text"] or len(m["text"]) > 5000:
                    raise Refused(400, "The request body has 1 error(s)", [{"message": "Length must be between 1 and 5000", "property": prop + ".text"}])
            elif t == "image":
                for k in ("originalContentUrl", "previewImageUrl"):
                    v = m.get(k)
                    if not isinstance(v, str) or not v.startswith("https://") or len(v) > 2000:
                        raise Refused(400, "The request body has 1 error(s)", [{"message": "Must be an HTTPS URL", "property": f"{prop}.{k}"}])
            elif t == "imagemap":
                base = m.get("baseUrl")
                size = m.get("baseSize")
                if (not isinstance(base, str) or not base.startswith("https://") or not isinstance(m.get("altText"), str)
                        or not m["altText"] or not isinstance(size, dict) or size.get("width") != 1040
                        or not isinstance(size.get("height"), int) or not isinstance(m.get("actions"), list)):
                    raise Refused(400, "The request body has 1 error(s)", [{"message": "Invalid imagemap", "property": prop}])
                for a in m["actions"]:
                    area = a.get("area") if isinstance(a, dict) else None
                    if (not isinstance(area, dict) or a.get("type") not in ("uri", "message")
                            or not all(isinstance(area.get(k), int) for k in ("x", "y", "width", "height"))):
                        raise Refused(400, "The request body has 1 error(s)", [{"message": "Invalid action", "property": prop + ".actions"}])
        return msgs

    def retry_key(self, req: Req) -> str | None:
        key = req.headers.get("x-line-retry-key")
        if key is None:
            return None
        if not UUID_RE.match(key):
            raise Refused(400, "The value of the X-Line-Retry-Key header is invalid")
        with self.lock:
            if key in self.retry_keys:
                raise Refused(409, "The retry key is already accepted",
                              headers={"x-line-accepted-request-id": self.retry_keys[key]})
        return key

    def _accept(self, key: str | None) -> str:
        request_id = str(uuid.uuid4())
        if key:
            self.retry_keys[key] = request_id
        return request_id

    def _sent(self, to: list[str], msgs: list[dict]) -> dict:
        out = []
        for user in to:
            for m in msgs:
                self.delivered.append((user, m))
        for m in msgs:
            out.append({"id": str(uuid.uuid4().int)[:18]})
        return {"sentMessages": out}

    # ------------------------------------------------------------------ handlers
    @endpoint("GET", "/v2/bot/info")
    def _bot_info(self, req: Req):
        ch = self.channel(req)
        return 200, {"userId": ch.bot_user_id, "basicId": ch.basic_id, "displayName": ch.name,
                     "chatMode": "bot", "markAsReadMode": "auto"}

    @endpoint("GET", "/v2/bot/profile/{userId}")
    def _profile(self, req: Req):
        self.channel(req)
        p = self.followers.get(req.params["userId"])
        if p is None:
            raise Refused(404, "Not found")
        return 200, dict(p)

    @endpoint("GET", "/v2/bot/followers/ids")
    def _follower_ids(self, req: Req):
        self.channel(req)
        try:
            limit = int(req.query.get("limit", "300"))
        except ValueError:
            raise Refused(400, "Invalid limit") from None
        if not 1 <= limit <= 1000:
            raise Refused(400, "The value of limit is invalid")
        limit = min(limit, self.page_size)
        start = req.query.get("start")
        with self.lock:
            ids = list(self.follower_order)
        try:
            offset = int(start) if start else 0
        except ValueError:
            raise Refused(400, "Invalid continuation token") from None
        page = ids[offset:offset + limit]
        body: dict = {"userIds": page}
        if offset + limit < len(ids):
            body["next"] = str(offset + limit)
        return 200, body

    @endpoint("POST", "/v2/bot/message/reply")
    def _reply(self, req: Req):
        self.channel(req)
        data = self.body(req)
        token = data.get("replyToken")
        if not isinstance(token, str) or not token:
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Must not be empty", "property": "replyToken"}])
        msgs = self.messages(data)
        with self.lock:
            if token in self.used_reply_tokens or token not in self.reply_tokens:
                raise Refused(400, "Invalid reply token")
            self.used_reply_tokens.add(token)
            user = self.reply_tokens.pop(token)
            return 200, self._sent([user], msgs)

    def _send_request(self, req: Req) -> tuple[str | None, dict, Any]:
        """A push or multicast: the channel checked, then its retry key, body and ``to``."""
        self.channel(req)
        key = self.retry_key(req)
        data = self.body(req)
        return key, data, data.get("to")

    @endpoint("POST", "/v2/bot/message/push")
    def _push(self, req: Req):
        key, data, to = self._send_request(req)
        if not isinstance(to, str) or not USER_ID.match(to):
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Invalid user ID", "property": "to"}])
        msgs = self.messages(data)
        with self.lock:
            headers = {"x-line-request-id": self._accept(key)}
            return 200, self._sent([to], msgs), headers

    @endpoint("POST", "/v2/bot/message/multicast")
    def _multicast(self, req: Req):
        key, data, to = self._send_request(req)
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Size must be between 1 and 500", "property": "to"}])
        if not all(isinstance(u, str) and USER_ID.match(u) for u in to):
            raise Refused(400, "The request body has 1 error(s)", [{"message": "Invalid user ID", "property": "to"}])
        msgs = self.messages(data)
        with self.lock:
            headers = {"x-line-request-id": self._accept(key)}
            self._sent(to, msgs)
            return 200, {}, headers

    @endpoint("GET", "/v2/bot/message/quota")
    def _quota(self, req: Req):
        self.channel(req)
        return 200, {"type": "limited", "value": self.quota_value}

    @endpoint("GET", "/v2/bot/message/quota/consumption")
    def _consumption(self, req: Req):
        self.channel(req)
        with self.lock:
            return 200, {"totalUsage": len(self.delivered)}

    # ------------------------------------------------------------------ ASGI
    def _fault_for(self, req: Req) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.method == req.method and req.path.startswith(f.prefix):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    async def app(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        from urllib.parse import parse_qsl

        req = Req(method=scope["method"], path=scope["path"],
                  query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
                  headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                  body=body, at=time.monotonic())
        status, payload, headers = await self._handle(req)
        req.status = status
        with self.lock:
            self.requests.append(req)
        raw = json.dumps(payload).encode()
        hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        hdrs += [(k.encode(), str(v).encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": raw})

    async def _wait_at_gate(self, req: Req) -> None:
        with self.lock:
            gate = next((g for g in self.gates if g.method == req.method and req.path.startswith(g.prefix)
                         and g.arrived < g.parties), None)
            if gate is None:
                return
            gate.arrived += 1
            if gate.arrived >= gate.parties:
                gate.event.set()
        try:
            await asyncio.wait_for(gate.event.wait(), gate.timeout)
        except asyncio.TimeoutError:
            pass

    async def _handle(self, req: Req) -> tuple[int, Any, dict]:
        await self._wait_at_gate(req)
        fault = self._fault_for(req)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status != 200:
                headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
                return fault.status, fault.body or {"message": "fault injected"}, headers
        for method, rx, fn in self._routes:
            m = rx.match(req.path)
            if m and method == req.method:
                req.params = m.groupdict()
                try:
                    out = fn(req)
                except Refused as exc:
                    body: dict = {"message": exc.message}
                    if exc.details:
                        body["details"] = exc.details
                    return exc.status, body, exc.headers
                if len(out) == 2:
                    return out[0], out[1], {}
                return out
        return 404, {"message": "Not found"}, {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeLine":
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False, interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LINE platform did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> "FakeLine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
