"""Start a function's ASGI app in a real uvicorn process on loopback (schemathesis, benchmarks).

The helpers live in ops/processes.py (benchmarks and demos use them too); these names stay for the tests.
"""

from __future__ import annotations

from ops.processes import free_port, settings_env
from ops.processes import serve as uvicorn_process
from ops.stack.config import ROOT

__all__ = ["ROOT", "free_port", "settings_env", "uvicorn_process"]
