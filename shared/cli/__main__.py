"""`python -m shared.cli ...`, the same as the `causal-organism` command."""

import sys

from shared.cli import main

sys.exit(main())
