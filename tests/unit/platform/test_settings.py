"""Settings: sources and precedence, secret files, and the documented table stays true."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.settings_doc import render
from shared.platform.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_docs_table_matches_the_model() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == render(), "run ./dev docs:settings"


def test_env_beats_secret_file_which_beats_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "graph_name").write_text("from-secret-file\n")
    (tmp_path / "hmac_key").write_text("k-from-file")
    monkeypatch.setenv("CO_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("CO_GRAPH_NAME", raising=False)
    monkeypatch.delenv("CO_HMAC_KEY_FILE", raising=False)
    monkeypatch.delenv("CO_HMAC_KEY", raising=False)
    settings = load_settings()
    assert settings.graph_name == "from-secret-file"
    assert settings.pseudonymisation_key == b"k-from-file"
    monkeypatch.setenv("CO_GRAPH_NAME", "from-env")
    assert load_settings().graph_name == "from-env"
    assert load_settings(graph_name="override").graph_name == "override"


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_PG_DSN", "postgresql://u:very-secret@h/db")
    settings = load_settings()
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
