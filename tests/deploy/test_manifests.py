"""The deployment manifests, checked offline: every custom resource against its CRD's JSON schema,
every core resource against the Kubernetes schemas (strict), and the project's own rules against
the code they deploy (settings, event type, entrypoints, ports, secrets).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.domain.events import EVENT_TYPE_V1
from shared.platform.settings import DEFAULT_SECRETS_DIR, VARIABLES, load_settings
from tests.deploy.manifests import (
    MANIFEST_DIRS,
    NAMESPACE,
    ROOT,
    SCHEMAS,
    Doc,
    by_kind,
    load_documents,
    manifest_files,
    pod_spec,
    walk,
)

DOCS = load_documents()
K8S_VERSION = "1.33.0"  # the oldest Kubernetes the manifests target (policy/v1, seccompProfile...)
HTTP_FUNCTIONS = {
    "query-api": "functions.query_api.main:app",
    "metrics-api": "functions.metrics_api.main:app",
    "analysis-api": "functions.analysis_api.main:app",
    "interventions-api": "functions.interventions_api.main:app",
    "ingest-http": "functions.ingest_http.main:app",
    "exports-api": "functions.exports_api.main:app",
    "privacy-api": "functions.privacy_api.main:app",
    "web": "functions.web.main:app",
}
CLOUDEVENTS_FUNCTION = "ingest-cloudevents"
PORT = 8080
SECRET_NAME = re.compile(r"password|secret|key|dsn|token|credential", re.IGNORECASE)
# Settings fields each needs from the mounted secrets: only the functions that pseudonymise get hmac_key
HMAC_KEY_USERS = {"ingest-http", "ingest-cloudevents", "analysis-api", "privacy-api"}
# CO_* variables read outside Settings, with the reader
NON_SETTINGS_ENV = {"CO_CONSUMER_NAME": "functions/graph_updater/main.py (consumer name)"}


def _default(field: str) -> Any:
    """A Settings default as declared, unaffected by this machine's environment."""
    return VARIABLES[field].field.default


def _one(kind: str, name: str | None = None, api_prefix: str = "") -> Doc:
    found = [d for d in by_kind(DOCS, kind, api_prefix) if name is None or d.name == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d.id for d in found]}"
    return found[0]


def _capacity_value(name: str, section: str = "Consumers and KEDA thresholds") -> str:
    """A threshold as docs/capacity.md's table states it (`| `name` | value | ...`)."""
    text = (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8").split(f"## {section}", 1)[1]
    found = re.search(rf"^\| `{name}` \| ([^|]+?) \|", text.split("\n## ", 1)[0], re.MULTILINE)
    assert found, f"docs/capacity.md has no `{name}` row in its {section} section"
    return found.group(1).strip()


def _ksvcs() -> list[Doc]:
    return by_kind(DOCS, "Service", "serving.knative.dev/")


def _container(doc: Doc) -> dict[str, Any]:
    containers = pod_spec(doc)["containers"]
    assert len(containers) == 1, f"{doc.id}: one container per workload"
    return dict(containers[0])


def _external_secret_keys() -> set[str]:
    es = _one("ExternalSecret")
    return {item["secretKey"] for item in es.body["spec"]["data"]}


def _secret_name() -> str:
    return str(_one("ExternalSecret").body["spec"]["target"]["name"])


@cache
def _schema(group: str, kind: str, version: str) -> dict[str, Any]:
    path = SCHEMAS / group / f"{kind.lower()}_{version}.json"
    assert path.is_file(), f"no CRD schema for {group}/{kind} {version} at {path}"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


# ---- the files themselves ------------------------------------------------------------------


def test_manifests_exist_and_parse() -> None:
    assert SCHEMAS.is_dir(), f"CRD schemas not found at {SCHEMAS} (shared/ must lie beside the repo)"
    kinds = {d.kind for d in DOCS}
    assert {"Service", "Deployment", "ScaledObject", "TriggerAuthentication", "Broker", "Trigger"} <= kinds
    assert {"SinkBinding", "ConfigMap", "ServiceAccount", "ExternalSecret", "SecretStore"} <= kinds
    for doc in DOCS:
        assert doc.body.get("apiVersion") and doc.body.get("kind"), doc.id
        meta = doc.body.get("metadata", {})
        if doc.kind != "Namespace":
            assert meta.get("namespace") == NAMESPACE, f"{doc.id}: namespace {meta.get('namespace')}"
    ids = [(d.kind, d.body.get("apiVersion"), d.name) for d in DOCS]
    assert len(ids) == len(set(ids)), "duplicate resources"


@pytest.mark.parametrize("doc", [d for d in DOCS if not d.is_core], ids=lambda d: d.id)
def test_custom_resource_matches_its_crd_schema(doc: Doc) -> None:
    group, version = doc.group_version
    schema = _schema(group, doc.kind, version)
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = sorted(validator_cls(schema).iter_errors(doc.body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{doc.id} at {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("doc", [d for d in DOCS if d.is_core], ids=lambda d: d.id)
def test_core_resource_matches_kubernetes_schema(doc: Doc) -> None:
    try:
        kubernetes_validate.validate(doc.body, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(map(str, exc.path)) if hasattr(exc, "path") else ""
        pytest.fail(f"{doc.id} at {path}: {getattr(exc, 'message', str(exc)).splitlines()[0]}")


def test_a_broken_manifest_is_caught() -> None:
    """The validators above do reject things: an unknown container field, a wrong type."""
    ksvc = json.loads(json.dumps(_one("Service", "query-api", "serving.knative.dev/").body))
    ksvc["spec"]["template"]["spec"]["containers"][0]["commandd"] = ["x"]
    schema = _schema("serving.knative.dev", "Service", "v1")
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(ksvc))
    so = json.loads(json.dumps(_one("ScaledObject", "graph-updater").body))
    so["spec"]["minReplicaCount"] = "zero"
    assert list(jsonschema.Draft202012Validator(_schema("keda.sh", "ScaledObject", "v1alpha1")).iter_errors(so))
    dep = json.loads(json.dumps(_one("Deployment", "graph-updater").body))
    dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)


@pytest.mark.parametrize("directory", MANIFEST_DIRS, ids=lambda p: p.name)
def test_kustomization_applies_every_file(directory: Any) -> None:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    present = {p.name for p in manifest_files() if p.parent == directory}
    assert listed == present, f"{directory.name}: listed {sorted(listed)} vs files {sorted(present)}"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return  # kustomize itself is only a convenience: the file list above is what matters
    out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True)
    built = [d for d in yaml.safe_load_all(out.stdout) if d]
    expected = [d for d in DOCS if d.path.parent == directory]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in built) == sorted((d.kind, d.name) for d in expected)


# ---- Knative Services ----------------------------------------------------------------------


def test_one_knative_service_per_function() -> None:
    assert {d.name for d in _ksvcs()} == set(HTTP_FUNCTIONS) | {CLOUDEVENTS_FUNCTION}


@pytest.mark.parametrize("doc", _ksvcs(), ids=lambda d: d.name)
def test_knative_service_scales_to_zero_and_probes_health(doc: Doc) -> None:
    annotations = doc.body["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/min-scale"] == "0"
    assert int(annotations["autoscaling.knative.dev/max-scale"]) >= 1
    assert int(annotations["autoscaling.knative.dev/target"]) >= 1
    c = _container(doc)
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    for probe in ("readinessProbe", "livenessProbe"):  # Knative probes the serving port only
        assert c[probe]["httpGet"].get("port", PORT) == PORT
    assert [p["containerPort"] for p in c["ports"]] == [PORT]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{doc.name}: resources.{kind}"
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert c["envFrom"] == [{"configMapRef": {"name": _one("ConfigMap", "causal-organism-config").name}}]


@pytest.mark.parametrize("doc", _ksvcs(), ids=lambda d: d.name)
def test_knative_service_runs_its_function_on_the_serving_port(doc: Doc) -> None:
    c = _container(doc)
    args = c["args"]
    if doc.name in HTTP_FUNCTIONS:
        assert c["command"] == ["uvicorn"]
        assert args[0] == HTTP_FUNCTIONS[doc.name]
        assert f"--port={PORT}" in args and "--host=0.0.0.0" in args
        module, _, attr = args[0].partition(":")
        from fastapi import FastAPI

        assert isinstance(getattr(importlib.import_module(module), attr), FastAPI)
    else:
        assert c["command"] == ["gunicorn"]
        assert f"--bind=0.0.0.0:{PORT}" in args
        module, _, attr = args[-1].partition(":")
        assert module == "functions.ingest_cloudevents.wsgi"
        app = getattr(importlib.import_module(module), attr)
        routes = {r.rule: r.methods for r in app.url_map.iter_rules()}
        assert "GET" in routes["/health/live"] and "GET" in routes["/health/ready"]
        assert "POST" in routes["/"]  # functions-framework's CloudEvent route is still there
        threads = int(next(a for a in args if a.startswith("--threads=")).split("=")[1])
        assert pod_spec(doc)["containerConcurrency"] == threads


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def test_analysis_api_has_more_memory_than_other_apis() -> None:
    limits = {d.name: _memory_bytes(_container(d)["resources"]["limits"]["memory"]) for d in _ksvcs()}
    requests = {d.name: _memory_bytes(_container(d)["resources"]["requests"]["memory"]) for d in _ksvcs()}
    others = set(limits) - {"analysis-api"}
    assert all(limits["analysis-api"] > limits[o] for o in others), limits
    assert all(requests["analysis-api"] > requests[o] for o in others), requests


# ---- settings, secrets and configuration -----------------------------------------------------


def _workloads() -> list[Doc]:
    return _ksvcs() + by_kind(DOCS, "Deployment")


def test_no_secret_literals_anywhere() -> None:
    problems: list[str] = []
    for doc in DOCS:
        if doc.kind == "Secret":
            problems.append(f"{doc.id}: a Secret with values belongs in the secret store, not in git")
        for path, node in walk(doc.body):
            if isinstance(node, dict) and "name" in node and "value" in node and SECRET_NAME.search(str(node["name"])):
                problems.append(f"{doc.id}{path}: literal value for {node['name']}")
        if doc.kind == "ConfigMap":
            problems += [f"{doc.id}: {k}" for k in doc.body["data"] if SECRET_NAME.search(k)]
    assert not problems, "\n".join(problems)


def test_configuration_names_real_settings() -> None:
    """Every CO_* variable set by a manifest is a Settings field (typos would be silently ignored)."""
    fields = {name: v.field for name, v in VARIABLES.items()}
    config = _one("ConfigMap", "causal-organism-config").body["data"]
    names = list(config)
    for doc in _workloads():
        names += [e["name"] for e in _container(doc).get("env", []) if e["name"].startswith("CO_")]
    unknown = [n for n in names if n not in NON_SETTINGS_ENV and n[len("CO_") :].lower() not in fields]
    assert not unknown, f"not Settings fields: {unknown}"
    secret_fields = {name for name, f in fields.items() if "SecretStr" in str(f.annotation)}
    leaked = [n for n in config if n[len("CO_") :].lower() in secret_fields]
    assert not leaked, f"secret settings in the ConfigMap: {leaked}"
    # environment variables win over secret files: these must come from the mounted secret only
    assert not {"CO_PG_DSN", "CO_REDIS_URL"} & set(config)
    # the values parse as Settings would parse them
    parsed = load_settings(**{k[len("CO_") :].lower(): v for k, v in config.items()})
    assert parsed.environment == "production" and parsed.graph.backend == "neo4j"


def test_stream_settings_are_left_at_their_defaults_or_match_keda() -> None:
    config = _one("ConfigMap", "causal-organism-config").body["data"]
    for field in ("stream_name", "stream_group", "consumer_batch"):
        assert f"CO_{field.upper()}" not in config, f"{field} is set in the ConfigMap: update the ScaledObject too"


@pytest.mark.parametrize("doc", _workloads(), ids=lambda d: d.name)
def test_secrets_are_mounted_files_from_the_external_secret(doc: Doc) -> None:
    c = _container(doc)
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(doc)["volumes"]}
    secret_volumes = [n for n, v in volumes.items() if "secret" in v]
    assert len(secret_volumes) == 1, doc.id
    mount = mounts[secret_volumes[0]]
    assert mount["mountPath"] == DEFAULT_SECRETS_DIR and mount["readOnly"] is True
    secret = volumes[secret_volumes[0]]["secret"]
    assert secret["secretName"] == _secret_name()
    keys = [i["key"] for i in secret["items"]]
    assert all(i["path"] == i["key"] for i in secret["items"]), "file name = Settings field name"
    assert set(keys) <= _external_secret_keys(), f"{doc.id}: keys the ExternalSecret does not provide"
    assert all(k in VARIABLES for k in keys), f"{doc.id}: {keys}"
    assert ("hmac_key" in keys) == (doc.name in HMAC_KEY_USERS), f"{doc.id}: hmac_key only where pseudonymised"
    assert not any(e.get("valueFrom", {}).get("secretKeyRef") for e in c.get("env", [])), "secrets as files only"


def test_external_secret_keys_are_settings_fields() -> None:
    keys = _external_secret_keys()
    keda_only = {"redis_password"}
    assert all(k in VARIABLES for k in keys - keda_only), keys
    store = _one("SecretStore")
    assert _one("ExternalSecret").body["spec"]["secretStoreRef"]["name"] == store.name
    sa = store.body["spec"]["provider"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"]["name"]
    assert sa == _one("ServiceAccount").name


# ---- entrypoints of the Deployments ---------------------------------------------------------


@pytest.mark.parametrize("doc", by_kind(DOCS, "Deployment"), ids=lambda d: d.name)
def test_deployment_commands_name_modules_that_exist(doc: Doc) -> None:
    command = _container(doc)["command"]
    assert command[:2] == ["python", "-m"], command
    module = importlib.import_module(command[2])
    assert callable(getattr(module, "main", None)), f"{command[2]} has no main()"
    assert pod_spec(doc)["securityContext"]["runAsNonRoot"] is True
    assert _container(doc)["securityContext"]["readOnlyRootFilesystem"] is True


def test_temporal_worker_is_always_polling() -> None:
    worker = _one("Deployment", "temporal-worker")
    assert _container(worker)["command"] == ["python", "-m", "workflows.worker"]
    assert worker.body["spec"]["replicas"] >= 1
    so = _one("ScaledObject", "temporal-worker").body["spec"]
    assert so["scaleTargetRef"]["name"] == worker.name
    # scale-to-zero would stop timers and schedules: KEDA only ever adds pollers above two
    assert so["minReplicaCount"] >= 2 and so["fallback"]["replicas"] >= 2
    assert so["maxReplicaCount"] > so["minReplicaCount"]
    assert so["fallback"]["behavior"] == "currentReplicasIfHigher"
    pdb = _one("PodDisruptionBudget", "temporal-worker")
    assert (
        pdb.body["spec"]["selector"]["matchLabels"].items()
        <= worker.body["spec"]["template"]["metadata"]["labels"].items()
    )


# ---- KEDA ---------------------------------------------------------------------------------------


def test_scaled_object_scales_the_graph_updater_on_the_settings_stream() -> None:
    so = _one("ScaledObject", "graph-updater").body["spec"]
    target = _one("Deployment", so["scaleTargetRef"]["name"])
    assert _container(target)["command"] == ["python", "-m", "functions.graph_updater.main"]
    assert target.body["spec"]["replicas"] == 0
    assert so["minReplicaCount"] == 0 and so["maxReplicaCount"] >= 2 and so["cooldownPeriod"] > 0
    triggers = so["triggers"]
    assert {t["type"] for t in triggers} == {"redis-streams"}
    for t in triggers:
        md = t["metadata"]
        assert md["stream"] == _default("stream_name") == "co:interactions"
        assert md["consumerGroup"] == _default("stream_group") == "graph-updater"
        auth = _one("TriggerAuthentication", t["authenticationRef"]["name"]).body["spec"]["secretTargetRef"]
        assert [(a["parameter"], a["name"]) for a in auth] == [("password", _secret_name())]
        assert {a["key"] for a in auth} <= _external_secret_keys()
        assert "password" not in md and "passwordFromEnv" not in md
        assert urlsplit(f"//{md['address']}").port == 6379 and md["databaseIndex"] == "0"
    lag = next(t["metadata"] for t in triggers if "lagCount" in t["metadata"])
    # the values derived from the measured scaling curve in docs/capacity.md, verbatim
    assert lag["lagCount"] == _capacity_value("lagCount")
    assert lag["activationLagCount"] == _capacity_value("activationLagCount")
    assert str(so["maxReplicaCount"]) == _capacity_value("maxReplicaCount")
    assert int(lag["lagCount"]) >= _default("consumer_batch")  # at least one batch of backlog per replica
    assert any("pendingEntriesCount" in t["metadata"] for t in triggers), "pending entries keep a consumer"


def test_graph_updater_drains_its_batch_on_sigterm() -> None:
    """SIGTERM: finish the batch, ack, exit. The grace period must outlast one slow batch and more
    than the consumer's block time (a read in progress)."""
    spec = pod_spec(_one("Deployment", "graph-updater"))
    assert spec["terminationGracePeriodSeconds"] >= 60
    assert spec["terminationGracePeriodSeconds"] * 1000 > 10 * _default("consumer_block_ms")
    env = {e["name"]: e for e in _container(_one("Deployment", "graph-updater"))["env"]}
    assert env["CO_CONSUMER_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_temporal_worker_scales_on_its_task_queue_backlog() -> None:
    """KEDA's temporal trigger on the namespace and queue the worker polls (the ConfigMap's)."""
    so = _one("ScaledObject", "temporal-worker").body["spec"]
    config = _one("ConfigMap", "causal-organism-config").body["data"]
    (trigger,) = so["triggers"]
    md = trigger["metadata"]
    assert trigger["type"] == "temporal"
    assert md["namespace"] == config["CO_TEMPORAL_NAMESPACE"]
    assert md["taskQueue"] == config["CO_TEMPORAL_TASK_QUEUE"] == _default("temporal_task_queue")
    assert md["endpoint"] == config["CO_TEMPORAL_ADDRESS"]
    assert set(md["queueTypes"].split(",")) == {"workflow", "activity"}
    assert md["targetQueueSize"] == _capacity_value("targetQueueSize")
    assert md["activationTargetQueueSize"] == _capacity_value("activationTargetQueueSize")
    assert str(so["maxReplicaCount"]) == _capacity_value("temporal maxReplicaCount")


# ---- Eventing -------------------------------------------------------------------------------


def test_trigger_routes_interaction_events_to_the_cloudevents_function() -> None:
    trigger = _one("Trigger").body["spec"]
    assert trigger["filter"]["attributes"] == {"type": EVENT_TYPE_V1}
    assert trigger["broker"] == _one("Broker").name
    ref = trigger["subscriber"]["ref"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("serving.knative.dev/v1", "Service", CLOUDEVENTS_FUNCTION)


def test_sink_binding_gives_the_graph_updater_its_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    binding = _one("SinkBinding").body["spec"]
    subject = binding["subject"]
    assert (subject["kind"], subject["name"]) == ("Deployment", "graph-updater")
    assert _one("Deployment", subject["name"])
    assert binding["sink"]["ref"]["name"] == _one("Broker").name
    # the app reads what the binding injects
    monkeypatch.delenv("CO_EVENTS_SINK_URL", raising=False)
    monkeypatch.setenv("K_SINK", "http://broker-ingress.knative-eventing.svc/causal-organism/default")
    assert (
        load_settings().ingest.events_sink_url == "http://broker-ingress.knative-eventing.svc/causal-organism/default"
    )
    monkeypatch.setenv("CO_EVENTS_SINK_URL", "http://explicit")
    assert load_settings().ingest.events_sink_url == "http://explicit"
    assert _one("Namespace").body["metadata"]["labels"]["bindings.knative.dev/include"] == "true"


# ---- the container image definition ------------------------------------------------------------


def test_containerfile_builds_one_non_root_image_without_secrets() -> None:
    text = (ROOT / "Containerfile").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    froms = [ln.split()[1] for ln in lines if ln.upper().startswith("FROM ")]
    assert froms and all(f.startswith("python:3.11-slim") for f in froms), froms
    assert "openjdk-17-jre-headless" in text and "libpostgresql-jdbc-java" in text
    assert "-c constraints.txt" in text
    users = [ln.split()[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0", "0:0"}, users
    assert all(str(u.split(":")[0]) == "10001" for u in users[-1:]), "the uid the manifests run as"
    for ln in lines:
        if ln.upper().startswith(("ENV ", "ARG ")):
            assert not SECRET_NAME.search(ln.split(maxsplit=1)[1].split("=")[0]), ln
    assert not re.search(r"^COPY .*(\.env|var/|secrets)", text, re.MULTILINE)
    ignore = (ROOT / ".containerignore").read_text(encoding="utf-8").split()
    assert {".env", "var", ".venv"} <= set(ignore)
    # every command the manifests run is installed by `pip install .` (dependencies of the project)
    assert importlib.util.find_spec("uvicorn") and importlib.util.find_spec("gunicorn")
