"""One typed settings object for every function, read from env, `.env` and mounted secret files.

Precedence (highest first): process environment, `.env` in the working directory, secret files
in ``CO_SECRETS_DIR`` (default ``/var/run/secrets/causal-organism``; one file per field, named
like the field), then the defaults below. Every variable is listed in docs/settings.md.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_SECRETS_DIR = "/var/run/secrets/causal-organism"


def _secrets_dirs() -> list[str]:
    """Secret directories that exist; pydantic-settings warns about missing ones."""
    wanted = os.environ.get("CO_SECRETS_DIR", DEFAULT_SECRETS_DIR)
    return [d for d in wanted.split(os.pathsep) if d and Path(d).is_dir()]


class Settings(BaseSettings):
    """Everything a function needs to know about its environment. Immutable once built."""

    model_config = SettingsConfigDict(
        env_prefix="CO_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    environment: Literal["local", "test", "production"] = "local"
    service_name: str = "causal-organism"

    # graph store
    graph_backend: Literal["falkordb", "neo4j"] = "falkordb"
    graph_name: str = "collaboration"
    falkordb_host: str = "127.0.0.1"
    falkordb_port: int = 6380
    falkordb_password: SecretStr | None = None
    falkordb_max_connections: int = 16
    neo4j_uri: str = "neo4j://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    neo4j_max_pool_size: int = 50
    neo4j_acquisition_timeout_s: float = 30.0
    neo4j_liveness_check_s: float = 30.0
    neo4j_max_lifetime_s: float = 3600.0
    neo4j_max_retry_time_s: float = 15.0
    graph_write_batch: int = 1000

    # redis: streams, cache, rate limits, pub/sub
    redis_url: str = "redis://127.0.0.1:6381/0"
    redis_max_connections: int = 64
    redis_pool_timeout_s: float = 5.0
    redis_socket_timeout_s: float = 5.0
    redis_health_check_interval_s: int = 30

    # postgres: ledger and time series
    pg_dsn: SecretStr = SecretStr("postgresql://causal_organism@127.0.0.1:5433/causal_organism")
    pg_min_size: int = 2
    pg_max_size: int = 10
    pg_command_timeout_s: float = 30.0
    pg_acquire_timeout_s: float = 10.0
    # the owner role's DSN: `causal-organism migrate` runs as it and grants the pg_dsn role its
    # privileges (INSERT/SELECT only on the audit log); unset = migrate as the pg_dsn role
    pg_owner_dsn: SecretStr | None = None

    # temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "causal-organism"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # production: mTLS (client certificate and key, server CA) and/or an API key (Temporal Cloud)
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_ca_file: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    worker_metrics_port: int = 0  # the worker's Prometheus port (9464 in the manifests); 0 = off
    worker_sdk_metrics_port: int = 0  # the Temporal SDK's own Prometheus endpoint (9465 in the manifests); 0 = off

    # object storage (S3 API)
    s3_endpoint_url: str | None = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "causal-organism"

    # privacy
    hmac_key: SecretStr | None = None
    hmac_key_file: Path | None = None
    hmac_key_id: str = "k1"
    min_group_size: int = 5

    # audit log: the chain's HMAC key (never sent to the database) and the S3 anchors of its head,
    # written by `causal-organism audit-anchor` with credentials the application does not hold
    audit_chain_key: SecretStr | None = None
    audit_chain_key_file: Path | None = None
    audit_anchor_bucket: str = "co-audit-anchors"
    audit_anchor_prefix: str = "intervention-audit"
    audit_anchor_s3_access_key: SecretStr | None = None
    audit_anchor_s3_secret_key: SecretStr | None = None
    raw_retention_days: int = 90

    # streams
    stream_name: str = "co:interactions"
    stream_group: str = "graph-updater"
    dead_letter_stream: str = "co:interactions:dead"
    stream_maxlen: int = 2_000_000  # approximate; ACKED policy: never trims unconsumed entries
    consumer_batch: int = 4000  # larger batches dedupe repeated pairs/people before the graph write
    consumer_block_ms: int = 1000
    consumer_metrics_port: int = 0  # the graph updater's Prometheus port (9464 in the manifests); 0 = off
    consumer_claim_idle_ms: int = 30_000  # pending this long => its consumer is presumed dead
    consumer_max_deliveries: int = 5  # then the entry goes to the dead-letter stream
    graph_changed_channel: str = "co:graph:changed"
    graph_build_key: str = "co:graph:build"  # hash: state, done, total, started_at, eta_s
    # graph.updated CloudEvents sink: CO_EVENTS_SINK_URL, else K_SINK (what a Knative SinkBinding injects)
    events_sink_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CO_EVENTS_SINK_URL", "K_SINK", "events_sink_url")
    )

    # http
    api_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 1_048_576

    # auth (JWT): production verifies with a JWKS URL or configured public keys, chosen by kid
    jwt_issuer: str = "causal-organism"
    jwt_audience: str = "causal-organism-api"
    jwt_algorithms: tuple[str, ...] = ("ES256", "RS256")
    jwt_jwks_url: str | None = None
    jwt_public_keys_dir: Path | None = None  # files <kid>.pem
    jwt_private_key_file: Path | None = None  # local only: mints dev tokens
    jwt_leeway_s: int = 30

    # api platform (issue 7): rate limits, response cache, graph readiness. See docs/api.md.
    rate_limit_enabled: bool = True
    rate_limit_prefix: str = "co:rl"
    rate_limit_window_s: int = 60
    rate_limit_read: int = 600  # requests per window per user, by endpoint class
    rate_limit_write: int = 120
    rate_limit_analysis: int = 20
    rate_limit_ingest: int = 1200
    rate_limit_admin: int = 60
    rate_limit_unauthenticated: int = 30  # requests without a valid token, per client IP (x ip factor)
    rate_limit_ip_factor: float = 4.0  # per-IP budget = factor x the class's base limit (never premium-scaled)
    rate_limit_premium_factor: float = 5.0  # role "premium"/claim tier=premium
    rate_limit_fail_open: tuple[str, ...] = ("read",)  # classes still served when Redis is down
    # CloudEvents ingest: besides a service JWT (the verifier above, role service/admin), Knative
    # Eventing OIDC audience tokens are accepted when these are set (issuer, audience, keys)
    ingest_oidc_issuer: str | None = None
    ingest_oidc_audience: str | None = None
    ingest_oidc_jwks_url: str | None = None
    ingest_oidc_public_keys_dir: Path | None = None
    ingest_oidc_subjects: list[str] = []  # allowed ``sub`` values (empty: any, the audience decides)
    rate_limit_timeout_s: float = 1.0  # a loaded 2-core box saw Lua calls > 250 ms
    cache_enabled: bool = True
    cache_prefix: str = "co:cache"
    cache_channel: str = "co:cache:invalidate"
    cache_ttl_s: int = 30
    cache_l1_ttl_s: float = 5.0
    cache_l1_max_entries: int = 2048
    graph_ready_key: str = "co:graph:ready"

    # metrics (issue 4): definitions and refresh policy. See docs/metrics.md.
    metrics_window_days: int = 28
    metrics_workday_start_hour: int = 8
    metrics_workday_end_hour: int = 18
    metrics_timezone: str = "UTC"
    metrics_strong_tie_min_weight: float = 2.0
    metrics_exact_max_nodes: int = 5000  # exact betweenness up to this many people
    metrics_pivots: int = 4096  # sampled sources above it (error measured in docs/metrics.md)
    metrics_seed: int = 42
    metrics_exact_budget_s: float = 45.0  # exact betweenness above exact_max_nodes when it fits this
    metrics_exact_cost_ns: float = 12.7  # igraph's measured cost per (person x tie), one core (Enron 172 s)
    metrics_betweenness_workers: int = 0  # processes the Brandes sources are split over; 0 = one per core
    metrics_error_delta: float = 0.05  # the sampled betweenness bound holds with probability 1 - this
    metrics_broadcast_min_size: int = 25  # groups larger than this are broadcasts (no peer ties)
    metrics_broadcast_weight: float = 0.0  # weight of each pair of a broadcast
    metrics_tie_min_evidence: int = 2  # interactions a pair needs in a window to count as a tie
    metrics_refresh_lock_ttl_s: float = 900.0
    metrics_refresh_max_age_s: float = 86400.0  # refresh an unchanged graph after this long
    metrics_raw_retention_days: int = 90
    metrics_rollup_retention_days: int = 730
    metrics_raw_history_max_days: int = 7  # longer raw ranges must use hour/day rollups

    # causal analysis (issue 5): engines, Spark, durable runs. See docs/causal.md.
    causal_spark_threshold_rows: int = 100_000  # panels this large (or larger) run on Spark
    causal_min_rows: int = 30  # fewer complete rows than this is a 422
    causal_heartbeat_timeout_s: float = 30.0
    causal_activity_timeout_s: float = 6 * 3600.0
    causal_max_attempts: int = 5
    spark_master: str = "local[*]"  # a cluster's master URL in production
    spark_jdbc_jar: Path = Path("/usr/share/java/postgresql.jar")  # ops/install_jdbc.sh
    spark_driver_memory: str = "2g"
    spark_jdbc_partitions: int = 4
    spark_shuffle_partitions: int = 4

    # data in and out under the law (issue 16): exports, retention, erasure. See docs/privacy.md.
    export_prefix: str = "exports/"  # object key prefix in s3_bucket (the lifecycle rule's filter)
    export_retention_days: int = 7  # export objects are deleted this long after they complete
    export_link_default_s: int = 3600  # pre-signed link lifetime unless the request asks (<= 24 h)
    export_part_bytes: int = 8 * 1024 * 1024  # S3 multipart part size: the upload's memory bound
    export_cursor_prefetch: int = 2000  # rows fetched per server-side cursor round trip
    export_progress_interval_s: float = 1.0
    receipts_grace_days: int = 2  # receipts live raw_retention_days + this (events still queued in the stream)
    outcomes_retention_days: int = 730
    attributes_retention_days: int = 730  # attributes not updated for this long
    analyses_retention_days: int = 365  # analysis rows (spec, panel provenance, result)
    summaries_retention_days: int = 90  # per-refresh metric summaries (the latest is always kept)
    retention_batch_rows: int = 50_000

    # backups (issue 17): pgBackRest freshness for the alert rules. See docs/runbooks/backup-restore.md.
    backup_pgbackrest_config: Path | None = None  # pgBackRest configuration file (local); else PGBACKREST_* env
    backup_cipher_pass: SecretStr | None = None  # repository passphrase, handed to pgBackRest by env (production)
    backup_stanza: str = "causal_organism"
    backup_run_as: str | None = None  # run pgBackRest as this OS user (locally: postgres, when root)
    backup_exporter_host: str = "127.0.0.1"  # 0.0.0.0 in a pod, so Prometheus can reach it
    backup_exporter_port: int = 9188  # the backup exporter's Prometheus port
    backup_refresh_s: float = 30.0  # how often the exporter asks pgBackRest and pg_stat_archiver

    # observability
    sentry_dsn: SecretStr | None = None  # Sentry is off (and costs nothing) without one
    release: str | None = None  # the deployed version, reported with every Sentry event
    otlp_endpoint: str | None = None  # OTLP/HTTP base URL (a collector's :4318); tracing is on when set
    otel_span_dir: Path | None = None  # also write spans as OTLP JSON lines here, one file per process
    otel_sampling_ratio: float = Field(default=1.0, ge=0.0, le=1.0)  # of root traces; children follow the parent
    log_level: str = "INFO"
    metrics_bind_host: str = "127.0.0.1"  # where the consumer and the worker serve /metrics (0.0.0.0 in a pod)

    # interventions (issue 6): connectors, breaker, approval and monitoring. See docs/interventions.md.
    simulator_host: str = "127.0.0.1"
    simulator_port: int = 8765
    simulator_url: str = "http://127.0.0.1:8765"
    connector: Literal["simulator", "webhook"] = "simulator"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    connector_timeout_s: float = 10.0
    outcome_source: Literal["connector", "postgres"] = "connector"  # where monitoring reads outcomes
    breaker_failure_threshold: int = 5
    breaker_reset_timeout_s: float = 30.0
    breaker_half_open_max_calls: int = 1
    # approval decisions are signed by the interventions API (Ed25519, PEM files); the public key
    # goes into each intervention's workflow input, whose update validator checks the signature
    decision_signing_key: SecretStr | None = None  # PEM (a mounted secret), or the file below
    decision_signing_key_file: Path | None = None
    decision_public_key: str | None = None  # PEM, or the file below
    decision_public_key_file: Path | None = None
    approval_timeout_s: float = 24 * 3600.0
    monitoring_window_s: float = 7 * 24 * 3600.0
    rollback_window_s: float = 30 * 24 * 3600.0
    intervention_max_attempts: int = 6
    intervention_task_queue: str | None = None  # defaults to temporal_task_queue
    cycle_analysis_workflow: str = "AnalysisWorkflow"  # child workflow run per configured analysis
    cycle_analyses: list[dict[str, Any]] = []  # analysis specs (JSON) the 6-hourly cycle runs
    cycle_lookback_hours: float = 6.0  # robust analyses this recent are evaluated
    cycle_max_people: int = 5  # people targeted by one automatic proposal

    # web app (issue 14): OpenID Connect sign-in, session cookie, live updates. See docs/web.md.
    web_oidc_issuer: str | None = None  # the identity provider; discovery at <issuer>/.well-known/openid-configuration
    web_oidc_client_id: str | None = None
    web_oidc_client_secret: SecretStr | None = None  # None: a public client (PKCE only)
    web_oidc_scopes: str = "openid profile groups"
    web_oidc_groups_claim: str = "groups"
    web_oidc_group_roles: dict[str, str] = {
        "causal-organism-viewers": "viewer",
        "causal-organism-analysts": "analyst",
        "causal-organism-approvers": "approver",
        "causal-organism-admins": "admin",
    }
    web_dev_sign_in: bool = False  # pick-a-role sign-in; honoured only when environment is local or test
    web_session_secret: SecretStr | None = None  # signs the session cookie; local/test derive one from the HMAC key
    web_session_max_age_s: int = 8 * 3600
    web_cookie_secure: bool = True  # browsers keep Secure cookies on http://127.0.0.1 and localhost
    web_public_origin: str | None = None  # e.g. https://app.example.org: redirect URI and WebSocket Origin check
    web_heartbeat_s: float = 10.0  # WebSocket ping interval; the page reconnects after two missed
    web_poll_interval_s: float = 5.0  # the page's polling interval when WebSockets are blocked
    web_live_poll_s: float = 1.0  # how often the live hub looks for new audit rows and analysis progress

    @cached_property
    def pseudonymisation_key(self) -> bytes:
        """The HMAC key, from the value or from the file that holds it."""
        if self.hmac_key is not None:
            return self.hmac_key.get_secret_value().encode()
        if self.hmac_key_file is not None:
            return self.hmac_key_file.read_bytes().strip()
        raise RuntimeError("no pseudonymisation key: set CO_HMAC_KEY or CO_HMAC_KEY_FILE")

    @property
    def decision_signing_pem(self) -> bytes | None:
        """The interventions API's decision signing key (PEM), from the value or its file (read on
        each use: rare, and a copy of these settings with another key must not see a cached one)."""
        if self.decision_signing_key is not None:
            return self.decision_signing_key.get_secret_value().encode()
        return self.decision_signing_key_file.read_bytes() if self.decision_signing_key_file else None

    @property
    def decision_public_pem(self) -> str | None:
        """The public half, put into every intervention's workflow input."""
        if self.decision_public_key is not None:
            return self.decision_public_key
        return self.decision_public_key_file.read_text() if self.decision_public_key_file else None

    @cached_property
    def audit_key(self) -> bytes | None:
        """The audit chain's HMAC key (value or file); None when unset (appends and verify then fail)."""
        if self.audit_chain_key is not None:
            return self.audit_chain_key.get_secret_value().encode()
        if self.audit_chain_key_file is not None:
            return self.audit_chain_key_file.read_bytes().strip()
        return None


def load_settings(**overrides: Any) -> Settings:
    """Build settings; keyword overrides win over every other source (tests use this).

    Secret files may be named like the field (``pg_dsn``) or like the variable (``CO_PG_DSN``).
    """
    from pydantic_settings import SecretsSettingsSource

    directories = _secrets_dirs()

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            bare = [SecretsSettingsSource(settings_cls, secrets_dir=d, env_prefix="") for d in directories]
            return (init_settings, env_settings, dotenv_settings, file_secret_settings, *bare)

    loaded = _Loaded(_secrets_dir=directories or None, **overrides)  # type: ignore[call-arg]
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})
