"""Fixtures for the API platform tests: apps on the real stack, tokens for every role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from shared.platform.settings import Settings
from shared.platform.tokens import mint_token

Mint = Callable[..., str]
ROOT = Path(__file__).resolve().parents[2]


def http_function_modules() -> list[str]:
    """Every function under functions/ that serves HTTP (a FastAPI app), as a module name."""
    names = []
    for main in sorted((ROOT / "functions").glob("*/main.py")):
        text = main.read_text()
        if "create_app" in text or "FastAPI(" in text:
            names.append(f"functions.{main.parent.name}.main")
    return names


@pytest.fixture(scope="session")
def api_settings(settings: Settings) -> Settings:
    """Session settings with this session's own rate-limit and cache keys."""
    tag = uuid.uuid4().hex[:8]
    return settings.replace(
        **{
            "rate_limit_prefix": f"test:{tag}:rl",
            "cache_prefix": f"test:{tag}:cache",
            "cache_channel": f"test:{tag}:cache:invalidate",
            "graph_ready_key": f"test:{tag}:graph:ready",
            "graph_build_key": f"test:{tag}:graph:build",
        }
    )


@pytest.fixture(scope="session")
def mint(api_settings: Settings) -> Mint:
    """``mint("analyst", subject=..., **claims)``: a valid token signed with the session key."""

    def _mint(*roles: str, subject: str | None = None, ttl_s: int = 3600, **extra: Any) -> str:
        return mint_token(
            api_settings,
            subject=subject or f"user-{uuid.uuid4().hex[:8]}",
            roles=list(roles),
            ttl_s=ttl_s,
            extra=extra,
        )

    return _mint


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an in-process client (real stores behind it)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


def build_test_app(settings: Settings, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The dev server's routes (every HTTP function) plus any extra routers a test needs."""
    from functions.dev_server.main import build_app
    from shared.platform.http import create_app
    from shared.platform.resources import Needs

    if not routers:
        return build_app(settings)
    return create_app(title="test", needs=Needs(redis=True), routers=routers, settings=settings)


@pytest.fixture(scope="session")
async def dev_client(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The dev server app (all HTTP functions) on the real stack, shared by the session."""
    app = build_test_app(api_settings)
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
