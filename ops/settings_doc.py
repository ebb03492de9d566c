"""Prints docs/settings.md: every setting, its environment variable, type and default.

Generated from the Settings model so the table cannot drift (tests/unit/platform/test_settings.py
compares it with the committed file).
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.platform.settings import DEFAULT_SECRETS_DIR, Settings


def render() -> str:
    lines = [
        "# Settings",
        "",
        "One typed object (`shared/platform/settings.py`), read from, highest first: the process",
        "environment, a `.env` file in the working directory, then one file per setting in the",
        f"secrets directory (`CO_SECRETS_DIR`, default `{DEFAULT_SECRETS_DIR}`, the file named like",
        "the setting, `pg_dsn`, or like its variable, `CO_PG_DSN`), then the defaults below. Secrets are never",
        "literals in code, the Taskfile or manifests: locally `ops/stack/` generates them into `var/`",
        "and `python -m ops.stack env` exports them. Regenerate this file with `./dev docs:settings`.",
        "",
        "| variable | type | default | secret |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        annotation = str(field.annotation)
        for noise in ("typing.", "pydantic.types.", "pathlib.", "<class '", "'>"):
            annotation = annotation.replace(noise, "")
        secret = "SecretStr" in annotation
        default = field.default
        if isinstance(default, SecretStr):
            shown = "(generated locally)" if secret else ""
        elif default is None:
            shown = ""
        else:
            shown = f"`{default}`"
        if secret and "@" in shown:
            shown = "(generated locally)"
        lines.append(f"| `CO_{name.upper()}` | {annotation.replace('|', 'or')} | {shown} | {'yes' if secret else ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
