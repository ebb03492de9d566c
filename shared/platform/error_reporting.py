"""Sentry, with nothing personal in it.

Initialised from settings (``sentry_dsn``, ``environment``, ``release``) by every function, the
graph updater and the worker; with no DSN nothing is initialised and every call here returns at
once. What leaves the process is cut down twice:

- by configuration: no default PII, no request bodies, no local variables, no Sentry tracing
  (traces are OpenTelemetry's; the event carries the OTel ``trace_id`` as a tag);
- by :func:`scrub_event` / :func:`scrub_breadcrumb`: request bodies, cookies, query strings and
  every header but a few harmless ones are dropped; e-mail addresses, bearer/JWT tokens, secrets
  written as ``key=value``, long token-like strings and long digit runs are redacted from every
  message, exception value, breadcrumb, tag and extra. The user is the token's pseudonymous
  subject and its roles, nothing else.

Known error families get one fingerprint each, so Sentry groups them however their messages vary.

``sentry_sdk`` is imported only by :func:`init_error_reporting` with a DSN (a tenth of a
function's cold start otherwise); the Temporal worker's interceptor is in ``worker_reporting.py``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.platform.dependency_errors import dependency_unavailable
from shared.platform.settings import Settings
from shared.platform.tracing import current_trace_id

if TYPE_CHECKING:
    from sentry_sdk.transport import Transport
    from starlette.requests import Request

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic|token)\s+[^\s,;]+"),
    re.compile(
        r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization|cookie|session|dsn)"
        r"\s*[=:]\s*[^\s,;&]+"
    ),
    re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"),  # JWTs
    re.compile(r"[^\s@\"'<>()\[\],;:]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail addresses (the raw identifiers of people)
    re.compile(r"[A-Za-z0-9_\-+=]{20,}"),  # tokens, keys, hashes, uuids (not paths: no "/")
    re.compile(r"\d{6,}"),  # employee numbers, phone numbers
    re.compile(r"[\w.-]*://[^\s/@]+:[^\s/@]+@"),  # credentials in URLs
)
SAFE_TAGS = frozenset({"trace_id", "route", "service", "workflow_id", "activity"})  # ours, never personal
SAFE_HEADERS = frozenset({"content-type", "content-length", "accept", "host", "x-request-id"})
_DROPPED_REQUEST_KEYS = ("data", "cookies", "query_string", "env")


def scrub_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def scrub_value(value: Any) -> Any:
    """Every string inside ``value`` (dicts, lists) scrubbed; keys that name secrets are emptied."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _PATTERNS[1].search(f"{k}=x") else scrub_value(v)
            for k, v in value.items()
            if isinstance(k, str)
        }
    if isinstance(value, (list, tuple)):
        return [scrub_value(v) for v in value]
    return value


def _scrub_request(request: dict[str, Any]) -> dict[str, Any]:
    for key in _DROPPED_REQUEST_KEYS:
        request.pop(key, None)
    if isinstance(request.get("url"), str):
        request["url"] = scrub_text(request["url"].split("?", 1)[0])
    headers = request.get("headers")
    if isinstance(headers, Mapping):
        request["headers"] = {k: scrub_text(str(v)) for k, v in headers.items() if k.lower() in SAFE_HEADERS}
    return request


def _scrub_exception(exception: dict[str, Any]) -> None:
    for item in exception.get("values") or []:
        if isinstance(item.get("value"), str):
            item["value"] = scrub_text(item["value"])
        for frame in (item.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
            # source lines around the frame can hold literals (a hard-coded address, a fixture id)
            if isinstance(frame.get("context_line"), str):
                frame["context_line"] = scrub_text(frame["context_line"])
            for key in ("pre_context", "post_context"):
                if isinstance(frame.get(key), list):
                    frame[key] = [scrub_text(line) if isinstance(line, str) else line for line in frame[key]]


def fingerprint(exc: BaseException) -> list[str] | None:
    """One group per known error family, whatever the message."""
    if dependency_unavailable(exc):
        return ["store-unavailable", type(exc).__name__]
    if isinstance(exc, ValidationError):
        return ["validation", type(exc).__name__]
    module = type(exc).__module__
    if module.startswith(("httpx", "pybreaker", "shared.adapters.connectors")):
        return ["connector-failure", type(exc).__name__]
    return None


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """``before_send``: the event as it may leave the process."""
    if isinstance(event.get("request"), dict):
        event["request"] = _scrub_request(event["request"])
    if isinstance(event.get("exception"), dict):
        _scrub_exception(event["exception"])
    if isinstance(event.get("threads"), dict):
        _scrub_exception(event["threads"])
    for key in ("message", "logentry", "extra", "breadcrumbs", "contexts", "transaction"):
        if key in event:
            event[key] = scrub_value(event[key])
    tags = event.get("tags")
    if isinstance(tags, Mapping):
        event["tags"] = {k: v if k in SAFE_TAGS else scrub_value(v) for k, v in tags.items()}
    user = event.get("user") or {}
    event["user"] = {k: user[k] for k in ("id", "roles") if k in user}  # never ip, e-mail, username
    exc_info = hint.get("exc_info")
    if exc_info and exc_info[1] is not None and (fp := fingerprint(exc_info[1])) is not None:
        event["fingerprint"] = fp
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """``before_breadcrumb``: messages and data scrubbed, URLs without their query."""
    data = crumb.get("data")
    if isinstance(data, dict) and isinstance(data.get("url"), str):
        data["url"] = data["url"].split("?", 1)[0]
        data.pop("http.query", None)
    scrubbed: dict[str, Any] = scrub_value(crumb)
    return scrubbed


def active_sentry() -> ModuleType | None:
    """The ``sentry_sdk`` module when Sentry is initialised in this process, else None; never
    imports it (a process without a DSN never loads it)."""
    sentry = sys.modules.get("sentry_sdk")
    return sentry if sentry is not None and sentry.get_client().is_active() else None


def init_error_reporting(settings: Settings, *, transport: Transport | None = None) -> bool:
    """Initialise Sentry once per process; False (and nothing imported or sent) without a DSN."""
    if settings.observability.sentry_dsn is None:
        return False
    if active_sentry() is not None:
        return True
    import sentry_sdk
    from sentry_sdk.integrations.asyncpg import AsyncPGIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    sentry_sdk.init(
        dsn=settings.observability.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        release=settings.observability.release,
        server_name=settings.service_name,  # not the host name
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=None,  # tracing is OpenTelemetry's
        before_send=scrub_event,  # type: ignore[arg-type]  # Event is a TypedDict of the same dict
        before_breadcrumb=scrub_breadcrumb,
        integrations=[AsyncPGIntegration(), RedisIntegration(), LoggingIntegration(event_level=None)],
        transport=transport,
    )
    sentry_sdk.set_tag("service", settings.service_name)
    return True


def report_exception(exc: BaseException, request: Request | None = None, **tags: str) -> None:
    """Send one event for ``exc`` with the route, the caller's pseudonymous subject and roles, and
    the OpenTelemetry trace id; nothing when Sentry is off."""
    sentry_sdk = active_sentry()
    if sentry_sdk is None:
        return
    with sentry_sdk.new_scope() as scope:
        trace_id = current_trace_id()
        if trace_id:
            scope.set_tag("trace_id", trace_id)
        for key, value in tags.items():
            scope.set_tag(key, value)
        if request is not None:
            route = request.scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            if template:
                scope.set_transaction_name(str(template))
                scope.set_tag("route", str(template))
            principal = getattr(request.state, "principal", None)
            if principal is not None:
                scope.set_user({"id": principal.subject, "roles": sorted(str(r) for r in principal.roles)})
        sentry_sdk.capture_exception(exc)
