"""GET /healthz: the process answers and the database is reachable at the current schema."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crm_cli.web.context import web_state

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request):
    from sqlalchemy import text

    from crm_cli.domain.errors import CrmError

    st = web_state(request, command="serve healthz", actor="web")
    try:
        with st.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except CrmError as exc:
        return JSONResponse({"status": "unavailable", "message": exc.message}, status_code=503)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        return JSONResponse({"status": "unavailable", "message": exc.__class__.__name__}, status_code=503)
    return {"status": "ok"}
