"""Map httpx outcomes onto the connector error classes (shared by the HTTP connectors)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.adapters.connectors.base import ConnectorRejected, ConnectorUnavailable


async def send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    """One request; JSON body back, or a classified error."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # connect, read timeout, protocol errors
        raise ConnectorUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectorUnavailable(f"{method} {url}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ConnectorRejected(f"{method} {url}: HTTP {response.status_code}: {response.text[:200]}")
    return response.json() if response.content else {}
