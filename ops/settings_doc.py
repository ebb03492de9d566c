"""Prints docs/settings.md: every setting, its environment variable, where it lives, type and default.

Generated from the Settings model so the table cannot drift (tests/unit/platform/test_settings.py
compares it with the committed file).
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.platform.settings import DEFAULT_SECRETS_DIR, VARIABLES


def render() -> str:
    lines = [
        "# Settings",
        "",
        "One typed object (`shared/platform/settings/`), grouped by area: code reads",
        "`settings.<area>.<field>` (the `setting` column). It is read from, highest first: the process",
        "environment, a `.env` file in the working directory, then one file per setting in the",
        f"secrets directory (`CO_SECRETS_DIR`, default `{DEFAULT_SECRETS_DIR}`, the file named like",
        "the variable without `CO_` in lower case, `pg_dsn`, or like the variable, `CO_PG_DSN`), then the",
        "defaults below. That lower-case name is also what `load_settings(...)` and `Settings.replace(...)`",
        "take. Secrets are never literals in code, the Taskfile or manifests: locally `ops/stack/`",
        "generates them into `var/` and `python -m ops.stack env` exports them. Regenerate this file with",
        "`./dev docs:settings`.",
        "",
        "| variable | setting | type | default | secret |",
        "| --- | --- | --- | --- | --- |",
    ]
    for variable in VARIABLES.values():
        field = variable.field
        annotation = str(field.annotation)
        for noise in ("typing.", "pydantic.types.", "pathlib.", "<class '", "'>"):
            annotation = annotation.replace(noise, "")
        secret = "SecretStr" in annotation
        default = field.default
        if isinstance(default, SecretStr):
            shown = "(generated locally)" if secret else ""
        elif default is None or field.default_factory is not None:
            shown = ""
        else:
            shown = f"`{default}`"
        if secret and "@" in shown:
            shown = "(generated locally)"
        aliases = [a for a in _aliases(field.validation_alias) if a not in (variable.env, variable.name)]
        also = f" (or `{'`, `'.join(aliases)}`)" if aliases else ""
        lines.append(
            f"| `{variable.env}`{also} | `{variable.dotted}` | {annotation.replace('|', 'or')} | {shown} |"
            f" {'yes' if secret else ''} |"
        )
    return "\n".join(lines) + "\n"


def _aliases(alias: object) -> list[str]:
    choices = getattr(alias, "choices", None)
    return [c for c in choices if isinstance(c, str)] if choices else []


if __name__ == "__main__":
    print(render(), end="")
