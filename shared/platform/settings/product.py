"""Settings of the product's areas: ingest, privacy, audit, exports, metrics, causal analysis,
interventions, backups, observability and the web app."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr

from shared.platform.settings.area import Area


class IngestOidcSettings(Area):
    """Knative Eventing OIDC audience tokens accepted by the CloudEvents ingest besides a service JWT."""

    env_prefix = "ingest_oidc_"
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    public_keys_dir: Path | None = None
    subjects: list[str] = []  # allowed ``sub`` values (empty: any, the audience decides)


class IngestSettings(Area):
    """The interaction stream and its consumer (the graph updater). See docs/ingestion.md."""

    stream_name: str = "co:interactions"
    stream_group: str = "graph-updater"
    dead_letter_stream: str = "co:interactions:dead"
    stream_maxlen: int = 2_000_000  # approximate; ACKED policy: never trims unconsumed entries
    consumer_batch: int = 4000  # larger batches dedupe repeated pairs/people before the graph write
    consumer_block_ms: int = 1000
    consumer_claim_idle_ms: int = 30_000  # pending this long => its consumer is presumed dead
    consumer_max_deliveries: int = 5  # then the entry goes to the dead-letter stream
    # graph.updated CloudEvents sink: CO_EVENTS_SINK_URL, else K_SINK (what a Knative SinkBinding injects)
    events_sink_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CO_EVENTS_SINK_URL", "K_SINK", "events_sink_url")
    )
    oidc: IngestOidcSettings = Field(default_factory=IngestOidcSettings)


class PrivacySettings(Area):
    """Pseudonymisation, the minimum group size and retention (issue 16). See docs/privacy.md."""

    hmac_key: SecretStr | None = None
    hmac_key_file: Path | None = None
    hmac_key_id: str = "k1"
    min_group_size: int = 5
    raw_retention_days: int = 90
    receipts_grace_days: int = 2  # receipts live raw_retention_days + this (events still queued in the stream)
    outcomes_retention_days: int = 730
    attributes_retention_days: int = 730  # attributes not updated for this long
    analyses_retention_days: int = 365  # analysis rows (spec, panel provenance, result)
    summaries_retention_days: int = 90  # per-refresh metric summaries (the latest is always kept)
    retention_batch_rows: int = 50_000

    @cached_property
    def pseudonymisation_key(self) -> bytes:
        """The HMAC key, from the value or from the file that holds it."""
        if self.hmac_key is not None:
            return self.hmac_key.get_secret_value().encode()
        if self.hmac_key_file is not None:
            return self.hmac_key_file.read_bytes().strip()
        raise RuntimeError("no pseudonymisation key: set CO_HMAC_KEY or CO_HMAC_KEY_FILE")


class AuditSettings(Area):
    """The audit chain's HMAC key (never sent to the database) and the S3 anchors of its head,
    written by `causal-organism audit-anchor` with credentials the application does not hold."""

    env_prefix = "audit_"
    chain_key: SecretStr | None = None
    chain_key_file: Path | None = None
    anchor_bucket: str = "co-audit-anchors"
    anchor_prefix: str = "intervention-audit"
    anchor_s3_access_key: SecretStr | None = None
    anchor_s3_secret_key: SecretStr | None = None

    @cached_property
    def key(self) -> bytes | None:
        """The chain's HMAC key (value or file); None when unset (appends and verify then fail)."""
        if self.chain_key is not None:
            return self.chain_key.get_secret_value().encode()
        if self.chain_key_file is not None:
            return self.chain_key_file.read_bytes().strip()
        return None


class ExportSettings(Area):
    """Data exports (issue 16). See docs/privacy.md."""

    env_prefix = "export_"
    prefix: str = "exports/"  # object key prefix in the S3 bucket (the lifecycle rule's filter)
    retention_days: int = 7  # export objects are deleted this long after they complete
    link_default_s: int = 3600  # pre-signed link lifetime unless the request asks (<= 24 h)
    part_bytes: int = 8 * 1024 * 1024  # S3 multipart part size: the upload's memory bound
    cursor_prefetch: int = 2000  # rows fetched per server-side cursor round trip
    progress_interval_s: float = 1.0


class MetricsSettings(Area):
    """Network metric definitions and refresh policy (issue 4). See docs/metrics.md."""

    env_prefix = "metrics_"
    window_days: int = 28
    live_reading: Literal["window", "cumulative"] = "window"  # what the hourly refresh's live values read
    workday_start_hour: int = 8
    workday_end_hour: int = 18
    timezone: str = "UTC"
    strong_tie_min_weight: float = 2.0
    exact_max_nodes: int = 5000  # exact betweenness up to this many people
    pivots: int = 4096  # sampled sources above it (error measured in docs/metrics.md)
    seed: int = 42
    exact_budget_s: float = 45.0  # exact betweenness above exact_max_nodes when it fits this
    exact_cost_ns: float = 6.5  # compiled kernel's CPU cost per (person x tie) (Enron 88 CPU-s)
    betweenness_workers: int = 0  # processes the Brandes sources are split over; 0 = one per core
    error_delta: float = 0.05  # the sampled betweenness bound holds with probability 1 - this
    broadcast_min_size: int = 25  # groups larger than this are broadcasts (no peer ties)
    broadcast_weight: float = 0.0  # weight of each pair of a broadcast
    tie_min_evidence: int = 2  # interactions a pair needs in a window to count as a tie
    refresh_lock_ttl_s: float = 900.0
    refresh_max_age_s: float = 86400.0  # refresh an unchanged graph after this long
    raw_retention_days: int = 90
    rollup_retention_days: int = 730
    raw_history_max_days: int = 7  # longer raw ranges must use hour/day rollups


class SparkSettings(Area):
    env_prefix = "spark_"
    master: str = "local[*]"  # a cluster's master URL in production
    jdbc_jar: Path = Path("/usr/share/java/postgresql.jar")  # ops/install_jdbc.sh
    driver_memory: str = "2g"
    jdbc_partitions: int = 4
    shuffle_partitions: int = 4
    executor_memory: str = "512m"  # per executor on a cluster (spark:// master); unused by local[*]
    executor_cores: int = 1  # cores per executor on a cluster
    driver_host: str = ""  # address executors reach the driver at ("": Spark's default, the hostname)


class CausalSettings(Area):
    """Causal analysis (issue 5): engines, Spark, durable runs. See docs/causal.md."""

    env_prefix = "causal_"
    spark_threshold_rows: int = 100_000  # panels this large (or larger) run on Spark
    min_rows: int = 30  # fewer complete rows than this is a 422
    heartbeat_timeout_s: float = 30.0
    activity_timeout_s: float = 6 * 3600.0
    max_attempts: int = 5
    spark: SparkSettings = Field(default_factory=SparkSettings)


class BackupSettings(Area):
    """pgBackRest freshness for the alert rules (issue 17). See docs/runbooks/backup-restore.md."""

    env_prefix = "backup_"
    pgbackrest_config: Path | None = None  # pgBackRest configuration file (local); else PGBACKREST_* env
    cipher_pass: SecretStr | None = None  # repository passphrase, handed to pgBackRest by env (production)
    stanza: str = "causal_organism"
    run_as: str | None = None  # run pgBackRest as this OS user (locally: postgres, when root)
    exporter_host: str = "127.0.0.1"  # 0.0.0.0 in a pod, so Prometheus can reach it
    exporter_port: int = 9188  # the backup exporter's Prometheus port
    refresh_s: float = 30.0  # how often the exporter asks pgBackRest and pg_stat_archiver


class ObservabilitySettings(Area):
    sentry_dsn: SecretStr | None = None  # Sentry is off (and costs nothing) without one
    release: str | None = None  # the deployed version, reported with every Sentry event
    otlp_endpoint: str | None = None  # OTLP/HTTP base URL (a collector's :4318); tracing is on when set
    otel_span_dir: Path | None = None  # also write spans as OTLP JSON lines here, one file per process
    otel_sampling_ratio: float = Field(default=1.0, ge=0.0, le=1.0)  # of root traces; children follow the parent
    log_level: str = "INFO"
    metrics_bind_host: str = "127.0.0.1"  # where the consumer and the worker serve /metrics (0.0.0.0 in a pod)
    consumer_metrics_port: int = 0  # the graph updater's Prometheus port (9464 in the manifests); 0 = off
    worker_metrics_port: int = 0  # the worker's Prometheus port (9464 in the manifests); 0 = off
    worker_sdk_metrics_port: int = 0  # the Temporal SDK's own Prometheus endpoint (9465 in the manifests); 0 = off


class BreakerSettings(Area):
    """The connector's circuit breaker."""

    env_prefix = "breaker_"
    failure_threshold: int = 5
    reset_timeout_s: float = 30.0
    half_open_max_calls: int = 1


class CycleSettings(Area):
    """The 6-hourly intervention cycle."""

    env_prefix = "cycle_"
    analysis_workflow: str = "AnalysisWorkflow"  # child workflow run per configured analysis
    analyses: list[dict[str, Any]] = []  # analysis specs (JSON) the cycle runs
    lookback_hours: float = 6.0  # robust analyses this recent are evaluated
    max_people: int = 5  # people targeted by one automatic proposal


class InterventionSettings(Area):
    """Interventions (issue 6): connectors, breaker, approval and monitoring. See docs/interventions.md."""

    simulator_host: str = "127.0.0.1"
    simulator_port: int = 8765
    simulator_url: str = "http://127.0.0.1:8765"
    connector: Literal["simulator", "webhook"] = "simulator"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    connector_timeout_s: float = 10.0
    outcome_source: Literal["connector", "postgres"] = "connector"  # where monitoring reads outcomes
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
    intervention_task_queue: str | None = None  # defaults to temporal.task_queue
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    cycle: CycleSettings = Field(default_factory=CycleSettings)

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


class WebSettings(Area):
    """The web app (issue 14): OpenID Connect sign-in, session cookie, live updates. See docs/web.md."""

    env_prefix = "web_"
    oidc_issuer: str | None = None  # the identity provider; discovery at <issuer>/.well-known/openid-configuration
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # None: a public client (PKCE only)
    oidc_scopes: str = "openid profile groups"
    oidc_groups_claim: str = "groups"
    oidc_group_roles: dict[str, str] = {
        "causal-organism-viewers": "viewer",
        "causal-organism-analysts": "analyst",
        "causal-organism-approvers": "approver",
        "causal-organism-admins": "admin",
    }
    dev_sign_in: bool = False  # pick-a-role sign-in; honoured only when environment is local or test
    session_secret: SecretStr | None = None  # signs the session cookie; local/test derive one from the HMAC key
    session_max_age_s: int = 8 * 3600
    cookie_secure: bool = True  # browsers keep Secure cookies on http://127.0.0.1 and localhost
    public_origin: str | None = None  # e.g. https://app.example.org: redirect URI and WebSocket Origin check
    heartbeat_s: float = 10.0  # WebSocket ping interval; the page reconnects after two missed
    poll_interval_s: float = 5.0  # the page's polling interval when WebSockets are blocked
    live_poll_s: float = 1.0  # how often the live hub looks for new audit rows and analysis progress
