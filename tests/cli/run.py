"""Running the real CLI in-process and capturing its streams."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from clipcop.cli.main import main


@dataclass
class Result:
    """Exit code and captured output of one command."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> Result:
    """``clipcop *args`` through :func:`clipcop.cli.main.main`."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def one_error_line(result: Result) -> str:
    """Assert the command failed with one ``clipcop...: error:`` line, last on stderr, and no traceback."""
    assert result.code != 0, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("clipcop") and ": error: " in line]
    assert len(errors) == 1 and lines[-1] == errors[0], result.err
    assert "Traceback" not in result.err
    return errors[0]
