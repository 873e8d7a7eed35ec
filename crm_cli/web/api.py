"""Counter API with a branch API key: POST /api/v1/points/give and GET /api/v1/members/PHONE.

The same services as `crm points give` and `crm points balance` (same rule, same
idempotency key, same errors); errors come back as JSON with the exit-code name and an
HTTP 4xx status (:mod:`crm_cli.web.app`'s error bodies, as every other route).

The two routes are a plain ASGI app in front of the FastAPI app (:class:`CounterApi`,
installed by ``create_app``): they are the hot path of a busy counter, and FastAPI's
routing, dependency resolution and response encoding cost about a fifth of a give's CPU
(docs/performance.md, "Counter latency"). A request still gets one unit of work
(:func:`crm_cli.web.context.api_unit`: the key, the store's service state, the service,
the key's use and the audit record), run in a worker thread (:func:`_threads`) as FastAPI runs a route.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field

from crm_cli.domain.errors import ExitCode

GIVE_PATH = "/api/v1/points/give"
CARD_PREFIX = "/api/v1/members/"
#: the member card's ``lots`` when the query does not say
DEFAULT_LOTS = 10

_JSON = (b"content-type", b"application/json")


class GiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=40)
    spend: str = Field(max_length=20, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
                       description="THB with up to 2 decimals, as a string: \"350.00\" (no exponent, no sign)")
    key: Optional[str] = Field(default=None, max_length=200, description="idempotency key, e.g. the receipt number")
    staff: Optional[str] = Field(default=None, max_length=40, description="the staff member's phone")


UNAUTHORIZED = {"error": "unauthorized", "exit_code": ExitCode.NOT_ALLOWED,
                "message": "a valid API key is required: Authorization: Bearer KEY (see `crm apikey create`)"}


def member_card(cfg, *, authorization: str | None, phone: str, lots: int = DEFAULT_LOTS) -> dict | None:
    """The member's card: balance, debt, next expiry and the lots in spending order, as
    `crm points balance PHONE --format json` prints it (``lots``: at most this many, 0-100).
    None: the key is not valid."""
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import points as svc
    from crm_cli.web.context import api_unit, to_json

    with api_unit(cfg, authorization=authorization, command="api members show", write=False) as tx:
        if tx is None:
            return None
        if not 0 <= lots <= 100:
            raise InvalidInput(f"lots must be 0 to 100, got {lots}")
        info = svc.balance(tx.session, store_id=tx.store_id, phone=phone[:40], now=tx.now, limit=lots)
    return to_json(info)


def points_give(cfg, *, authorization: str | None, req: GiveRequest) -> dict | None:
    """Points for a purchase at the key's branch: `crm points give`'s service, in one transaction
    with the key check, the key's use and the audit record. None: the key is not valid."""
    from crm_cli.services import points as svc
    from crm_cli.services.audit import mask_phone
    from crm_cli.web.context import api_unit, to_json

    with api_unit(cfg, authorization=authorization, command="api points give", write=True) as tx:
        if tx is None:
            return None
        res = svc.give_for_spend(tx.session, store_id=tx.store_id, phone=req.phone, spend=req.spend,
                                 branch=tx.branch, staff=req.staff, key=req.key, now=tx.now, actor=tx.actor)
        tx.audit(f"{'replayed' if res.duplicate else 'gave'} {res.points} points to {mask_phone(res.phone)} "
                 f"for {res.spend:.2f} THB at {tx.branch}" + (f" (key {req.key})" if req.key else ""))
    return to_json(res)


def _header(scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return v.decode("latin-1")
    return None


def _lots(scope) -> int:
    from crm_cli.domain.errors import InvalidInput

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lots")
    if not values:
        return DEFAULT_LOTS
    try:
        return int(values[-1])
    except ValueError:
        raise InvalidInput(f"lots must be a whole number 0 to 100, got {values[-1][:20]!r}") from None


def _answer(scope, work) -> tuple[int, Any, list]:
    """(status, JSON body, extra headers) of one request: ``work()``'s result, or the error
    bodies every route answers with (:mod:`crm_cli.web.app`)."""
    from pydantic import ValidationError

    from crm_cli.domain.errors import CrmError, http_status
    from crm_cli.web.app import error_body, invalid_body, unexpected_answer

    try:
        out = work()
    except CrmError as exc:
        return http_status(exc), error_body(exc), []
    except ValidationError as exc:
        return 422, invalid_body(exc.errors(include_url=False)), []
    except Exception as exc:  # noqa: BLE001 - one JSON answer, as the app's handler of the unexpected
        status, body = unexpected_answer(scope["method"], scope["path"], exc)
        return status, body, []
    if out is None:
        return 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer")]
    return 200, out, []


class CounterApi:
    """ASGI: the counter API's two routes; every other request goes to ``app`` (FastAPI)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == GIVE_PATH:
                return await self._serve(scope, receive, send, "POST")
            if path.startswith(CARD_PREFIX) and len(path) > len(CARD_PREFIX) and "/" not in path[len(CARD_PREFIX):]:
                return await self._serve(scope, receive, send, "GET")
        await self.app(scope, receive, send)

    async def _serve(self, scope, receive, send, method: str) -> None:
        cfg = scope["app"].state.crm
        if scope["method"] != method:
            return await _refuse(send, 405, f"{scope['path']} answers {method} only", [(b"allow", method.encode())])
        authorization = _header(scope, b"authorization")
        if method == "GET":
            phone = scope["path"][len(CARD_PREFIX):]

            def work():
                return member_card(cfg, authorization=authorization, phone=phone, lots=_lots(scope))
        else:
            body = await _body(receive, cfg.max_body)
            if body is None:
                return await _refuse(send, 413, f"the body is larger than {cfg.max_body} bytes")
            kind = (_header(scope, b"content-type") or "application/json").split(";")[0].strip().lower()
            if kind != "application/json" and not kind.endswith("+json"):
                return await _refuse(send, 415, "the body must be JSON (Content-Type: application/json)")

            def work():
                return points_give(cfg, authorization=authorization, req=GiveRequest.model_validate_json(body))
        status, out, headers = await asyncio.get_running_loop().run_in_executor(_threads(), _answer, scope, work)
        await _send(send, status, out, headers)


_pool = None


def _threads():
    """The process's threads for counter requests: as many as the database connections the
    API keeps (:data:`crm_cli.web.context.POOL_SIZE`). A plain executor: handing a request to
    it costs less than Starlette's thread pool (anyio's limiter and cancel scope)."""
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        from crm_cli.web.context import POOL_SIZE

        _pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="crm-counter")
    return _pool


async def _body(receive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _refuse(send, status: int, message: str, headers: list | None = None) -> None:
    """An HTTP-level refusal (method, size, content type) with the body of an invalid input."""
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.web.app import error_body

    await _send(send, status, error_body(InvalidInput(message)), headers)


async def _send(send, status: int, body: Any, headers: list | None = None) -> None:
    import json

    data = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [_JSON, (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})
