"""The base of each workflow package's activity class: one place that binds activities to the worker's resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.platform.resources import Resources


class ResourceBoundActivities:
    """Activities as methods over injected ``Resources`` (no module state); subclasses add the activities."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @classmethod
    def bound_to(cls, resources: Resources) -> list[Callable[..., Any]]:
        """What worker.py registers: the class's own ``activity.defn`` methods, bound to ``resources``."""
        instance = cls(resources)
        return [
            getattr(instance, name)
            for name, member in vars(cls).items()
            if getattr(member, "__temporal_activity_definition", None) is not None
        ]
