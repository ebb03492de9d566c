"""Names vulture (``./dev lint``) reports as unused that are used by something it cannot see.

Reviewed by hand; regenerate the candidates with
``.venv/bin/vulture --make-whitelist`` and keep only what is really used. Each name is an
expression vulture reads; nothing here runs."""

# ruff: noqa

# Fields of response models, payloads and enums: read by pydantic/FastAPI (serialised into
# responses), by Temporal's converter or by the JSON/CSV they are written to, never by name in code.
CHAT  # variable, shared/domain/events.py
CODE_REVIEW  # variable, shared/domain/events.py
ERROR_RESPONSES  # variable, shared/platform/http.py
EXPORT_STATUSES  # variable, shared/domain/exports.py
FINISHED_STATUSES  # variable, shared/domain/exports.py
INSUFFICIENT_OVERLAP  # variable, shared/domain/interventions.py
NOT_SIGNIFICANT  # variable, shared/domain/interventions.py
PERIOD_KINDS  # variable, shared/domain/periods.py
REBUILT_PAIRS_SQL  # variable, shared/adapters/postgres/ledger_maintenance.py
REFUTED  # variable, shared/domain/interventions.py
SENSITIVE_TO_HIDDEN_CONFOUNDING  # variable, shared/domain/interventions.py
TERMINAL  # variable, shared/adapters/postgres/causal_store.py
_.__class__  # attribute, shared/adapters/causal/pandas_engine.py
_.__signature__  # attribute, shared/platform/caching.py
_._confidence_intervals  # attribute, shared/adapters/causal/pandas_engine.py
_.confounder_increases_estimate  # attribute, shared/adapters/causal/design.py
_.last_batch_s  # attribute, shared/services/graph_updater.py
_.metrics_carried  # attribute, shared/services/rekey.py
_.null_hypothesis_effect  # attribute, shared/adapters/causal/design.py
_.percent_change_estimate  # attribute, shared/adapters/causal/design.py
_.process_exit_code  # attribute, load/locustfile.py
_.ratelimit_headers  # attribute, shared/platform/auth.py
_.significance_level  # attribute, shared/adapters/causal/design.py
_.standard_error  # attribute, shared/adapters/causal/design.py
_.web_user  # attribute, shared/platform/web_session.py
abstract  # variable, load/locustfile.py
adjusted_effect  # variable, shared/domain/analysis.py
analysis  # variable, shared/platform/settings/infrastructure.py
archive_max_wal  # variable, shared/adapters/pgbackrest.py
change_cross_team_ratio  # variable, functions/metrics_api/periods.py
change_density  # variable, functions/metrics_api/periods.py
change_load_index  # variable, functions/metrics_api/periods.py
change_silo_index  # variable, functions/metrics_api/periods.py
completed_at  # variable, functions/exports_api/routes.py (filled from the row by name)
created_at  # variable, functions/exports_api/routes.py (filled from the row by name)
head_id  # variable, shared/adapters/postgres/audit_chain.py and functions/interventions_api/routes.py (VerifyReport serialised by asdict)
decided_by  # variable, functions/interventions_api/routes.py
decision_reason  # variable, functions/interventions_api/routes.py
degree  # variable, functions/metrics_api/routes.py
density  # variable, functions/metrics_api/periods.py
density  # variable, functions/metrics_api/routes.py
dropped_pairs  # variable, functions/metrics_api/periods.py
e_value_ci  # variable, shared/domain/analysis.py
event_ids  # variable, functions/ingest_http/routes.py
first_start  # variable, functions/metrics_api/periods.py
fixed_count  # variable, load/locustfile.py
hmac_key_id  # variable, shared/platform/settings/product.py
isolated  # variable, functions/metrics_api/routes.py
last_backup_label  # variable, shared/adapters/pgbackrest.py
last_batch_s  # variable, shared/services/graph_updater.py
last_start  # variable, functions/metrics_api/periods.py
link_url  # variable, functions/exports_api/routes.py
load_index  # variable, functions/metrics_api/periods.py
mean_betweenness  # variable, functions/metrics_api/routes.py
metrics_at  # variable, functions/metrics_api/routes.py
metrics_carried  # variable, shared/services/rekey.py
metrics_run  # variable, functions/metrics_api/routes.py
model_config  # variable, functions/metrics_api/periods.py
model_config  # variable, functions/metrics_api/routes.py
model_config  # variable, functions/privacy_api/routes.py
model_config  # variable, shared/domain/analysis.py
model_config  # variable, shared/domain/events.py
model_config  # variable, shared/domain/exports.py
model_config  # variable, shared/platform/settings/__init__.py
model_config  # variable, shared/platform/settings/area.py
partial_r2_treatment_outcome  # variable, shared/domain/analysis.py
period_end  # variable, functions/metrics_api/periods.py
period_kind  # variable, functions/metrics_api/periods.py
previous_start  # variable, functions/metrics_api/periods.py
result_url  # variable, functions/analysis_api/routes.py
rows_dropped_missing  # variable, shared/domain/analysis.py
schema_version  # variable, shared/domain/events.py
silo_index  # variable, functions/metrics_api/periods.py
status_url  # variable, functions/analysis_api/routes.py
status_url  # variable, functions/exports_api/routes.py
status_url  # variable, functions/privacy_api/routes.py
updated_at  # variable, functions/interventions_api/routes.py
wait_time  # variable, load/locustfile.py
weighted_degree  # variable, functions/metrics_api/routes.py

# Framework hooks called by their library, not by this code: DoWhy's estimator interface,
# Temporal's interceptor, pydantic-settings' source order, Locust's user classes and on_start,
# http.server's do_GET/do_POST/log_message in the tests' stub servers.
EventProducer  # class, load/locustfile.py
_._build_model  # method, shared/adapters/causal/pandas_engine.py
_._do  # method, shared/adapters/causal/pandas_engine.py
_.do_GET  # method, tests/api/test_key_rotation.py
_.do_POST  # method, tests/ingest/test_change_notification.py
_.do_POST  # method, tests/observability/test_prometheus_live.py
_.intercept_activity  # method, shared/platform/error_reporting.py
_.log_message  # method, tests/api/test_key_rotation.py
_.log_message  # method, tests/ingest/test_change_notification.py
_.log_message  # method, tests/observability/test_prometheus_live.py
_.predict  # method, shared/adapters/causal/pandas_engine.py
_.settings_customise_sources  # method, shared/platform/settings/__init__.py

# pytest fixtures requested only for their side effect (ordering a teardown)
swept  # argument, tests/conftest.py

# Test doubles and helpers kept for readability of a test (a state machine's rules, a
# reference implementation compared in a docstring), and unpacked names in tests.
TestBreakerMachine  # variable, tests/unit/adapters/connectors/test_breaker.py
_.advance  # method, tests/unit/adapters/connectors/test_breaker.py
_.capture_envelope  # method, tests/observability/test_error_reporting.py
_.finish_call  # method, tests/unit/adapters/connectors/test_breaker.py
_.open_only_until_timeout  # method, tests/unit/adapters/connectors/test_breaker.py
_.open_since  # attribute, tests/unit/adapters/connectors/test_breaker.py
_.probes_are_limited  # method, tests/unit/adapters/connectors/test_breaker.py
_.should_exit  # attribute, tests/interventions/test_webhook.py
_.start_call  # method, tests/unit/adapters/connectors/test_breaker.py
ce_headers  # variable, tests/ingest/test_change_notification.py
pytestmark  # variable, tests/causal/test_spark_parity.py
pytestmark  # variable, tests/observability/test_prometheus_live.py
pytestmark  # variable, tests/observability/test_tracing.py
pytestmark  # variable, tests/stack/test_restart.py
small_graph  # variable, tests/metrics/test_workflows.py

# Reviewed: new and not yet called; left to their owners (see the report of issue 10).
live_counts  # function, shared/services/metrics_reads.py
reference_digraph  # function, tests/metrics/test_reference.py
run_mean_events_per_s  # function, load/profile.py
snapshot_status  # function, workflows/intervention/contract.py

# The Lambda context's attributes: read by the Lambda runtime's callers and Mangum, not by our code.
aws_request_id  # variable, tests/api/lambda_invoke.py
function_name  # variable, tests/api/lambda_invoke.py
memory_limit_in_mb  # variable, tests/api/lambda_invoke.py
invoked_function_arn  # variable, tests/api/lambda_invoke.py
get_remaining_time_in_millis  # method, tests/api/lambda_invoke.py

# The retention report's fields: serialised (asdict) into retention_runs, the audit entry and the CLI's JSON.
totals_recomputed  # attribute, workflows/data_retention/contract.py
ties_removed_from_graph  # variable, workflows/data_retention/contract.py
pre_trend_ok  # variable, workflows/intervention/contract.py (MeasuredOutcome: the snapshot and audit JSON)
compared_people  # variable, workflows/intervention/contract.py (MeasuredOutcome: the snapshot and audit JSON)
exports_deleted  # variable, shared/domain/exports.py

symbolic_estimator  # attribute, shared/adapters/causal/pandas_refuters.py: DoWhy's estimate_effect reads it (realized_estimand_expr)
