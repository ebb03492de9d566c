"""Ingest CloudEvents function (functions-framework): one event of type
``com.causalorganism.interaction.v1`` per request, binary or structured content mode.

Run: ``functions-framework --source functions/ingest_cloudevents/main.py --target ingest_interaction``.
A bad event answers 4xx with the stable error shape (the Knative broker does not redeliver 4xx);
an accepted one answers 200 "OK" (functions-framework's fixed success reply) once the stream holds it.

The caller must present a verified token (``shared.platform.event_auth``: a service JWT or a
Knative OIDC audience token), is rate-limited per caller (class ``ingest``), and the event's
ledger id is (source, id) as the CloudEvents spec defines uniqueness. The body cap is set on
the app (``wsgi.py``, ``CO_MAX_BODY_BYTES``). Team hints in events never override the HR
attributes store (see the ledger).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import functions_framework
import redis.asyncio as aioredis
from cloudevents.http import CloudEvent
from flask import Response, abort, request
from pydantic import ValidationError

from shared.domain.events import EVENT_TYPE_V1, InteractionEvent, cloudevent_ledger_id, validation_context
from shared.platform.error_shape import error_payload, validation_details
from shared.platform.event_auth import EventAuthError, verify_event_caller
from shared.platform.ratelimit import RateClass, RateLimiter
from shared.platform.redis_connection import redis_client
from shared.platform.settings import Settings, load_settings
from shared.services.ingest import accept_events

EVENT_ID_MAX_LENGTH = 128  # the ledger's event id (shared.domain.events.EventId)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _reject(status: int, body: dict[str, Any]) -> Response:
    """functions-framework ignores return values of CloudEvent functions: raise the response."""
    abort(_json(status, body))
    raise AssertionError("unreachable")


async def _refusal(settings: Settings, redis_factory: Any, authorization: str | None) -> Response | None:
    """Authenticate, then rate-limit the caller: the response refusing it, or None to go on."""
    try:
        caller = await verify_event_caller(settings, authorization)
    except EventAuthError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="causal-organism"'} if exc.status == 401 else {}
        return Response(json.dumps(error_payload(exc.code, exc.message)), exc.status, headers, "application/json")
    if not settings.ratelimit.enabled:
        return None
    redis: aioredis.Redis = redis_factory(settings)
    try:
        limiter = RateLimiter(settings, redis)
        decision = await limiter.hit(RateClass.INGEST, subject=caller.identity, ip=None, premium=caller.premium)
    finally:
        await redis.aclose()
    if decision.allowed:
        return None
    body = error_payload("rate_limited", "too many events from this caller; retry later")
    return Response(json.dumps(body), 429, decision.headers(settings.ratelimit.window_s), "application/json")


def handle(
    event: CloudEvent,
    settings: Settings,
    redis_factory: Any = redis_client,
    authorization: str | None = None,
) -> Response:
    """Admit the caller, validate and append one interaction CloudEvent (ledger id from source and id)."""
    refusal = asyncio.run(_refusal(settings, redis_factory, authorization))
    if refusal is not None:
        abort(refusal)
    if request and (request.content_length or 0) > settings.http.max_body_bytes:  # the bare framework has no cap
        return _reject(413, error_payload("payload_too_large", "request body exceeds the size limit"))
    if event["type"] != EVENT_TYPE_V1:
        return _reject(
            422,
            error_payload(
                "unsupported_event_type",
                f"expected {EVENT_TYPE_V1}",
                [{"field": "type", "problem": f"got {event['type']}"}],
            ),
        )
    data = event.get_data()
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError:
            return _reject(400, error_payload("bad_request", "data is not valid JSON"))
    if not isinstance(data, dict):
        return _reject(
            422,
            error_payload(
                "validation_error", "data must be an object", [{"field": "data", "problem": "not an object"}]
            ),
        )
    payload = {"event_id": event["id"], **data}
    ledger_id = cloudevent_ledger_id(str(event["source"]), str(event["id"]))
    if len(ledger_id) > EVENT_ID_MAX_LENGTH:
        return _reject(
            422,
            error_payload(
                "validation_error",
                "event rejected: nothing was written",
                [
                    {
                        "field": "id",
                        "problem": f"at most {EVENT_ID_MAX_LENGTH - len(ledger_id) + len(event['id'])} chars",
                    }
                ],
            ),
        )
    try:
        interaction = InteractionEvent.model_validate(
            payload, context=validation_context(datetime.now(UTC), settings.privacy.raw_retention_days)
        )
    except ValidationError as exc:
        return _reject(
            422,
            error_payload("validation_error", "event rejected: nothing was written", validation_details(exc.errors())),
        )

    async def append() -> list[str]:
        redis: aioredis.Redis = redis_factory(settings)
        try:
            return await accept_events(settings, redis, [interaction.model_copy(update={"event_id": ledger_id})])
        finally:
            await redis.aclose()

    ids = asyncio.run(append())
    return _json(202, {"accepted": len(ids), "event_ids": ids})


@functions_framework.cloud_event
def ingest_interaction(event: CloudEvent) -> None:
    """functions-framework entrypoint (its success reply is a fixed 200 "OK"; errors are raised
    as responses by :func:`handle`). Settings are read per invocation: no global state."""
    handle(event, load_settings(), authorization=request.headers.get("Authorization"))
