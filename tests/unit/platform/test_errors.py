"""A saturated PostgreSQL pool answers 503 with Retry-After in the one error shape, not 500
(the load profile's full run hit it: 100 users on one instance at load 28)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.adapters.postgres.pool import PoolExhaustedError
from shared.platform.errors import install_error_handlers


async def test_pool_exhaustion_is_503_retry_later() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/saturated")
    async def saturated() -> None:
        try:
            raise TimeoutError
        except TimeoutError as exc:
            raise PoolExhaustedError("postgres pool exhausted: no connection free within 10s (max 10)") from exc

    @app.get("/bug")
    async def bug() -> None:
        raise PoolExhaustedError("no cause: still a saturated pool")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.get("/saturated")
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json()["error"]["code"] == "unavailable" and "pool" not in r.text
        assert (await http.get("/bug")).status_code == 500  # without a timeout behind it: not retryable
