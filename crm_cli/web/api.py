"""Counter API with a branch API key: POST /api/v1/points/give and GET /api/v1/members/PHONE.

The same services as `crm points give` and `crm points balance` (same rule, same
idempotency key, same errors); errors come back as JSON with the exit-code name and an
HTTP 4xx status.
"""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from crm_cli.domain.errors import InvalidInput
from crm_cli.services import points as svc
from crm_cli.services.audit import mask_phone
from crm_cli.web.context import api_unit, to_json

router = APIRouter(prefix="/api/v1")


class GiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=40)
    spend: str = Field(max_length=20, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
                       description="THB with up to 2 decimals, as a string: \"350.00\" (no exponent, no sign)")
    key: Optional[str] = Field(default=None, max_length=200, description="idempotency key, e.g. the receipt number")
    staff: Optional[str] = Field(default=None, max_length=40, description="the staff member's phone")


def _unauthorized() -> JSONResponse:
    return JSONResponse({"error": "unauthorized", "exit_code": 6,
                         "message": "a valid API key is required: Authorization: Bearer KEY (see `crm apikey create`)"},
                        status_code=401, headers={"WWW-Authenticate": "Bearer"})


@router.get("/members/{phone}")
def api_member_card(phone: str, request: Request, lots: int = 10, authorization: Optional[str] = Header(default=None)):
    """The member's card: balance, debt, next expiry and the lots in spending order, as
    `crm points balance PHONE --format json` prints it (``lots``: at most this many, 0-100)."""
    with api_unit(request, authorization=authorization, command="api members show", write=False) as tx:
        if tx is None:
            return _unauthorized()
        if not 0 <= lots <= 100:
            raise InvalidInput(f"lots must be 0 to 100, got {lots}")
        info = svc.balance(tx.session, store_id=tx.store_id, phone=phone[:40], now=tx.now, limit=lots)
    return to_json(info)


@router.post("/points/give")
def api_points_give(req: GiveRequest, request: Request, authorization: Optional[str] = Header(default=None)):
    """Points for a purchase at the key's branch: `crm points give`'s service, in one transaction
    with the key check, the key's use and the audit record."""
    with api_unit(request, authorization=authorization, command="api points give", write=True) as tx:
        if tx is None:
            return _unauthorized()
        res = svc.give_for_spend(tx.session, store_id=tx.store_id, phone=req.phone, spend=req.spend,
                                 branch=tx.branch, staff=req.staff, key=req.key, now=tx.now, actor=tx.actor)
        tx.audit(f"{'replayed' if res.duplicate else 'gave'} {res.points} points to {mask_phone(res.phone)} "
                 f"for {res.spend:.2f} THB at {tx.branch}" + (f" (key {req.key})" if req.key else ""))
    return to_json(res)
