"""A workflow package's ``WORKFLOWS`` and workflow classes, imported on first access (PEP 562).

A function that starts a workflow imports the package's ``contract`` and ``client``, which runs
the package's ``__init__``; were the workflow classes imported there, every such function would
load ``temporalio.workflow`` at start-up (docs/benchmarks.md, "Cold starts"). Only the worker and
the tests read ``WORKFLOWS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_workflows(package: str, classes: dict[str, str]) -> Callable[[str], object]:
    """The package's module ``__getattr__``: ``classes`` maps each workflow class, in
    ``WORKFLOWS`` order, to the module of ``package`` that defines it."""

    def attribute(name: str) -> object:
        if name == "WORKFLOWS":
            return [attribute(cls) for cls in classes]
        if name in classes:
            return getattr(importlib.import_module(f"{package}.{classes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return attribute
