"""Privacy rules: pseudonymisation at the door and minimum group sizes.

Raw employee identifiers never reach storage: every id is replaced by a keyed HMAC-SHA256
(``p_`` + 32 hex chars = 128 bits) before it is published to the stream. The key lives in
settings (a mounted secret in production). See docs/privacy.md for key rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX_CHARS = 32


def pseudonymise(raw_id: str, key: bytes) -> str:
    """Stable pseudonym for ``raw_id`` under ``key``; irreversible without the key holder's data."""
    digest = hmac.new(key, raw_id.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def is_pseudonym(value: str) -> bool:
    return (
        value.startswith(PSEUDONYM_PREFIX)
        and len(value) == len(PSEUDONYM_PREFIX) + PSEUDONYM_HEX_CHARS
        and all(c in "0123456789abcdef" for c in value[len(PSEUDONYM_PREFIX) :])
    )


def group_is_reportable(size: int, min_group_size: int) -> bool:
    """Aggregates over fewer than ``min_group_size`` people could single someone out."""
    return size >= min_group_size


def team_views(teams: list[dict[str, Any]], min_group_size: int) -> list[dict[str, Any]]:
    """Each team of a refresh summary as a reader may see it: a team under ``min_group_size``
    members (or withheld by the refresh) keeps only its name. The team API and team exports
    both read teams through this one function."""
    views: list[dict[str, Any]] = []
    for t in teams:
        if t["withheld"] or not group_is_reportable(t["members"], min_group_size):
            views.append({"team": t["team"], "withheld": True, "reason": f"fewer than {min_group_size} people"})
        else:
            views.append({"team": t["team"], "withheld": False, "members": t["members"], "figures": t["figures"]})
    return views
