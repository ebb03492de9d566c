"""Ingest CloudEvents function (functions-framework): one event of type
``com.causalorganism.interaction.v1`` per request, binary or structured content mode.

Run: ``functions-framework --source functions/ingest_cloudevents/main.py --target ingest_interaction``.
A bad event answers 4xx with the stable error shape (the Knative broker does not redeliver 4xx);
an accepted one answers 200 "OK" (functions-framework's fixed success reply) once the stream holds it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import functions_framework
import redis.asyncio as aioredis
from cloudevents.http import CloudEvent
from flask import Response, abort
from pydantic import ValidationError

from shared.adapters.redis_pool import build_redis
from shared.domain.events import EVENT_TYPE_V1, InteractionEvent, validation_context
from shared.platform.errors import error_payload, validation_details
from shared.platform.settings import Settings, load_settings
from shared.services.ingest import accept_events


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _reject(status: int, body: dict[str, Any]) -> Response:
    """functions-framework ignores return values of CloudEvent functions: raise the response."""
    abort(_json(status, body))
    raise AssertionError("unreachable")


def handle(event: CloudEvent, settings: Settings, redis_factory: Any = build_redis) -> Response:
    """Validate and append one interaction CloudEvent; the event id comes from the CloudEvent id."""
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
    try:
        interaction = InteractionEvent.model_validate(
            payload, context=validation_context(datetime.now(UTC), settings.raw_retention_days)
        )
    except ValidationError as exc:
        return _reject(
            422,
            error_payload("validation_error", "event rejected: nothing was written", validation_details(exc.errors())),
        )

    async def append() -> list[str]:
        redis: aioredis.Redis = redis_factory(settings)
        try:
            return await accept_events(settings, redis, [interaction])
        finally:
            await redis.aclose()

    ids = asyncio.run(append())
    return _json(202, {"accepted": len(ids), "event_ids": ids})


@functions_framework.cloud_event
def ingest_interaction(event: CloudEvent) -> None:
    """functions-framework entrypoint (its success reply is a fixed 200 "OK"; errors are raised
    as responses by :func:`handle`). Settings are read per invocation: no global state."""
    handle(event, load_settings())
