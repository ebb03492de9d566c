"""InterventionWorkflow: propose -> audit -> (approval) -> capture -> execute -> monitor -> (rollback).

Every step is audited (once, by event key). High impact waits for an approver's decision
(Temporal update, validated) for at most ``approval_timeout_s`` of workflow time; low and medium
go straight on. Connector steps carry idempotency keys derived from the workflow id, so a
worker crash and an activity retry never act twice. Compensation reverts the applied steps in
reverse order. A manual rollback can be requested any time after execution; the workflow stays
open for ``rollback_window_s`` after a good outcome to accept one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from shared.domain.decisions import decision_message, signature_problem
    from shared.domain.intervention_outcomes import OutcomeVerdict
    from shared.domain.intervention_status import ROLLBACK_ALLOWED, InterventionStatus
    from shared.domain.interventions import CATALOGUE, InterventionType
    from workflows.intervention.activities import InterventionActivities
    from workflows.intervention.contract import (
        DECIDER_ROLES,
        WORKFLOW_NAME,
        AlertInput,
        AuditInput,
        CaptureInput,
        Decision,
        InterventionInput,
        MeasuredOutcome,
        MeasureInput,
        StepInput,
    )

NON_RETRYABLE = ["ConnectorRejected", "ProposalError"]
Arg = TypeVar("Arg")
Result = TypeVar("Result")


@workflow.defn(name=WORKFLOW_NAME)
class InterventionWorkflow:
    def __init__(self) -> None:
        self.status = InterventionStatus.PROPOSED
        self.inp: InterventionInput | None = None
        self.proposed_at = ""
        self.approval_requested_at = ""
        self.approval_deadline: str | None = None
        self.decision: Decision | None = None
        self.decided_at: str | None = None
        self.used_nonces: set[str] = set()
        self.decision_done = False
        self.rollback_request: Decision | None = None
        self.rollback_done = False
        self.pre_states: list[dict[str, Any]] = []
        self.baseline: dict[str, Any] = {}  # group figures only (people, mean or withheld)
        self.sealed_baseline = ""  # per-person values, readable by the measuring activity only
        self.applied: list[int] = []
        self.outcome: dict[str, Any] | None = None
        self.error: str | None = None
        self.finished_at: str | None = None
        self.restored: bool | None = None
        self.timeline: list[dict[str, str]] = []
        self._seq = 0

    # -- helpers -------------------------------------------------------------------------------
    @property
    def _id(self) -> str:
        assert self.inp is not None
        return str(self.inp.proposal["intervention_id"])

    def _now(self) -> str:
        return workflow.now().isoformat()

    def _retry(self, attempts_factor: int = 1) -> RetryPolicy:
        assert self.inp is not None
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.inp.initial_retry_s),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=self.inp.max_retry_interval_s),
            maximum_attempts=self.inp.max_attempts * attempts_factor,
            non_retryable_error_types=NON_RETRYABLE,
        )

    async def _activity(
        self,
        method: Callable[[InterventionActivities, Arg], Awaitable[Result]],
        arg: Arg,
        attempts_factor: int = 1,
    ) -> Result:
        """Run one activity of the contract (by method reference) with this input's retry policy."""
        assert self.inp is not None
        return await workflow.execute_activity_method(
            method,
            arg,
            start_to_close_timeout=timedelta(seconds=self.inp.activity_timeout_s),
            retry_policy=self._retry(attempts_factor),
        )

    def projection(self) -> dict[str, Any]:
        assert self.inp is not None
        p = self.inp.proposal
        return {
            "intervention_id": self._id,
            "workflow_id": workflow.info().workflow_id,
            "type": p["type"],
            "impact": self.inp.impact["level"],
            "status": self.status,
            "proposed_by": p["proposed_by"],
            "proposed_at": self.proposed_at,
            "approval_deadline": self.approval_deadline,
            "decided_by": self.decision.actor if self.decision else None,
            "decision_reason": self.decision.reason if self.decision else None,
            "summary": {"applied": len(self.applied), "outcome": self.outcome, "error": self.error},
        }

    async def _audit(
        self,
        event: str,
        actor: str,
        details: dict[str, Any] | None = None,
        personal: dict[str, Any] | None = None,
        subjects: list[str] | None = None,
    ) -> None:
        """Audit one step; ``personal`` (naming people) is kept outside the hash chain, erasable."""
        self._seq += 1
        self.timeline.append({"event": event, "actor": actor, "at": self._now()})
        await self._activity(
            InterventionActivities.audit,
            AuditInput(
                event_key=f"{workflow.info().workflow_id}:{self._seq}:{event}",
                intervention_id=self._id,
                event=event,
                actor=actor,
                details={"status": self.status, "workflow_time": self._now(), **(details or {})},
                projection=self.projection(),
                personal=personal,
                subjects=subjects or [],
            ),
            attempts_factor=4,
        )

    def _result(self) -> dict[str, Any]:
        return self.snapshot()

    # -- the run ---------------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: InterventionInput) -> dict[str, Any]:
        self.inp = inp
        self.proposed_at = self._now()
        level = inp.impact["level"]
        await self._audit(
            "proposed",
            inp.proposal["proposed_by"],
            {"type": inp.proposal["type"], "impact": inp.impact},
            personal={"proposal": inp.proposal, "actions": inp.actions},
            subjects=sorted({str(p) for p in inp.proposal.get("target", {}).get("people", [])}),
        )

        if level == "high":
            timeout = timedelta(seconds=inp.approval_timeout_s)
            self.status = InterventionStatus.AWAITING_APPROVAL
            self.approval_requested_at = self._now()
            self.approval_deadline = (workflow.now() + timeout).isoformat()
            await self._audit("approval_requested", "system", {"deadline": self.approval_deadline})
            try:
                # the deadline was fixed when the approval was requested; the audit write's time counts
                remaining = datetime.fromisoformat(self.approval_deadline) - workflow.now()
                await workflow.wait_condition(lambda: self.decision is not None, timeout=remaining)
            except TimeoutError:
                self.status = InterventionStatus.EXPIRED
                self.finished_at = self._now()
                await self._audit("expired", "system", {"waited_s": self.waited_s()})
                return self._result()
            assert self.decision is not None
            self.decided_at = self._now()
            if not self.decision.approve:
                self.status = InterventionStatus.REJECTED
                await self._audit("rejected", self.decision.actor, {"reason": self.decision.reason})
                self.decision_done = True
                self.finished_at = self._now()
                return self._result()
            self.status = InterventionStatus.APPROVED
            await self._audit("approved", self.decision.actor, {"reason": self.decision.reason})
            self.decision_done = True

        if not await self._execute():
            self.finished_at = self._now()
            return self._result()
        await self._monitor()
        self.finished_at = self._now()
        return self._result()

    async def _execute(self) -> bool:
        assert self.inp is not None
        entry = CATALOGUE[InterventionType(self.inp.proposal["type"])]
        target = self.inp.proposal["target"]
        self.status = InterventionStatus.EXECUTING
        try:
            captured = await self._activity(
                InterventionActivities.capture,
                CaptureInput(
                    self.inp.actions,
                    entry.outcome_metric,
                    list(target["people"]),
                    list(target["teams"]),
                    workflow.now().date().isoformat(),
                ),
            )
        except ActivityError as exc:
            return await self._fail("capture_failed", exc, compensate=False)
        self.pre_states = captured.pre_states
        self.baseline = captured.baseline
        self.sealed_baseline = captured.sealed_baseline
        await self._audit("pre_state_captured", "system", {"baseline": self.baseline, "steps": len(self.pre_states)})
        wf_id = workflow.info().workflow_id
        for i, action in enumerate(self.inp.actions):
            try:
                result = await self._activity(InterventionActivities.apply, StepInput(action, f"{wf_id}:apply:{i}"))
            except ActivityError as exc:
                # the failed step may have landed before its answer was lost: revert it too
                self.applied.append(i)
                return await self._fail("execution_failed", exc, compensate=True)
            self.applied.append(i)
            workflow.logger.info("applied step %s: %s", i, result)
        self.status = InterventionStatus.EXECUTED
        await self._audit("executed", "system", {"steps": len(self.applied)})
        return True

    async def _fail(self, event: str, exc: ActivityError, compensate: bool) -> bool:
        cause = exc.cause if exc.cause is not None else exc
        self.error = f"{type(cause).__name__}: {cause}"
        self.status = InterventionStatus.FAILED
        await self._audit(event, "system", {"error": self.error})
        if compensate and self.applied:
            await self._rollback("system", f"compensating a failed execution: {self.error}")
            if self.status == InterventionStatus.ROLLED_BACK:
                self.status = InterventionStatus.FAILED
            await self._audit("failed", "system", {"error": self.error, "restored": self.restored})
        return False

    async def _monitor(self) -> None:
        assert self.inp is not None
        self.status = InterventionStatus.MONITORING
        window = timedelta(seconds=self.inp.monitoring_window_s)
        await self._audit("monitoring_started", "system", {"until": (workflow.now() + window).isoformat()})
        if await self._wait_for_rollback(window):
            return
        entry = CATALOGUE[InterventionType(self.inp.proposal["type"])]
        try:
            measured: MeasuredOutcome | None = await self._activity(
                InterventionActivities.measure, MeasureInput(self.inp.proposal["type"], self.sealed_baseline)
            )
        except ActivityError as exc:
            cause = exc.cause if exc.cause is not None else exc
            self.error = f"outcome unavailable: {type(cause).__name__}: {cause}"
            await self._audit("outcome_unavailable", "system", {"error": self.error})
            measured = None
        if measured is not None:
            self.outcome = asdict(measured)  # verdict and group figures; per-person values stayed in the activity
            await self._audit("outcome_measured", "system", {"outcome": self.outcome})
            if measured.verdict == OutcomeVerdict.NEGATIVE.value:
                effect, low, high = measured.effect, measured.ci_low, measured.ci_high
                detail = (
                    f"effect {effect:+.3g} [{low:+.3g}, {high:+.3g}]"
                    if effect is not None and low is not None and high is not None
                    else "(figures withheld: group below the minimum size)"
                )
                reason = f"negative outcome: {entry.outcome_metric} {measured.reason}, {detail}"
                await self._rollback("system", reason)
                return
        self.status = InterventionStatus.SUCCEEDED
        await self._audit("succeeded", "system", {"outcome": self.outcome})
        if self.inp.rollback_window_s > 0 and await self._wait_for_rollback(
            timedelta(seconds=self.inp.rollback_window_s)
        ):
            return
        self.status = InterventionStatus.COMPLETED
        await self._audit("completed", "system", {})

    async def _wait_for_rollback(self, window: timedelta) -> bool:
        """Durable timer that a manual rollback interrupts; True if it rolled back."""
        if window <= timedelta(0) and self.rollback_request is None:
            return False
        try:
            await workflow.wait_condition(lambda: self.rollback_request is not None, timeout=window)
        except TimeoutError:
            return False
        assert self.rollback_request is not None
        await self._rollback(self.rollback_request.actor, self.rollback_request.reason)
        return True

    async def _rollback(self, actor: str, reason: str) -> None:
        """Compensation: revert the applied steps in reverse order, then check the restored state."""
        assert self.inp is not None
        self.status = InterventionStatus.ROLLING_BACK
        await self._audit("rollback_started", actor, {"reason": reason, "steps": list(reversed(self.applied))})
        wf_id = workflow.info().workflow_id
        for i in reversed(self.applied):
            try:
                await self._activity(
                    InterventionActivities.revert,
                    StepInput(self.inp.actions[i], f"{wf_id}:revert:{i}", self.pre_states[i]),
                    attempts_factor=3,
                )
            except ActivityError as exc:
                cause = exc.cause if exc.cause is not None else exc
                self.error = f"rollback failed at step {i}: {type(cause).__name__}: {cause}"
                self.status = InterventionStatus.ROLLBACK_FAILED
                await self._audit("rollback_failed", "system", {"error": self.error})
                await self._activity(InterventionActivities.alert, AlertInput(self._id, self.error))
                self.rollback_done = True
                return
        restored = await self._activity(
            InterventionActivities.capture,
            CaptureInput([self.inp.actions[i] for i in range(len(self.pre_states))], "", [], []),
        )
        self.restored = restored.pre_states == self.pre_states
        self.status = InterventionStatus.ROLLED_BACK
        await self._audit("rolled_back", actor, {"reason": reason, "restored": self.restored})
        self.rollback_done = True

    def waited_s(self) -> float | None:
        if not self.approval_requested_at:
            return None
        start = datetime.fromisoformat(self.approval_requested_at)
        return (workflow.now() - start).total_seconds()

    # -- interaction -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> dict[str, Any]:
        inp = self.inp
        return {
            "intervention_id": inp.proposal["intervention_id"] if inp else None,
            "status": self.status,
            "impact": inp.impact if inp else None,
            "type": inp.proposal["type"] if inp else None,
            "proposed_at": self.proposed_at,
            "approval_requested_at": self.approval_requested_at or None,
            "approval_deadline": self.approval_deadline,
            "decision": (
                {
                    "approve": self.decision.approve,
                    "actor": self.decision.actor,
                    "reason": self.decision.reason,
                    "at": self.decided_at,
                }
                if self.decision
                else None
            ),
            "applied_steps": list(self.applied),
            "baseline": self.baseline,
            "outcome": self.outcome,
            "restored": self.restored,
            "error": self.error,
            "finished_at": self.finished_at,
            "timeline": list(self.timeline),
        }

    @workflow.update
    async def decide(self, decision: Decision) -> dict[str, Any]:
        self.used_nonces.add(decision.nonce)
        self.decision = decision
        await workflow.wait_condition(lambda: self.decision_done)
        return self.snapshot()

    def _check_signed(self, update: str, request: Decision) -> None:
        """With a decision key in the input, only what the API signed for this intervention counts."""
        key = self.inp.decision_public_key if self.inp is not None else None
        if key is None:
            return
        if request.intervention_id != self._id:
            raise ValueError("the decision is for another intervention")
        message = decision_message(
            update=update,
            intervention_id=request.intervention_id,
            approve=request.approve,
            actor=request.actor,
            roles=request.roles,
            reason=request.reason,
            nonce=request.nonce,
            issued_at=request.issued_at,
        )
        problem = signature_problem(key, message, request.signature)
        if problem is not None:
            raise ValueError(problem)
        if request.nonce in self.used_nonces:
            raise ValueError("this signed decision was already used")

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self._check_signed("decide", decision)
        if decision.approve is None:
            raise ValueError("a decision must approve or reject")
        if self.status != InterventionStatus.AWAITING_APPROVAL or self.decision is not None:
            raise ValueError(f"not awaiting approval (status {self.status})")
        if not DECIDER_ROLES & set(decision.roles):
            raise ValueError("only the approver or admin role can approve or reject")
        if not decision.actor.strip() or not decision.reason.strip():
            raise ValueError("a decision needs the approver's identity and a reason")
        if self.inp is not None and decision.actor == self.inp.proposal["proposed_by"] and decision.approve:
            raise ValueError("the proposer cannot approve their own intervention")

    @workflow.update
    async def rollback(self, request: Decision) -> dict[str, Any]:
        self.used_nonces.add(request.nonce)
        self.rollback_request = request
        await workflow.wait_condition(lambda: self.rollback_done)
        return self.snapshot()

    @rollback.validator
    def _validate_rollback(self, request: Decision) -> None:
        self._check_signed("rollback", request)
        if request.approve is not None:
            raise ValueError("a rollback request carries no approval")
        if self.status not in ROLLBACK_ALLOWED:
            raise ValueError(f"nothing to roll back (status {self.status})")
        if self.rollback_request is not None:
            raise ValueError("a rollback is already under way")
        if not DECIDER_ROLES & set(request.roles):
            raise ValueError("only the approver or admin role can roll back")
        if not request.actor.strip() or not request.reason.strip():
            raise ValueError("a rollback needs the requester's identity and a reason")
