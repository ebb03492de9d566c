"""Settings of the outside systems: graph store, Redis, PostgreSQL, Temporal, S3, HTTP, auth, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.platform.settings.area import Area


class FalkorDBSettings(Area):
    env_prefix = "falkordb_"
    host: str = "127.0.0.1"
    port: int = 6380
    password: SecretStr | None = None
    max_connections: int = 16


class Neo4jSettings(Area):
    env_prefix = "neo4j_"
    uri: str = "neo4j://127.0.0.1:7687"
    user: str = "neo4j"
    password: SecretStr | None = None
    database: str | None = None
    max_pool_size: int = 50
    acquisition_timeout_s: float = 30.0
    liveness_check_s: float = 30.0
    max_lifetime_s: float = 3600.0
    max_retry_time_s: float = 15.0


class GraphSettings(Area):
    """The graph store (FalkorDB locally, Neo4j in production) and the graph's Redis keys."""

    env_prefix = "graph_"
    backend: Literal["falkordb", "neo4j"] = "falkordb"
    name: str = "collaboration"
    write_batch: int = 1000
    changed_channel: str = "co:graph:changed"
    build_key: str = "co:graph:build"  # hash: state, done, total, started_at, eta_s
    ready_key: str = "co:graph:ready"
    falkordb: FalkorDBSettings = Field(default_factory=FalkorDBSettings)
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)


class RedisSettings(Area):
    """Redis: streams, cache, rate limits, pub/sub."""

    env_prefix = "redis_"
    url: str = "redis://127.0.0.1:6381/0"
    max_connections: int = 64
    pool_timeout_s: float = 5.0
    socket_timeout_s: float = 5.0
    health_check_interval_s: int = 30


class PostgresSettings(Area):
    """PostgreSQL: the ledger and the time series."""

    env_prefix = "pg_"
    dsn: SecretStr = SecretStr("postgresql://causal_organism@127.0.0.1:5433/causal_organism")
    min_size: int = 2
    max_size: int = 10
    command_timeout_s: float = 30.0
    acquire_timeout_s: float = 10.0
    # the owner role's DSN: `causal-organism migrate` runs as it and grants the dsn's role its
    # privileges (INSERT/SELECT only on the audit log); unset = migrate as the dsn's role
    owner_dsn: SecretStr | None = None


class TemporalSettings(Area):
    env_prefix = "temporal_"
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "causal-organism"
    ui_url: str = "http://127.0.0.1:8233"
    # production: mTLS (client certificate and key, server CA) and/or an API key (Temporal Cloud)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None
    tls_server_name: str | None = None
    api_key: SecretStr | None = None


class S3Settings(Area):
    """Object storage (the S3 API)."""

    env_prefix = "s3_"
    endpoint_url: str | None = "http://127.0.0.1:8333"
    region: str = "us-east-1"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    bucket: str = "causal-organism"


class HttpSettings(Area):
    api_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 1_048_576


class AuthSettings(Area):
    """JWT: production verifies with a JWKS URL or configured public keys, chosen by kid."""

    env_prefix = "jwt_"
    issuer: str = "causal-organism"
    audience: str = "causal-organism-api"
    algorithms: tuple[str, ...] = ("ES256", "RS256")
    jwks_url: str | None = None
    public_keys_dir: Path | None = None  # files <kid>.pem
    private_key_file: Path | None = None  # local only: mints dev tokens
    leeway_s: int = 30


class RateLimitSettings(Area):
    """Requests per window per user, by endpoint class (the field is named like the class). See docs/api.md."""

    env_prefix = "rate_limit_"
    enabled: bool = True
    prefix: str = "co:rl"
    window_s: int = 60
    read: int = 600
    write: int = 120
    analysis: int = 20
    ingest: int = 1200
    admin: int = 60
    unauthenticated: int = 30  # requests without a valid token, per client IP (x ip factor)
    ip_factor: float = 4.0  # per-IP budget = factor x the class's base limit (never premium-scaled)
    premium_factor: float = 5.0  # role "premium"/claim tier=premium
    fail_open: tuple[str, ...] = ("read",)  # classes still served when Redis is down
    timeout_s: float = 1.0  # a loaded 2-core box saw Lua calls > 250 ms


class CacheSettings(Area):
    """The response cache: Redis (L2) behind a per-process L1, invalidated over pub/sub."""

    env_prefix = "cache_"
    enabled: bool = True
    prefix: str = "co:cache"
    channel: str = "co:cache:invalidate"
    ttl_s: int = 30
    l1_ttl_s: float = 5.0
    l1_max_entries: int = 2048
