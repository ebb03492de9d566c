"""Erasure of one person on Temporal. Sandbox-safe: workflow definitions only at module level."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.erasure.workflow import ErasureWorkflow, erasure_workflow_id

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shared.platform.resources import Resources

WORKFLOWS: list[type] = [ErasureWorkflow]


def build_activities(resources: Resources) -> list[Callable[..., Any]]:
    from workflows.erasure.activities import build_activities as build

    return build(resources)


__all__ = ["WORKFLOWS", "ErasureWorkflow", "build_activities", "erasure_workflow_id"]
