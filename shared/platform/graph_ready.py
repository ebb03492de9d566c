"""Endpoints that read the graph answer 503 + Retry-After (with the progress) while it is being built."""

from __future__ import annotations

from fastapi import Request

from shared.adapters.graph_build_status import read_status
from shared.platform.errors import ApiError


async def require_graph_ready(request: Request) -> None:
    resources = request.app.state.resources
    status = await read_status(resources.redis, resources.settings)
    if status.ready:
        return
    retry = max(1, min(300, int(status.eta_s or 5)))
    raise ApiError(
        503,
        "graph_not_ready",
        f"the graph is being built ({status.percent:.1f}% done); retry later",
        [
            {"field": "graph", "problem": f"state={status.state} done={status.done} total={status.total}"},
        ],
        headers={"Retry-After": str(retry)},
    )
