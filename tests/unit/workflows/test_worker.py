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
from workflows.bound_activities import ResourceBoundActivities
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
def test_the_worker_registers_every_activity_its_workflows_call(package: str) -> None:
    """The workflows call the methods of their package's activities class by reference (imported
    passed through); the worker registers each of that class's ``activity.defn`` methods, under
    distinct names from the contract."""
    activities = importlib.import_module(f"{package}.activities")
    contract = importlib.import_module(f"{package}.contract")
    workflow_modules = {inspect.getmodule(wf) for wf in importlib.import_module(package).WORKFLOWS}
    called = {
        c
        for module in workflow_modules
        for c in vars(module).values()
        if inspect.isclass(c) and c.__module__ == activities.__name__
    }
    assert len(called) == 1, f"{package}'s workflows should call one activities class, not {called}"
    (cls,) = called
    declared = [f for f in vars(cls).values() if hasattr(f, "__temporal_activity_definition")]
    names = [_activity_name(f) for f in declared]
    assert declared and len(set(names)) == len(names)
    assert set(names) <= {v for v in vars(contract).values() if isinstance(v, str)}, "names come from the contract"
    if issubclass(cls, ResourceBoundActivities):
        registered = activities.build_activities(NO_RESOURCES)
    else:  # the intervention's activities hold steps built from settings: binding needs none of them
        registered = object.__new__(cls).all()
    assert [fn.__func__ for fn in registered] == declared


def test_statuses_serialise_as_their_stored_strings() -> None:
    """Rows, API answers and running workflows' histories keep the bare strings they had."""
    assert json.dumps({"status": InterventionStatus.AWAITING_APPROVAL}) == '{"status": "awaiting_approval"}'
    assert f"{InterventionStatus.ROLLED_BACK}" == "rolled_back"
    assert InterventionStatus("monitoring") is InterventionStatus.MONITORING
