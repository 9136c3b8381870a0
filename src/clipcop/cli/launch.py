"""The ``clipcop`` console script: loads the command line inside a Ctrl-C guard.

A Ctrl-C while Python is still importing the CLI ends like one during a command: ``clipcop:
interrupted`` and exit code 130, not a traceback. The CLI itself imports no torch until a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from clipcop.processes.interrupts import INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Import :mod:`clipcop.cli.main` and run it; an interrupt during the import exits 130."""
    try:
        from clipcop.cli.main import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("clipcop: interrupted\n")
        return INTERRUPTED
    return run_cli(argv)
