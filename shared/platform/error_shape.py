"""The error shape's body and ``ApiError``, free of any web framework: the FastAPI functions
(``errors.py`` installs the handlers) and the CloudEvents function (Flask) answer with it, and the
latter must not load FastAPI to do so (its cold start, docs/benchmarks.md).

``{"error": {"code": str, "message": str, "details": [{"field": str, "problem": str}]}}``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def error_payload(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_details(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as field/problem pairs (no input values echoed back)."""
    return [{"field": _field_path(e.get("loc", ())), "problem": str(e.get("msg", "invalid"))} for e in errors]


class ApiError(Exception):
    """An error that maps to an HTTP status and the stable error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}
