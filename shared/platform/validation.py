"""Reusable string types for request models: control characters stripped, length capped.

Use them for every string that comes in (bodies, query parameters)::

    from shared.platform.validation import CleanStr, CleanText, Identifier, clean_str

    class Proposal(BaseModel):
        title: CleanStr                      # one line, <= 256 chars
        rationale: CleanText                 # multi-line, <= 4000 chars
        team: Identifier                     # [A-Za-z0-9_.:@-], 1..128 chars
        label: clean_str(64, min_length=1)   # custom cap

For query parameters write ``q: Annotated[CleanStr, Query()]``; FastAPI drops the validators
of ``q: CleanStr = Query()`` (the default-value form).

Control characters (C0, DEL, C1), zero-width and bidirectional-override characters are removed
*before* the length and pattern checks; the caps reject (422) rather than truncate, so nothing
is silently lost. Strings are never interpolated into Cypher or SQL: stores get them as
parameters (tests/api/test_injection.py proves it on the real stores).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints

_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MULTI_LINE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)

IDENTIFIER_PATTERN = r"^[A-Za-z0-9_\-:.@]+$"


def strip_controls(value: Any) -> Any:
    """Remove control and invisible formatting characters, tabs and newlines included."""
    return _SINGLE_LINE.sub("", value) if isinstance(value, str) else value


def strip_controls_keep_lines(value: Any) -> Any:
    """Remove control characters but keep tab, newline and carriage return."""
    return _MULTI_LINE.sub("", value) if isinstance(value, str) else value


def clean_str(
    max_length: int = 256, *, min_length: int = 0, multiline: bool = False, pattern: str | None = None
) -> Any:
    """An annotated ``str`` type: stripped of control characters, trimmed, then capped.

    The cap is checked on the raw input too, so what the OpenAPI says (``maxLength``) is exactly
    what is refused: a string longer than the cap is a 422 even if stripping would shorten it.
    """
    strip = strip_controls_keep_lines if multiline else strip_controls

    def clean(value: Any) -> Any:
        if not isinstance(value, str) or len(value) > max_length:
            return value  # the length constraint refuses it as sent
        return strip(value).strip()

    # the BeforeValidator goes last: it still runs first, and pydantic keeps ``pattern`` in
    # the JSON schema only in this order
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern),
        BeforeValidator(clean),
    ]


CleanStr = clean_str(256)
CleanText = clean_str(4000, multiline=True)
Identifier = clean_str(128, min_length=1, pattern=IDENTIFIER_PATTERN)
