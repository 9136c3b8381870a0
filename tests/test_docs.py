"""docs/getting-started.md works when followed literally (its marked command and Python blocks run as written),
every picture the docs show is there, and docs/api.md is what the docstrings generate."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from clipcop.api_reference import render

ROOT = Path(__file__).resolve().parents[1]

needs_docs = pytest.mark.skipif(
    not (ROOT / "docs").is_dir(), reason="no docs/ folder beside tests/ (a copy of the tests without the docs)"
)
"""The docs' own tests; the README's runs wherever the tests are (it is in every source distribution)."""


@needs_docs
def test_api_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "api.md").read_text()
    assert committed == render(), "docs/api.md is stale: run `python -m clipcop.api_reference > docs/api.md`"


@pytest.mark.parametrize("cores", [1, 64])
def test_api_reference_is_the_same_on_any_machine(cores: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default computed from the machine (``--workers``) is shown by its function, not this machine's value."""
    here = render()
    monkeypatch.setattr("clipcop.config.available_cores", lambda: cores)
    elsewhere = render()
    assert elsewhere == here
    assert "| `workers` | `--workers` | `data.workers` | `int` | `default_workers()` |" in elsewhere


@needs_docs
def test_getting_started_commands_run_as_written(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "getting-started.md").read_text()
    block = re.search(r"<!-- getting-started: begin -->\s*```bash\n(.*?)```", text, re.S)
    assert block, "the marked command block is missing from docs/getting-started.md"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) >= 8
    env = {**os.environ, "CLIPCOP_CACHE": str(tmp_path / "cache")}
    for command in commands:
        # The one change: the docs' scratch folder /tmp/synth moves into this test's own folder.
        argv = shlex.split(command.replace("/tmp/synth", str(tmp_path / "synth")))
        assert argv[0] == "clipcop"
        done = subprocess.run(
            [sys.executable, "-m", "clipcop", *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    assert (tmp_path / "runs" / "synth-r3d" / "report" / "index.html").is_file()
    assert (tmp_path / "runs" / "synth-cur" / "tl3" / "best.safetensors").is_file()


@needs_docs
def test_getting_started_python_runs_as_written(tmp_path: Path) -> None:
    """The library API block: the same steps as the commands, with each command's options as keywords."""
    text = (ROOT / "docs" / "getting-started.md").read_text()
    block = re.search(r"<!-- python-api: begin -->\s*```python\n(.*?)```", text, re.S)
    assert block, "the marked Python block is missing from docs/getting-started.md"
    script = tmp_path / "api.py"
    script.write_text(block.group(1).replace("/tmp/synth-py", str(tmp_path / "synth")))
    env = {**os.environ, "CLIPCOP_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout.splitlines()
    assert printed[0].startswith("test order accuracy") and printed[-1].startswith("action recognition")
    assert [line.split()[0] for line in printed[1:3]] == ["trained", "random"]
    assert (tmp_path / "test.safetensors").is_file() and (tmp_path / "runs" / "py-ft" / "best.safetensors").is_file()


@needs_docs
def test_every_picture_the_docs_show_is_there() -> None:
    shown = 0
    for page in sorted((ROOT / "docs").glob("*.md")):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            picture = page.parent / target
            assert picture.is_file() and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{page.name}: {target}"
            shown += 1
    assert shown >= 2


def test_readme_links_are_absolute() -> None:
    """The README is also the package index page, where a relative link leads nowhere."""
    targets = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert targets and [t for t in targets if not t.startswith(("https://", "http://", "#"))] == []
    assert "https://github.com/clipcop/clipcop/blob/main/docs/api.md" in targets
