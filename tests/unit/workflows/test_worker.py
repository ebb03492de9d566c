"""The worker's package loading and the workflow contracts (no server needed).

A worker that skipped a package it could not load would leave that package's task queue
unpolled with no error anywhere: it must stop instead, naming the package.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from shared.domain.intervention_status import InterventionStatus
from shared.platform.resources import Resources
from workflows.worker import WORKFLOW_PACKAGES, WorkflowPackageError, collect

NO_RESOURCES = cast(Resources, None)  # loading fails before any activity is built


def test_a_misspelt_package_stops_the_worker() -> None:
    with pytest.raises(WorkflowPackageError, match="workflows.metrics_refesh"):
        collect(NO_RESOURCES, ("workflows.metrics_refresh", "workflows.metrics_refesh"))


@pytest.mark.parametrize(
    ("name", "init_source", "named_in_error"),
    [
        ("half_package", "WORKFLOWS = [object]\n", "half_package.activities"),  # no activities module
        ("broken_package", "import a_module_nobody_installed\nWORKFLOWS = []\n", "a_module_nobody_installed"),
    ],
)
def test_a_package_the_worker_cannot_load_stops_it(
    name: str, init_source: str, named_in_error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(init_source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(WorkflowPackageError, match=named_in_error):
        collect(NO_RESOURCES, (name,))
    sys.modules.pop(name, None)


def _activity_name(fn: Any) -> str:
    return str(fn.__temporal_activity_definition.name)


@pytest.mark.parametrize("package", WORKFLOW_PACKAGES)
def test_each_package_implements_its_contract(package: str) -> None:
    """Every activity a workflow calls (a contract method) is registered under the same name by
    the worker's implementation, with the same parameters."""
    contract = importlib.import_module(f"{package}.interface")
    activities = importlib.import_module(f"{package}.activities")
    assert importlib.import_module(package).WORKFLOWS
    interfaces = [
        c for _, c in inspect.getmembers(contract, inspect.isclass) if c.__name__.endswith("ActivityContract")
    ]
    assert len(interfaces) == 1, f"{package}.interface needs one *ActivityContract class"
    (interface,) = interfaces
    impls = [c for _, c in inspect.getmembers(activities, inspect.isclass) if interface in c.__mro__[1:]]
    assert len(impls) == 1, f"{package}.activities needs one implementation of {interface.__name__}"
    declared = {n: f for n, f in vars(interface).items() if hasattr(f, "__temporal_activity_definition")}
    assert declared
    for name, fn in declared.items():
        impl = getattr(impls[0], name)
        assert _activity_name(impl) == _activity_name(fn), f"{impls[0].__name__}.{name} registers another name"
        assert list(inspect.signature(impl).parameters) == list(inspect.signature(fn).parameters)


def test_statuses_serialise_as_their_stored_strings() -> None:
    """Rows, API answers and running workflows' histories keep the bare strings they had."""
    assert json.dumps({"status": InterventionStatus.AWAITING_APPROVAL}) == '{"status": "awaiting_approval"}'
    assert f"{InterventionStatus.ROLLED_BACK}" == "rolled_back"
    assert InterventionStatus("monitoring") is InterventionStatus.MONITORING
