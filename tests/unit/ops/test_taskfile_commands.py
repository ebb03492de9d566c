"""The Taskfile runs the project's scripts as modules, gets the stack's settings from one wrapper
(`{{.WITH_STACK}}`, i.e. `python -m ops.stack run --`) and names only modules that exist; no ops
script edits sys.path (issue 10)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
TASKFILES = [ROOT / "Taskfile.yml", *sorted((ROOT / "taskfiles").glob("*.yml"))]


def commands() -> list[str]:
    """Every command line of every task, as written."""
    out: list[str] = []
    for path in TASKFILES:
        for task in (yaml.safe_load(path.read_text()).get("tasks") or {}).values():
            for cmd in task.get("cmds", []) if isinstance(task, dict) else []:
                out.append(cmd if isinstance(cmd, str) else str(cmd.get("cmd", "")))
    return out


def test_taskfiles_have_commands() -> None:
    assert len(commands()) > 40


def test_no_task_evals_the_stack_settings_or_runs_a_script_by_path() -> None:
    assert [c for c in commands() if "eval " in c] == []
    assert [c for c in commands() if re.search(r"\bops/\w+\.py\b", c)] == []


def test_every_module_a_task_runs_exists() -> None:
    modules = {m for c in commands() for m in re.findall(r"-m ((?:ops|shared|functions|workflows)[\w.]*)", c)}
    assert "ops.stack" in modules and "ops.demo" in modules
    assert sorted(m for m in modules if importlib.util.find_spec(m) is None) == []


def test_the_wrapper_is_defined_once_and_used() -> None:
    root = yaml.safe_load((ROOT / "Taskfile.yml").read_text())
    assert root["vars"]["WITH_STACK"] == ".venv/bin/python -m ops.stack run --"
    assert sum("{{.WITH_STACK}}" in c for c in commands()) >= 30


def test_no_ops_script_edits_sys_path() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ops").rglob("*.py") if "sys.path" in p.read_text()]
    assert offenders == []
