"""The one way to connect to Temporal: address and namespace, plus mTLS and/or an API key in
production (a process that can reach Temporal can send updates; docs/security.md, item 7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.platform.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client, Interceptor
    from temporalio.runtime import Runtime
    from temporalio.service import TLSConfig


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client certificate is configured; plain TLS when only a CA (or an API key) is."""
    from temporalio.service import TLSConfig  # with the client, on the first connection (cold starts)

    s = settings
    if s.temporal.tls_cert_file or s.temporal.tls_ca_file:
        return TLSConfig(
            server_root_ca_cert=s.temporal.tls_ca_file.read_bytes() if s.temporal.tls_ca_file else None,
            client_cert=s.temporal.tls_cert_file.read_bytes() if s.temporal.tls_cert_file else None,
            client_private_key=s.temporal.tls_key_file.read_bytes() if s.temporal.tls_key_file else None,
            domain=s.temporal.tls_server_name,
        )
    return s.temporal.api_key is not None  # an API key is only ever sent over TLS


async def connect(
    settings: Settings, runtime: Runtime | None = None, interceptors: Sequence[Interceptor] = ()
) -> Client:
    from temporalio.client import Client  # on the first connection: a function's cold start never needs it

    api_key = settings.temporal.api_key.get_secret_value() if settings.temporal.api_key else None
    return await Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        tls=tls_config(settings),
        api_key=api_key,
        runtime=runtime,
        interceptors=interceptors,
    )
