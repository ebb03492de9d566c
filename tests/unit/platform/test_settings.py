"""Settings: sources and precedence, secret files, and the documented table stays true."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.settings_doc import render
from shared.platform.settings import VARIABLES, load_settings

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
    assert settings.graph.name == "from-secret-file"
    assert settings.privacy.pseudonymisation_key == b"k-from-file"
    monkeypatch.setenv("CO_GRAPH_NAME", "from-env")
    assert load_settings().graph.name == "from-env"
    assert load_settings(graph_name="override").graph.name == "override"


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_PG_DSN", "postgresql://u:very-secret@h/db")
    settings = load_settings()
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())


def test_areas_keep_the_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_RATE_LIMIT_READ", "7")
    monkeypatch.setenv("CO_FALKORDB_PORT", "1234")
    monkeypatch.setenv("CO_METRICS_WINDOW_DAYS", "14")
    settings = load_settings(redis_max_connections=3)
    assert (settings.ratelimit.read, settings.graph.falkordb.port, settings.metrics.window_days) == (7, 1234, 14)
    assert settings.redis.max_connections == 3
    assert (
        VARIABLES["falkordb_port"].env == "CO_FALKORDB_PORT"
        and VARIABLES["falkordb_port"].dotted == "graph.falkordb.port"
    )
    assert len({v.env for v in VARIABLES.values()}) == len(VARIABLES)


def test_replace_changes_a_copy_and_rejects_unknown_names() -> None:
    settings = load_settings()
    changed = settings.replace(graph_name="other", cycle_max_people=9)
    assert (changed.graph.name, changed.interventions.cycle.max_people) == ("other", 9)
    assert settings.graph.name != "other" and changed.redis == settings.redis
    with pytest.raises(TypeError, match="graph_nmae"):
        settings.replace(graph_nmae="typo")
    with pytest.raises(TypeError, match="graph_nmae"):
        load_settings(graph_nmae="typo")
