"""Messages and tables reach the terminal as written, whatever characters names hold."""

from __future__ import annotations

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
