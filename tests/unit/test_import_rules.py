"""The layer rules (docs/architecture.md): import-linter's contracts (pyproject.toml) hold, and no
module imports a project module inside a function body, which is how package cycles hide.

The exceptions: the graph backends' drivers (neo4j, falkordb) load only for the backend in use;
the span file exporter only when spans go to files (cold starts, docs/benchmarks.md).
dowhy, pyspark, igraph and pandas are imported lazily inside the project's own modules that
use them (those modules themselves import at module level like any other).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "functions", "workflows")
# (file, imported module): a driver imported only when its backend is configured
ALLOWED_IN_FUNCTIONS = {
    ("shared/adapters/graph/__init__.py", "shared.adapters.graph.neo4j_store"),
    ("shared/adapters/graph/__init__.py", "shared.adapters.graph.falkordb_store"),
    # the OTLP JSON file exporter (protobuf's JSON mapping, ~20 ms of every cold start) only when
    # ``otel_span_dir`` is set
    ("shared/platform/tracing.py", "shared.platform.span_files"),
}


def imports_inside_functions(source: str) -> list[tuple[int, str]]:
    """(line, module) of every project-internal import statement inside a function body."""
    found: list[tuple[int, str]] = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [(node.lineno, n) for n in names if n.split(".")[0] in PACKAGES]
    return found


def test_no_project_import_inside_a_function() -> None:
    offenders = [
        f"{path}:{line}: {module}"
        for package in PACKAGES
        for file in sorted((ROOT / package).rglob("*.py"))
        for path in [file.relative_to(ROOT).as_posix()]
        for line, module in imports_inside_functions(file.read_text())
        if (path, module) not in ALLOWED_IN_FUNCTIONS
    ]
    assert offenders == [], "move these imports to the top of their modules:\n" + "\n".join(offenders)


def test_the_check_sees_a_hidden_import() -> None:
    source = "import os\n\ndef f():\n    import json\n    from shared.services import ingest\n    return ingest\n"
    assert imports_inside_functions(source) == [(5, "shared.services")]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


# Heavy third-party libraries imported inside the functions that use them, so a function's cold
# start (docs/benchmarks.md, "Cold starts") does not pay for them: dowhy, pyspark, igraph and
# pandas (the causal engines), and these, loaded only on first use:
#   sentry_sdk         shared/platform/error_reporting.py, with a DSN only
#   boto3, botocore    shared/adapters/objects.py build_s3 (exports, erasure, audit anchors)
#   temporalio.worker  shared/platform/worker_reporting.py, the worker's own module
#   opentelemetry.sdk.trace, google.protobuf.json_format   shared/platform/tracing.py
#                      configure_tracing, only when tracing is configured
#   temporalio         none of it at a function's start: the client, TLSConfig (adapters/temporal_client.py
#                      connect) on the first connection; the id policies in workflows/*/client.py on the
#                      first start; RPCError/WorkflowUpdateFailedError where a started call's failure is
#                      translated (functions/ingest_http/routes.py, services/interventions.py _update);
#                      temporalio.activity and temporalio.workflow only through a package's WORKFLOWS,
#                      which workflows/lazy_workflows.py imports on first access (importlib, for the worker
#                      and tests): the workflow modules import their package's activities (passed through
#                      the sandbox) and the contracts import neither
LAZY_THIRD_PARTY = (
    *("sentry_sdk", "boto3", "botocore", "temporalio", "opentelemetry.sdk.trace", "google.protobuf.json_format"),
    *("dowhy", "pyspark", "igraph", "pandas"),
)
HTTP_ENTRYPOINTS = (
    *("ingest_http", "ingest_cloudevents", "query_api", "metrics_api", "analysis_api"),
    *("interventions_api", "exports_api", "privacy_api"),
)


def loaded_at_start(entrypoints: tuple[str, ...], modules: tuple[str, ...]) -> str:
    """Which of ``modules`` a fresh interpreter holds after importing the entrypoints."""
    code = (
        "import sys\n"
        + "".join(f"import functions.{name}.main\n" for name in entrypoints)
        + f"print(','.join(m for m in {modules!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_http_functions_start_without_the_lazy_libraries() -> None:
    assert loaded_at_start(HTTP_ENTRYPOINTS, LAZY_THIRD_PARTY) == ""


def test_the_cloudevents_function_starts_without_fastapi() -> None:
    """A Flask function: the error shape, ApiError and Principal are framework-free for it."""
    assert loaded_at_start(("ingest_cloudevents",), ("fastapi", "starlette", "asyncpg")) == ""
