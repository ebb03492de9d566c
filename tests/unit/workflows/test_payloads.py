"""Workflow and activity payloads are typed dataclasses whose JSON is the dicts' JSON they replaced.

Temporal's default converter writes a dataclass as a JSON object of its fields and builds it back
from one (unknown keys ignored), so a result recorded by a worker before the typing decodes into
the dataclass, and a new result is read by anything that read the dict.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any, get_type_hints

import pytest
from temporalio.converter import DataConverter

from shared.domain.intervention_outcomes import outcome_record
from shared.domain.interventions import CATALOGUE
from shared.domain.outcome_monitoring import DidResult
from workflows.analysis.contract import AnalysisInput, RunResult
from workflows.analysis.workflow import AnalysisWorkflow
from workflows.erasure.contract import ErasureInput, ErasureOutcome, StepReport
from workflows.erasure.workflow import ErasureWorkflow
from workflows.exports.contract import ExportInput, ExportResult
from workflows.exports.workflow import ExportWorkflow
from workflows.graph_rebuild.contract import RebuildResult
from workflows.intervention.contract import CycleResult, MeasuredOutcome
from workflows.metrics_refresh.contract import RefreshResult
from workflows.period_backfill.contract import BackfillResult
from workflows.worker import WORKFLOW_PACKAGES

CONVERTER = DataConverter.default.payload_converter
SCALARS = (type(None), int, str, float, bool)
# Kept as a dict on purpose: a user-supplied analysis spec (the analysis workflow's child form),
# and the intervention's result, which is its snapshot (the API's projection, also the query's
# and the updates' answer).
DICT_ALLOWED = {
    ("workflows.analysis", "AnalysisWorkflow.run", "payload"),
    ("workflows.intervention", "InterventionWorkflow.run", "return"),
}


def _round_trip(value: Any, hint: Any) -> Any:
    (payload,) = CONVERTER.to_payloads([value])
    (decoded,) = CONVERTER.from_payloads([payload], [hint])
    return decoded


def _json(value: Any) -> bytes:
    (payload,) = CONVERTER.to_payloads([value])
    return payload.data


def _is_untyped_dict(hint: Any) -> bool:
    return hint is dict or getattr(hint, "__origin__", None) is dict or hint is Any


def _parts(hint: Any) -> tuple[Any, ...]:
    """A union's members, a list's item type, or the hint itself."""
    if getattr(hint, "__origin__", None) is dict:
        return (hint,)
    return getattr(hint, "__args__", None) or (hint,)


def _signatures(package: str) -> list[tuple[str, Any]]:
    """(label, function) for each activity of the package and each workflow's run method."""
    activities = importlib.import_module(f"{package}.activities")
    found: list[tuple[str, Any]] = []
    for cls_name, cls in inspect.getmembers(activities, inspect.isclass):
        if cls.__module__ == activities.__name__:
            found += [
                (f"{cls_name}.{n}", f) for n, f in vars(cls).items() if hasattr(f, "__temporal_activity_definition")
            ]
    for wf in importlib.import_module(package).WORKFLOWS:
        found.append((f"{wf.__name__}.run", wf.run))
    return found


@pytest.mark.parametrize("package", WORKFLOW_PACKAGES)
def test_no_activity_or_workflow_takes_or_returns_an_untyped_dict(package: str) -> None:
    for label, fn in _signatures(package):
        hints = get_type_hints(fn, globalns=vars(inspect.getmodule(fn)))
        for name, hint in hints.items():
            if (package, label, name) in DICT_ALLOWED:
                continue
            for part in _parts(hint):
                assert not _is_untyped_dict(part), f"{label} {name}: {hint}"
                assert part in SCALARS or dataclasses.is_dataclass(part), f"{label} {name}: {hint}"


@pytest.mark.parametrize(
    ("typed", "before"),
    [
        (
            RunResult("succeeded", already=False, verdict="robust"),
            {"status": "succeeded", "already": False, "verdict": "robust"},
        ),
        (ExportResult(12, 345, "exports/a.csv.gz"), {"rows": 12, "bytes": 345, "object_key": "exports/a.csv.gz"}),
        (RebuildResult("ready", 3, 3), {"state": "ready", "done": 3, "total": 3}),
        (BackfillResult(7, 4), {"run_id": 7, "periods": 4}),
        (
            ErasureOutcome("succeeded", {"ledger": {"interactions": 2}}),
            {"status": "succeeded", "report": {"ledger": {"interactions": 2}}},
        ),
        (
            AnalysisInput("a1"),
            {"analysis_id": "a1", "heartbeat_timeout_s": 30.0, "activity_timeout_s": 21600.0, "max_attempts": 5},
        ),
    ],
)
def test_typed_payloads_write_and_read_the_json_of_the_dicts_they_replaced(typed: Any, before: dict[str, Any]) -> None:
    assert _json(typed) == _json(before)
    assert _round_trip(before, type(typed)) == typed


def test_a_refresh_result_recorded_as_a_dict_decodes() -> None:
    before = {"run_id": 3, "status": "skipped", "skipped_reason": "another refresh is running", "people": 0}
    assert _round_trip(before, RefreshResult) == RefreshResult(3, "skipped", "another refresh is running")
    assert _json(dataclasses.asdict(RefreshResult(3, "succeeded"))) == _json(RefreshResult(3, "succeeded"))


def test_an_erasure_step_recorded_as_bare_counts_still_decodes() -> None:
    """The workflow ignores a step's result: an older history's bare counts decode (empty), never fail."""
    assert _round_trip({"interactions": 4}, StepReport) == StepReport()
    assert _round_trip(StepReport({"keys": 1}), StepReport) == StepReport({"keys": 1})


@pytest.mark.parametrize(
    ("workflow_run", "typed"),
    [(ErasureWorkflow.run, ErasureInput("e-1")), (ExportWorkflow.run, ExportInput("x-1"))],
)
def test_workflows_started_with_a_bare_id_still_decode(workflow_run: Any, typed: Any) -> None:
    hint = get_type_hints(workflow_run)["inp"]
    assert _round_trip(typed, hint) == typed
    assert _round_trip("e-1", hint) == "e-1"  # the input histories from before the typing hold


def test_the_analysis_workflow_tells_a_recorded_analysis_from_a_bare_spec() -> None:
    hint = get_type_hints(AnalysisWorkflow.run)["payload"]
    assert _round_trip(AnalysisInput("a1", max_attempts=2), hint) == AnalysisInput("a1", max_attempts=2)
    spec = {"treatment": "meetings", "outcome": "focus", "estimator": "ols"}
    assert _round_trip(spec, hint) == spec


def test_the_measured_outcome_is_the_domain_record_typed() -> None:
    """The measure activity builds ``MeasuredOutcome(**outcome_record(...))``: every key a field."""
    entry = next(iter(CATALOGUE.values()))
    did = DidResult(-0.5, -0.9, -0.1, 6, 12, 0.4, True, "effect below the safety floor")
    record = outcome_record(entry, did, {f"p{i}": 2.0 for i in range(6)}, {f"p{i}": 1.5 for i in range(6)}, 5)
    typed = MeasuredOutcome(**record)
    assert typed.verdict == "negative" and typed.effect == -0.5 and typed.comparison_people == 12
    assert _json(typed) == _json(record)  # the snapshot and the audit keep the same JSON
    assert _round_trip(record, MeasuredOutcome) == typed  # a measure recorded as a dict decodes


def test_a_cycle_result_keeps_its_json() -> None:
    before = {"mode": "full", "analyses": 1, "started": ["intervention-abc"]}
    assert _json(CycleResult("full", 1, ["intervention-abc"])) == _json(before)
    assert _round_trip(before, CycleResult) == CycleResult("full", 1, ["intervention-abc"])
