"""POST /line/webhook/{store}: LINE's webhook for one store.

Order of checks: size (413), store and channel (404), signature on the raw body (401),
then JSON (400). Events are recorded in one transaction and LINE gets its 200 at once;
replies and profile look-ups go to LINE after the answer, so a slow LINE never delays it.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from crm_cli.web.context import WebConfig, config, web_state

router = APIRouter()
log = logging.getLogger("crm.web.webhook")


def _refuse(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


@router.post("/line/webhook/{store}")
async def line_webhook(store: str, request: Request, background: BackgroundTasks):
    from starlette.concurrency import run_in_threadpool

    cfg = config(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cfg.max_body:
        return _refuse(413, "too_large", f"the body is larger than {cfg.max_body} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cfg.max_body:
            return _refuse(413, "too_large", f"the body is larger than {cfg.max_body} bytes")
    signature = request.headers.get("x-line-signature")
    return await run_in_threadpool(_process, request, cfg, store, bytes(body), signature, background)


def _process(request: Request, cfg: WebConfig, slug: str, body: bytes, signature: str | None,
             background: BackgroundTasks):
    from crm_cli.line import webhook as wh
    from crm_cli.services import line_channel, line_webhook

    st = web_state(request, store=slug, command="serve line webhook", actor="line")
    with st.reading(store=False) as tx:
        creds = line_channel.credentials_for_slug(tx.session, slug=slug)
    if creds is None:
        return _refuse(404, "not_found", f"no store '{slug}' connected to LINE")
    if not wh.verify_signature(creds.channel_secret, body, signature):
        log.warning("webhook %s: bad or missing signature", slug)
        return _refuse(401, "bad_signature", "the x-line-signature header does not match the body")
    try:
        payload = wh.parse(body)
    except wh.WebhookFormatError as exc:
        return _refuse(400, "bad_request", str(exc))
    if not payload.events:  # LINE's "Verify" button sends an empty list
        return {}
    with st.transaction(allow_suspended=True) as tx:
        outcome = line_webhook.handle_events(tx.session, store_id=tx.store.id, events=payload.events,
                                             now=st.now(), autoreply=not tx.store.suspended)
        tx.audit(outcome.summary())
        leftover = line_webhook.pending_replies(tx.session, store_id=tx.store.id, now=st.now(),
                                                exclude=outcome.replies)
    if outcome.replies or outcome.profiles or leftover:
        background.add_task(deliver, st, cfg, creds.store_id, creds.access_token, outcome, leftover)
    return {}


def deliver(st, cfg: WebConfig, store_id: int, access_token: str, outcome, leftover: list[int] = ()) -> None:
    """Send the pending replies (this request's, then any an earlier process left), then
    fetch new profiles; each write is its own short transaction."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.line.client import LineApiError
    from crm_cli.services import line_webhook

    engine = st.engine()
    client = cfg.messaging_api(access_token)
    try:
        for message_id in [*outcome.replies, *leftover]:
            with unit_of_work(engine) as session:
                pending = line_webhook.claim_reply(session, message_id=message_id)
            if pending is None:
                continue
            ok, sent_id, error = False, None, None
            try:
                sent = client.reply(pending.reply_token, pending.messages)
                ok, sent_id = True, (sent.message_ids[0] if sent.message_ids else None)
            except LineApiError as exc:
                error = exc.message
                log.warning("reply %s not delivered: %s", message_id, exc.message)
            with unit_of_work(engine) as session:
                line_webhook.finish_reply(session, message_id=message_id, ok=ok, line_message_id=sent_id, error=error)
        for user_id in outcome.profiles:
            try:
                profile = client.profile(user_id)
            except LineApiError as exc:
                log.warning("profile of %s not fetched: %s", user_id, exc.message)
                continue
            with unit_of_work(engine) as session:
                line_webhook.store_profile(session, store_id=store_id, user_id=user_id, profile=profile, now=st.now())
    except Exception:  # noqa: BLE001 - a background failure must never take the server down
        log.exception("delivery after webhook failed")
    finally:
        client.close()
