"""The last resort: an exception no row of the CLI's error table knows (a bug) ends in one line.

``clipcop COMMAND: internal error: TYPE: MESSAGE (full traceback in FILE)``, exit code 70, the traceback
in the file; ``--debug`` or ``CLIPCOP_DEBUG=1`` gives Python's own report instead; Ctrl-C still ends in
130 and user errors in 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clipcop.cli import main as cli_main
from clipcop.cli.internal_error import INTERNAL_ERROR
from clipcop.engine import checkpoint
from tests.cli.run import run_cli

LINE = re.compile(r"^clipcop (?P<command>[a-z ]+): internal error: (?P<error>.+) \(full traceback in (?P<file>.+)\)$")


def _bug(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("division by zero deep inside")


def _one_internal_line(err: str) -> re.Match[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    found = LINE.match(lines[0])
    assert found is not None, lines[0]
    return found


def test_a_bug_is_one_line_with_the_traceback_in_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("CLIPCOP_DEBUG", raising=False)
    monkeypatch.setattr(checkpoint, "read_card", _bug)
    result = run_cli(capsys, "info", tmp_path / "any.safetensors")
    assert result.code == INTERNAL_ERROR == 70
    found = _one_internal_line(result.err)
    assert found["command"] == "info" and found["error"] == "ZeroDivisionError: division by zero deep inside"
    saved = Path(found["file"])
    assert saved.is_file() and saved.is_relative_to(Path(os.environ["CLIPCOP_CACHE"]))
    text = saved.read_text()
    assert text.startswith("Traceback") and "in _bug" in text and text.rstrip().endswith("deep inside")


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLIPCOP_DEBUG", raising=False)
    monkeypatch.setattr(checkpoint, "read_card", _bug)
    with pytest.raises(ZeroDivisionError, match="deep inside"):
        cli_main.main(["--debug", "info", str(tmp_path / "any.safetensors")])
    monkeypatch.setenv("CLIPCOP_DEBUG", "1")
    with pytest.raises(ZeroDivisionError, match="deep inside"):
        cli_main.main(["info", str(tmp_path / "any.safetensors")])


def test_the_line_names_subcommands_and_user_errors_stay_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("CLIPCOP_DEBUG", raising=False)
    from clipcop.workflows import index as index_workflow

    monkeypatch.setattr(index_workflow, "index_data", _bug)
    result = run_cli(capsys, "data", "index", tmp_path)
    assert result.code == 70 and _one_internal_line(result.err)["command"] == "data index"
    monkeypatch.undo()
    user = run_cli(capsys, "info", tmp_path / "missing.safetensors")
    assert user.code == 2 and "internal error" not in user.err


def test_ctrl_c_is_not_an_internal_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "read_card", interrupted)
    result = run_cli(capsys, "info", "x.safetensors")
    assert result.code == 130 and "internal error" not in result.err


def test_a_process_exits_70_and_the_traceback_goes_to_the_temp_folder_when_the_cache_is_unusable(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("")
    script = (
        "import sys\n"
        "import clipcop.engine.checkpoint as c\n"
        "def bug(*a, **k): raise KeyError('lost')\n"
        "c.read_card = bug\n"
        "from clipcop.cli.main import main\n"
        "sys.exit(main(['info', 'x.safetensors']))\n"
    )
    env = {**os.environ, "CLIPCOP_CACHE": str(blocked), "TMPDIR": str(tmp_path)}
    env.pop("CLIPCOP_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 70, done.stderr
    found = _one_internal_line(done.stderr)
    assert found["error"] == "KeyError: 'lost'" and Path(found["file"]).parent == tmp_path
