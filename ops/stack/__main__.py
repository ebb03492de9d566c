"""`python -m ops.stack ...`: see ops/stack/cli.py."""

import os
import sys
from pathlib import Path

try:
    import psutil  # noqa: F401  (the stack's one dependency the system interpreter may lack)
except ImportError:  # rerun inside the project's venv
    venv_python = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parents[1].resolve():
        os.execv(str(venv_python), [str(venv_python), "-m", "ops.stack", *sys.argv[1:]])
    sys.exit("ops.stack needs psutil: run it with .venv/bin/python after `pip install -e '.[dev,servers]'`")

from ops.stack.cli import main  # noqa: E402  (after the interpreter check)

main()
