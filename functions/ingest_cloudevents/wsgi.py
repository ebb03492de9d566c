"""The CloudEvents function as Knative serves it: functions-framework's own app for
``ingest_interaction`` (``functions_framework.create_app``) plus the two probes Knative calls.

Why not the bare ``functions-framework --target ingest_interaction`` command: a CloudEvent function's
app routes only POST, so ``GET /health/live`` and ``GET /health/ready`` would answer 405 and the
revision would never become ready. Everything else (routing, binary/structured decoding, the
handler) is functions-framework's, unchanged.

Run (what knative/ingest-cloudevents.yaml does):
``gunicorn --bind 0.0.0.0:8080 --workers 1 --threads 8 --timeout 0 functions.ingest_cloudevents.wsgi:app``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import functions_framework
from flask import Flask, Response, json
from werkzeug.exceptions import RequestEntityTooLarge

from shared.platform.error_reporting import init_error_reporting
from shared.platform.error_shape import error_payload
from shared.platform.logs import configure_logging
from shared.platform.redis_connection import redis_client
from shared.platform.settings import Settings, load_settings
from shared.platform.tracing import instrument_flask

log = logging.getLogger(__name__)
TARGET = "ingest_interaction"
SOURCE = Path(__file__).with_name("main.py")
READY_TIMEOUT_S = 2.0


async def _redis_check(settings: Settings) -> dict[str, Any]:
    """The only dependency this function writes to; a real PING, bounded in time."""
    redis = redis_client(settings)
    started = time.perf_counter()
    try:
        await asyncio.wait_for(redis.ping(), READY_TIMEOUT_S)
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        log.warning("readiness: redis unavailable: %s: %s", type(exc).__name__, str(exc)[:300])
        return {"ok": False, "error": "unavailable"}  # public endpoint: the detail is in the log
    finally:
        await redis.aclose()


def _live() -> Response:
    return Response(json.dumps({"status": "ok"}), status=200, mimetype="application/json")


def _ready() -> Response:
    """Same body shape as the HTTP functions' readiness (``shared.platform.http.Readiness``)."""
    checks = {"redis": asyncio.run(_redis_check(load_settings()))}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return Response(json.dumps(body), status=200 if ok else 503, mimetype="application/json")


def _too_large(_: Exception) -> Response:
    body = error_payload("payload_too_large", "request body exceeds the size limit")
    return Response(json.dumps(body), status=413, mimetype="application/json")


def build_app() -> Flask:
    settings = load_settings()
    app: Flask = functions_framework.create_app(target=TARGET, source=str(SOURCE), signature_type="cloudevent")
    # the same cap as the HTTP API: werkzeug refuses a longer body (declared or streamed) with 413
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.add_url_rule("/health/live", "health_live", _live, methods=["GET"])
    app.add_url_rule("/health/ready", "health_ready", _ready, methods=["GET"])
    configure_logging(settings)
    init_error_reporting(settings)
    instrument_flask(app, settings)
    return app


app = build_app()
