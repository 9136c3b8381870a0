"""The app itself: help, version, one-line errors, and the generated CLI reference staying in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clipcop import __version__
from clipcop.cli.reference import render
from tests.cli.run import one_error_line, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "--help")
    assert result.code == 0
    for command in ("data", "pretrain", "extract", "retrieve", "demo", "info"):
        assert command in result.out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--version").out.strip() == f"clipcop {__version__}"


def test_unknown_options_and_bad_values_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert "No such option" in one_error_line(run_cli(capsys, "pretrain", "--bogus"))
    assert "--epochs" in one_error_line(run_cli(capsys, "pretrain", "--epochs", "many"))
    assert "No such command" in one_error_line(run_cli(capsys, "fly"))


def test_python_dash_m_runs_the_same_app() -> None:
    done = subprocess.run([sys.executable, "-m", "clipcop", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"clipcop {__version__}"


def test_docs_cli_reference_is_generated_from_the_app() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert committed == render(), "docs/cli.md is stale: run `python -m clipcop.cli.reference > docs/cli.md`"
