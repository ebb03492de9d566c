"""One place that turns an activities class into what the worker registers: every ``activity.defn``
method the class defines, bound to an instance (the workflows call the same methods by reference)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.platform.resources import Resources


def activity_methods(instance: object) -> list[Callable[..., Any]]:
    """The instance's ``activity.defn`` methods, bound, in the order its class defines them."""
    return [
        getattr(instance, name)
        for name, member in vars(type(instance)).items()
        if getattr(member, "__temporal_activity_definition", None) is not None
    ]


class ResourceBoundActivities:
    """Activities as methods over injected ``Resources`` (no module state); subclasses add the activities."""

    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    @classmethod
    def bound_to(cls, resources: Resources) -> list[Callable[..., Any]]:
        """What worker.py registers: the class's own ``activity.defn`` methods, bound to ``resources``."""
        return activity_methods(cls(resources))
