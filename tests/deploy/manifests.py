"""Loading the deployment manifests (knative/, keda/) for the deploy tests (no cluster needed), and
running a Knative service's command as written on a free loopback port (also used by the tracing
tests)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cloudevents.http import CloudEvent

from ops.processes import free_port, started
from shared.adapters.datasets import data_dir_for
from shared.domain.events import EVENT_TYPE_V1

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIRS = (ROOT / "knative", ROOT / "keda")
# JSON schemas of the CRDs, GROUP/KIND_VERSION.json; CI lays shared/ beside the clone
SCHEMAS = data_dir_for(ROOT).parent / "k8s-schemas"  # beside the data sets, also from a worktree
NAMESPACE = "causal-organism"


@dataclass(frozen=True)
class Doc:
    path: Path
    index: int
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind"))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name"))

    @property
    def group_version(self) -> tuple[str, str]:
        """("", "v1") for the core group, ("serving.knative.dev", "v1") for a CRD."""
        api = str(self.body.get("apiVersion", ""))
        group, _, version = api.rpartition("/")
        return group, version

    @property
    def is_core(self) -> bool:
        """Core and built-in groups: no dot (v1, apps/v1, policy/v1) or *.k8s.io (networking.k8s.io/v1)."""
        group = self.group_version[0]
        return "." not in group or group.endswith(".k8s.io")

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}:{self.kind}/{self.name}"


def manifest_files() -> list[Path]:
    """Every resource file (kustomization.yaml is kustomize's, not a resource)."""
    return sorted(p for d in MANIFEST_DIRS for p in d.glob("*.yaml") if p.name != "kustomization.yaml")


def load_documents() -> list[Doc]:
    docs: list[Doc] = []
    for path in manifest_files():
        with path.open(encoding="utf-8") as fh:
            for i, body in enumerate(yaml.safe_load_all(fh)):
                if body is not None:
                    docs.append(Doc(path, i, body))
    return docs


def by_kind(docs: list[Doc], kind: str, api_prefix: str = "") -> list[Doc]:
    return [d for d in docs if d.kind == kind and str(d.body.get("apiVersion", "")).startswith(api_prefix)]


def pod_spec(doc: Doc) -> dict[str, Any]:
    """The pod template spec of a Knative Service or a Deployment."""
    spec: dict[str, Any] = doc.body["spec"]["template"]["spec"]
    return spec


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair in a YAML tree, containers included."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def knative_services() -> dict[str, Doc]:
    """The Knative services of the manifests, by name."""
    return {d.name: d for d in by_kind(load_documents(), "Service", "serving.knative.dev/")}


def _command(name: str, port: int) -> list[str]:
    """The manifest's command line, bound to 127.0.0.1:port instead of 0.0.0.0:8080."""
    container = knative_services()[name].body["spec"]["template"]["spec"]["containers"][0]
    args = []
    for arg in container["args"]:
        if arg == "--host=0.0.0.0":
            arg = "--host=127.0.0.1"
        elif arg == "--port=8080":
            arg = f"--port={port}"
        elif arg == "--bind=0.0.0.0:8080":
            arg = f"--bind=127.0.0.1:{port}"
        args.append(arg)
    assert any(str(port) in a for a in args), f"{name}: the manifest's port flag was not found"
    return [sys.executable, "-m", *container["command"], *args]


@contextmanager
def running(name: str, env: dict[str, str], timeout_s: float = 60.0) -> Iterator[str]:
    """The manifest's command for ``name`` on a free port (our environment plus ``env``); yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with started(_command(name, port), env, base + "/health/live", timeout_s=timeout_s, stdout=subprocess.DEVNULL):
        yield base


def cloud_event(event_id: str, type_: str = EVENT_TYPE_V1) -> CloudEvent:
    data = {
        "kind": "email",
        "actor": "alice@example.org",
        "participants": ["bob@example.org"],
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    return CloudEvent({"type": type_, "source": "/tests/deploy", "id": event_id}, data)
