"""Generic signed-webhook connector: HMAC-SHA256-signed JSON events to one configured URL.

Each call POSTs ``{"event": "...", ...}`` with the header
``X-CO-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (the timestamp
is signed too, so a receiver can refuse replays; see :func:`verify_signature`) and
``Idempotency-Key`` for apply/revert. The receiver answers with JSON; for ``capture`` it returns
``{"pre_states": [...]}``, otherwise the connector keeps the action itself as the pre-state.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from shared.adapters.connectors.http_errors import send
from shared.domain.interventions import Action, canonical_json

SIGNATURE_HEADER = "X-CO-Signature"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """For receivers: constant-time check of the signature and the timestamp's freshness."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


class WebhookConnector:
    name = "webhook"

    def __init__(
        self, url: str, secret: bytes, timeout_s: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("the webhook connector needs a secret (CO_WEBHOOK_SECRET)")
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def _post(self, payload: dict[str, Any], key: str | None = None) -> Any:
        body = canonical_json(payload).encode()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(self._clock())),
        }
        if key is not None:
            headers["Idempotency-Key"] = key
        return await send(self._client, "POST", self._url, content=body, headers=headers)

    async def health(self) -> bool:
        body = await self._post({"event": "health"})
        return bool(body.get("ok", True))

    async def capture_state(self, actions: list[Action]) -> list[dict[str, Any]]:
        body = await self._post({"event": "capture", "actions": [a.to_dict() for a in actions]})
        states = body.get("pre_states") if isinstance(body, dict) else None
        if isinstance(states, list) and len(states) == len(actions):
            return [dict(s) for s in states]
        return [{"action": a.to_dict()} for a in actions]

    async def apply(self, action: Action, key: str) -> dict[str, Any]:
        return dict(await self._post({"event": "apply", "key": key, "action": action.to_dict()}, key) or {})

    async def revert(self, action: Action, pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        payload = {"event": "revert", "key": key, "action": action.to_dict(), "pre_state": pre_state}
        return dict(await self._post(payload, key) or {})

    async def aclose(self) -> None:
        await self._client.aclose()
