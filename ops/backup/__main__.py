"""`python -m ops.backup backup|list|restore|drill`: see ops/backup/cli.py."""

import sys

from ops.backup.cli import main

sys.exit(main())
