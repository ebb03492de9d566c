"""Erasure of one person on Temporal. Sandbox-safe: workflow definitions only at module level."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.lazy_workflows import lazy_workflows

if TYPE_CHECKING:
    from workflows.erasure.workflow import ErasureWorkflow

    WORKFLOWS: list[type]

# the workflow classes load only when asked for (workflows/lazy_workflows.py)
__getattr__ = lazy_workflows(__name__, {"ErasureWorkflow": "workflow"})

__all__ = ["WORKFLOWS", "ErasureWorkflow"]
