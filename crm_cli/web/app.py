"""The app factory: ``create_app()`` builds the ASGI app ``crm serve`` runs."""

from __future__ import annotations

from crm_cli.domain.errors import ExitCode
from crm_cli.web.context import WebConfig


def error_body(exc) -> dict:
    """A domain error as JSON: the exit-code name, the exit code and the one-line message."""
    from crm_cli.domain.errors import error_name

    return {"error": error_name(exc), "exit_code": exc.exit_code, "message": exc.message}


def invalid_body(errors) -> dict:
    """A request that does not validate (pydantic's ``errors()``), as JSON: invalid_input, exit code 5."""
    parts = []
    for e in list(errors)[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return {"error": "invalid_input", "exit_code": ExitCode.INVALID_INPUT, "message": "; ".join(parts) or "invalid request"}


def unexpected_answer(method: str, path: str, exc: BaseException) -> tuple[int, dict]:
    """(status, JSON body) of an error no rule expects: logged by class name only (never the
    message, which may hold data) and the path as the access log shows it; 503 when the
    database is unreachable, 409 when a concurrent change refused the write, otherwise 500."""
    import logging

    from crm_cli.cli.errors import describe_unexpected
    from crm_cli.web.server import log_path

    code, message = describe_unexpected(exc)
    logging.getLogger("crm.web").error("%s %s: %s", method, log_path(path), exc.__class__.__name__)
    status = 503 if code == ExitCode.DATABASE else 409 if code == ExitCode.CONFLICT else 500
    return status, {"error": "internal" if status == 500 else "database" if status == 503 else "refused",
                    "exit_code": code, "message": message if status != 500 else "internal error"}


def create_app(config: WebConfig | None = None):
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from crm_cli.domain.errors import CrmError, http_status
    from crm_cli.web import api, health, webhook
    from crm_cli.web.server import hide_paths_in_access_log

    app = FastAPI(title="crm", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.crm = config or WebConfig()
    hide_paths_in_access_log()  # tokens and phones in paths stay out of the access log

    @app.exception_handler(CrmError)
    async def _crm_error(request: Request, exc: CrmError):
        return JSONResponse(error_body(exc), status_code=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(invalid_body(exc.errors()), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        status, body = unexpected_answer(request.method, request.url.path, exc)
        return JSONResponse(body, status_code=status)

    app.add_middleware(api.CounterApi)  # the counter API's two routes, ahead of FastAPI's routing
    app.include_router(health.router)
    app.include_router(webhook.router)
    _pages(app)
    return app


def _pages(app) -> None:
    """The member and staff pages, LINE Login and their stylesheet."""
    from starlette.staticfiles import StaticFiles

    from crm_cli.web import login, member_pages, staff_pages, survey_pages
    from crm_cli.web.pages import STATIC

    app.include_router(login.router)
    app.include_router(member_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(survey_pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
