"""Causal analysis as a durable Temporal workflow (one heartbeating activity does the work).

Imported inside Temporal's workflow sandbox: workflow definitions only. contract.py: names and
payloads; client.py: starting one; activities.py (asyncpg, dowhy, pyspark): what the worker registers.
"""

from __future__ import annotations

from workflows.analysis.workflow import AnalysisWorkflow

WORKFLOWS: list[type] = [AnalysisWorkflow]

__all__ = ["WORKFLOWS", "AnalysisWorkflow"]
