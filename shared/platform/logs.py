"""One logger everywhere: JSON lines on stderr through stdlib logging (python-json-logger), each
with the current span's ``trace_id`` and ``span_id`` so a log line leads to its trace."""

from __future__ import annotations

import logging

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from shared.platform.settings import Settings

_MARK = "_co_json_handler"
# servers that bring their own handlers: their lines go through ours instead
_ADOPTED = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access", "temporalio")


class TraceContextFilter(logging.Filter):
    """Stamps the current span's ids on every record (null outside a span or with tracing off)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        return True


def json_formatter(service: str) -> JsonFormatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{trace_id}{span_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
    )


def configure_logging(settings: Settings) -> None:
    """Add the JSON handler to the root logger once (other handlers, e.g. pytest's, are kept)."""
    root = logging.getLogger()
    if any(getattr(h, _MARK, False) for h in root.handlers):
        return
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:  # basicConfig's plain-text handler
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter(settings.service_name))
    handler.addFilter(TraceContextFilter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(settings.observability.log_level)
    for name in _ADOPTED:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True
