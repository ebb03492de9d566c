"""Every Temporal Schedule of the project, created or updated idempotently at start-up.

Shared file: to add a schedule, append a ``ScheduleDef`` in ``schedule_definitions``. Schedule
ids are prefixed with the task queue, so a test (own queue) never touches the real schedules.
Run ``python -m workflows.schedules`` (or call ``ensure_schedules``) after deploying.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from shared.platform.settings import Settings, load_settings
from shared.platform.temporal_connection import connect_temporal
from workflows.data_retention.contract import WORKFLOW_NAME as DATA_RETENTION_WORKFLOW
from workflows.data_retention.contract import DataRetentionRequest
from workflows.exports.contract import SWEEP_WORKFLOW_NAME, SweepRequest
from workflows.intervention.contract import CYCLE_WORKFLOW_NAME, CycleRequest
from workflows.metrics_refresh.contract import (
    REFRESH_WORKFLOW_NAME,
    RETENTION_WORKFLOW_NAME,
    RefreshRequest,
    RetentionRequest,
)
from workflows.period_backfill.contract import WORKFLOW_NAME as BACKFILL_WORKFLOW
from workflows.period_backfill.contract import BackfillRequest


@dataclass(frozen=True)
class ScheduleDef:
    name: str  # unique; the schedule id is "<task queue>:<name>"
    workflow: str  # registered workflow name
    arg: Any
    every: timedelta
    overlap: ScheduleOverlapPolicy = ScheduleOverlapPolicy.SKIP
    note: str = ""
    offset: timedelta = timedelta(0)


def _cycle_request(settings: Settings, mode: str) -> CycleRequest:
    return CycleRequest(
        mode=mode,
        analysis_workflow=settings.interventions.cycle.analysis_workflow,
        analyses=list(settings.interventions.cycle.analyses),
        lookback_hours=settings.interventions.cycle.lookback_hours,
        intervention_task_queue=settings.interventions.intervention_task_queue,
    )


def schedule_definitions(settings: Settings) -> list[ScheduleDef]:
    return [
        ScheduleDef(
            name="metrics-refresh-hourly",
            workflow=REFRESH_WORKFLOW_NAME,
            arg=RefreshRequest(trigger="schedule", force=False),
            every=timedelta(hours=1),
            note="expensive network metrics; skipped when the graph is unchanged (issue 4)",
        ),
        ScheduleDef(
            name="metrics-retention-daily",
            workflow=RETENTION_WORKFLOW_NAME,
            arg=RetentionRequest(),
            every=timedelta(days=1),
            offset=timedelta(hours=3),
            note="drop metric history past raw/rollup retention (issue 4)",
        ),
        ScheduleDef(
            name="metrics-periods-daily",
            workflow=BACKFILL_WORKFLOW,
            arg=BackfillRequest(kind="week", rewrite=False),
            every=timedelta(days=1),
            offset=timedelta(hours=2),
            note="write each newly closed week to the period history (issue 13)",
        ),
        # interventions (issue 6): the full cycle and the incremental refresh
        ScheduleDef(
            name="intervention-full-cycle-6h",
            workflow=CYCLE_WORKFLOW_NAME,
            arg=_cycle_request(settings, "full"),
            every=timedelta(hours=6),
            note="refresh metrics -> configured analyses -> evaluate interventions (issue 6)",
        ),
        ScheduleDef(
            name="intervention-incremental-5m",
            workflow=CYCLE_WORKFLOW_NAME,
            arg=_cycle_request(settings, "incremental"),
            every=timedelta(minutes=5),
            note="incremental metrics refresh; skipped when the graph is unchanged (issue 6)",
        ),
        ScheduleDef(
            name="export-sweep-hourly",
            workflow=SWEEP_WORKFLOW_NAME,
            arg=SweepRequest(),
            every=timedelta(hours=1),
            note="delete export objects past their 7-day retention (issue 16)",
        ),
        ScheduleDef(
            name="data-retention-daily",
            workflow=DATA_RETENTION_WORKFLOW,
            arg=DataRetentionRequest(),
            every=timedelta(days=1),
            offset=timedelta(hours=2),
            note="raw interactions, receipts, outcomes, attributes, analyses, exports past retention (issue 16)",
        ),
    ]


def schedule_id(settings: Settings, name: str) -> str:
    return f"{settings.temporal.task_queue}:{name}"


def build_schedule(settings: Settings, d: ScheduleDef) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            d.workflow,
            d.arg,
            id=f"{schedule_id(settings, d.name)}:run",  # Temporal appends the scheduled time
            task_queue=settings.temporal.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=d.every, offset=d.offset)]),
        policy=SchedulePolicy(overlap=d.overlap),
        state=ScheduleState(note=d.note),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create each schedule, or update it to the current definition. Safe to run repeatedly."""
    ids: list[str] = []
    for d in schedule_definitions(settings):
        sid = schedule_id(settings, d.name)
        schedule = build_schedule(settings, d)
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(sid).update(replace)
        ids.append(sid)
    return ids


async def _main() -> None:
    settings = load_settings()
    client = await connect_temporal(settings)
    for sid in await ensure_schedules(client, settings):
        print(sid)


if __name__ == "__main__":
    asyncio.run(_main())
