"""Pure ASGI middleware every HTTP function gets from the app factory.

- :class:`BodyLimitMiddleware`: 413 for bodies over ``max_body_bytes``, whether declared by
  Content-Length or streamed in chunks (``Transfer-Encoding: chunked`` has no length). The body
  is read (at most the limit) before the app runs and replayed to it, so an over-long body is
  refused before any handler or parser sees a byte of it.
- :class:`RateLimitHeadersMiddleware`: copies the ``RateLimit-*`` headers that the auth
  dependency computed onto the response (handlers may return any Response type).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

from shared.platform.errors import error_payload

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _too_large(max_bytes: int) -> JSONResponse:
    return JSONResponse(
        error_payload("payload_too_large", f"request body exceeds {max_bytes} bytes"),
        status_code=413,
        headers={"Connection": "close"},
    )


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 (one error shape)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await JSONResponse(error_payload("bad_request", "invalid Content-Length"), status_code=400)(
                        scope, receive, send
                    )
                    return
                if declared > self.max_bytes:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        disconnected: Message | None = None
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = message
                break
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if disconnected is not None:
                    return disconnected
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimitHeadersMiddleware:
    """Attach ``request.state.ratelimit_headers`` (set by the auth dependency) to the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the same dict request.state writes into

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = state.get("ratelimit_headers")
                if extra:
                    headers = list(message.get("headers", []))
                    present = {k.lower() for k, _ in headers}
                    for name, value in extra.items():
                        if name.lower().encode() not in present:
                            headers.append((name.lower().encode(), value.encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
