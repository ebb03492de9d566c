"""The API tests' fixtures (settings with this session's keys, tokens for every role)."""

from tests.api.conftest import api_settings, mint

__all__ = ["api_settings", "mint"]
