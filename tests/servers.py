"""Start project functions as real processes for tests (uvicorn; the helper lives in ops/processes.py)."""

from __future__ import annotations

from ops.processes import serve

__all__ = ["serve"]
