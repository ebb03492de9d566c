"""The unit tier: no server. A test here that reaches for the stack fails with a clear message
(every server fixture of tests/conftest.py starts from ``stack_env``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    pytest.fail("tests/unit needs no server: use the in-memory stores, or move this test to the integration tier")
