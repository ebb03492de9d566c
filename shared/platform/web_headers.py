"""Security headers for the web app's responses: a strict Content-Security-Policy (only this
origin's scripts, styles, images and connections; no inline script, no eval, no framing) and
the usual companions. Applied to paths under ``prefix`` only; the JSON API is not a document."""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.platform.middleware import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(oidc_issuer: str | None) -> str:
    form_action = "'self'"
    if oidc_issuer:
        parts = urlsplit(oidc_issuer)
        form_action += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, prefix: str, oidc_issuer: str | None = None) -> None:
        self.app = app
        self.prefix = prefix
        self.headers = [
            (b"content-security-policy", content_security_policy(oidc_issuer).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
