"""One typed settings object for every function, grouped by area, read from env, `.env` and secret files.

Code reads ``settings.<area>.<field>`` (``settings.redis.url``). Each setting keeps one flat name,
its variable without ``CO_`` (``redis_url`` for ``CO_REDIS_URL``): the name of its secret file, of
a ``load_settings`` override and of a ``Settings.replace`` change. The areas and their prefixes
are in ``infrastructure.py`` and ``product.py``; docs/settings.md lists every variable.

Precedence (highest first): process environment, `.env` in the working directory, secret files
in ``CO_SECRETS_DIR`` (default ``/var/run/secrets/causal-organism``; one file per setting, named
like its flat name or its variable), then the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field, create_model
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

from shared.platform.settings.area import Area
from shared.platform.settings.infrastructure import (
    AuthSettings,
    CacheSettings,
    GraphSettings,
    HttpSettings,
    PostgresSettings,
    RateLimitSettings,
    RedisSettings,
    S3Settings,
    TemporalSettings,
)
from shared.platform.settings.product import (
    AuditSettings,
    BackupSettings,
    CausalSettings,
    ExportSettings,
    IngestSettings,
    InterventionSettings,
    MetricsSettings,
    ObservabilitySettings,
    PrivacySettings,
    WebSettings,
)

DEFAULT_SECRETS_DIR = "/var/run/secrets/causal-organism"


class Settings(Area):
    """Everything a function needs to know about its environment, by area. Immutable once built."""

    environment: Literal["local", "test", "production"] = "local"
    service_name: str = "causal-organism"
    graph: GraphSettings = Field(default_factory=GraphSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    causal: CausalSettings = Field(default_factory=CausalSettings)
    interventions: InterventionSettings = Field(default_factory=InterventionSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    web: WebSettings = Field(default_factory=WebSettings)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (``redis_url``)."""
        values: dict[str, Any] = {}
        for name, variable in VARIABLES.items():
            owner: Any = self
            for step in variable.path:
                owner = getattr(owner, step)
            values[name] = owner
        return values

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, each named by its flat name (``redis_max_connections=2``)."""
        unknown = sorted(set(changes) - VARIABLES.keys())
        if unknown:
            raise TypeError(f"not settings: {unknown}")
        return _nest(Settings, {**self.flat(), **changes})


@dataclass(frozen=True)
class Variable:
    """One setting: where it lives in Settings (``("graph", "falkordb", "host")``) and its declaration."""

    path: tuple[str, ...]
    field: FieldInfo

    @property
    def env(self) -> str:
        return "CO_" + self.name.upper()

    @property
    def name(self) -> str:
        return _flat_name(self.path)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _areas(model: type[Area], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], type[Area], str]]:
    """Every (path, area class, field) below ``model``, depth first in declaration order."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Area):
            yield from _areas(annotation, (*path, name))
        else:
            yield (*path, name), model, name


def _flat_name(path: tuple[str, ...]) -> str:
    model: type[Area] = Settings
    for step in path[:-1]:
        annotation = model.model_fields[step].annotation
        assert isinstance(annotation, type) and issubclass(annotation, Area)
        model = annotation
    return model.env_prefix + path[-1]


def _variables() -> Mapping[str, Variable]:
    found: dict[str, Variable] = {}
    for path, model, name in _areas(Settings):
        variable = Variable(path, model.model_fields[name])
        assert variable.name not in found, f"two settings named {variable.name}"
        found[variable.name] = variable
    return MappingProxyType(found)


VARIABLES: Mapping[str, Variable] = _variables()


def _nest(model: type[Area], flat: Mapping[str, Any]) -> Any:
    """Build ``model`` from already validated flat values (no validation, like ``model_copy``)."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Area):
            values[name] = _nest(annotation, flat)
        else:
            values[name] = flat[model.env_prefix + name]
    return model.model_construct(**values)


class _FlatSource(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CO_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Also secret files named like the setting; the directories are read at each load (not a
        class built per load: that cost every function's cold start a model build)."""
        bare = [SecretsSettingsSource(settings_cls, secrets_dir=d, env_prefix="") for d in _secrets_dirs()]
        return (init_settings, env_settings, dotenv_settings, file_secret_settings, *bare)


_FlatSettings: type[_FlatSource] = create_model(  # type: ignore[call-overload]
    "FlatSettings",
    __base__=_FlatSource,
    **{name: (v.field.annotation, FieldInfo.merge_field_infos(v.field)) for name, v in VARIABLES.items()},
)


def _secrets_dirs() -> list[str]:
    """Secret directories that exist; pydantic-settings warns about missing ones."""
    wanted = os.environ.get("CO_SECRETS_DIR", DEFAULT_SECRETS_DIR)
    return [d for d in wanted.split(os.pathsep) if d and Path(d).is_dir()]


def load_settings(**overrides: Any) -> Settings:
    """Build settings; keyword overrides (flat names) win over every other source (tests use this).

    Secret files may be named like the setting (``pg_dsn``) or like the variable (``CO_PG_DSN``).
    """
    directories = _secrets_dirs()
    unknown = sorted(set(overrides) - VARIABLES.keys())
    if unknown:
        raise TypeError(f"not settings: {unknown}")
    loaded = _FlatSettings(_secrets_dir=directories or None, **overrides)  # type: ignore[call-arg]
    return _nest(Settings, {name: getattr(loaded, name) for name in VARIABLES})


__all__ = ["DEFAULT_SECRETS_DIR", "VARIABLES", "Area", "Settings", "Variable", "load_settings"]
