"""The base of every settings group: its variables are ``CO_`` + the group's prefix + the field name."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Area(BaseModel):
    """A group of settings (one outside system or one product area). Immutable once built.

    ``env_prefix`` keeps the variable names the deployments already use: ``RedisSettings.url``
    is ``CO_REDIS_URL``, a nested group has its own prefix (``graph.falkordb.host`` is
    ``CO_FALKORDB_HOST``), and a group whose fields already name themselves has none.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")
    env_prefix: ClassVar[str] = ""
