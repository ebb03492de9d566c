"""The demo stage runs end to end (its own simulator, worker and API subprocesses)."""

from __future__ import annotations

import pytest

from ops.interventions_demo import demo_stage
from shared.platform.resources import Resources


@pytest.mark.slow
async def test_demo_stage(resources: Resources) -> None:
    lines: list[str] = []
    await demo_stage(resources, lines.append)
    text = "\n".join(lines)
    assert "robust=True" in text
    assert "impact low" in text and "ran without approval" in text
    assert "manager_nudge -> impact high" in text and "h left" in text
    assert "an analyst tries to approve: HTTP 403" in text
    assert "approved through the API by demo-approver: HTTP 200" in text
    assert "automatic rollback: status rolled_back, outcome negative" in text and "restored=True" in text
    assert "calendars now free of the cap: True" in text
    assert "HTTP 200 rolled_back" in text  # the manual rollback
    assert "audit chain verified: ok=True" in text
