"""Client for the workplace simulator (functions/workplace_simulator), the demo's external system."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from shared.adapters.connectors.http_errors import send
from shared.domain.interventions import Action


class SimulatorConnector:
    name = "workplace-simulator"

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def health(self) -> bool:
        body = await send(self._client, "GET", "/health")
        return bool(body.get("status") == "ok")

    async def capture_state(self, actions: list[Action]) -> list[dict[str, Any]]:
        body = await send(self._client, "POST", "/state/capture", json={"actions": [a.to_dict() for a in actions]})
        return list(body["pre_states"])

    async def apply(self, action: Action, key: str) -> dict[str, Any]:
        return dict(await send(self._client, "POST", "/actions/apply", json={"key": key, "action": action.to_dict()}))

    async def revert(self, action: Action, pre_state: dict[str, Any], key: str) -> dict[str, Any]:
        body = {"key": key, "action": action.to_dict(), "pre_state": pre_state}
        return dict(await send(self._client, "POST", "/actions/revert", json=body))

    async def team_members(self, teams: list[str]) -> list[str]:
        body = await send(self._client, "POST", "/signals", json={"metric": "wellbeing", "teams": teams})
        return sorted(body["values"])

    async def read_series(
        self, metric: str, people: list[str] | None, start: date, end: date | None
    ) -> dict[str, list[float]]:
        """The simulator has no periods: each person's current signal is a one-element series."""
        query = {"metric": metric, "people": people or [], "everyone": people is None}
        body = await send(self._client, "POST", "/signals", json=query)
        return {k: [float(v)] for k, v in body["values"].items()}

    async def aclose(self) -> None:
        await self._client.aclose()
