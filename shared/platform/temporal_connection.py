"""The one Temporal connection, for the functions' ``Resources``, the worker and the schedules CLI.

With ``resources.py`` and ``redis_connection.py`` the only places within reach of the functions
and workflows that build an adapter (the composition root, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.adapters.temporal_client import connect
from shared.platform.settings import Settings
from shared.platform.tracing import temporal_interceptors

if TYPE_CHECKING:
    from temporalio.client import Client, Interceptor
    from temporalio.runtime import Runtime


async def connect_temporal(
    settings: Settings, runtime: Runtime | None = None, interceptors: Sequence[Interceptor] | None = None
) -> Client:
    """Tracing interceptors unless the caller passes its own."""
    chosen = temporal_interceptors(settings) if interceptors is None else interceptors
    return await connect(settings, runtime=runtime, interceptors=chosen)
