"""Messages and tables reach the terminal or the log as written, whatever characters names hold."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rich.table import Table

from clipcop.engine.reporting import Reporter


def test_brackets_in_names_are_printed_not_read_as_markup(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = Reporter()
    name = "videos/[bold]v_Jump[1]/clip [plot].avi"
    reporter.note(f"skipped {name}")
    reporter.warn(f"cannot decode {name}")
    reporter.info(name)
    table = Table()
    table.add_column("video")
    table.add_row(name)
    reporter.table(table)
    err = capsys.readouterr().err
    assert f"note: skipped {name}" in err
    assert f"warning: cannot decode {name}" in err
    assert err.count(name) == 4


def test_long_lines_reach_a_log_whole() -> None:
    """Through a pipe (no terminal, no COLUMNS) rich would wrap at 80 columns; a log keeps each line whole."""
    line = "epoch 1: " + " ".join(f"videos/v_ApplyEyeMakeup_g{i:02d}_c01.avi" for i in range(8))
    script = f"from clipcop.engine.reporting import Reporter\nr = Reporter()\nr.info({line!r})\nr.warn({line!r})"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TERM")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stderr.splitlines() == [line, f"warning: {line}"]
