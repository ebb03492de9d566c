"""Erasure of one person on Temporal. Sandbox-safe: workflow definitions only at module level."""

from __future__ import annotations

from workflows.erasure.workflow import ErasureWorkflow

WORKFLOWS: list[type] = [ErasureWorkflow]

__all__ = ["WORKFLOWS", "ErasureWorkflow"]
