"""The states an intervention passes through (the workflow's ``status``, stored as its value)."""

from __future__ import annotations

from enum import StrEnum


class InterventionStatus(StrEnum):
    """A ``StrEnum``: each member compares and serialises as its bare string, so database rows,
    API answers and running workflows' histories keep the values they always had."""

    PROPOSED = "proposed"
    AWAITING_APPROVAL = "awaiting_approval"
    EXPIRED = "expired"
    REJECTED = "rejected"
    APPROVED = "approved"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    MONITORING = "monitoring"
    SUCCEEDED = "succeeded"
    COMPLETED = "completed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


ROLLBACK_ALLOWED = frozenset({InterventionStatus.MONITORING, InterventionStatus.SUCCEEDED})
"""The statuses in which a manual rollback is accepted."""
