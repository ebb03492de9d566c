"""Table rows as the stores' dataclasses: one mapping rule instead of one hand-written copy per table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def decoded_json(value: Any) -> Any:
    """A jsonb value as Python (asyncpg hands jsonb over as text unless a codec is set)."""
    return json.loads(value) if isinstance(value, str) else value


def row_as(cls: type[T], row: Mapping[str, Any], *, json_columns: Iterable[str] = ()) -> T:
    """``row`` as ``cls``: the uuid ``id`` as text, ``json_columns`` decoded, columns ``cls`` lacks ignored."""
    data = dict(row)
    if "id" in data:
        data["id"] = str(data["id"])
    for column in json_columns:
        data[column] = decoded_json(data[column])
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})
