"""A report page as a reader sees it: rendered by headless Chromium, the screenshot checked for blank
stretches and pictures that did not load (``scripts/check_report_in_browser.py``). Runs where Chromium is
on PATH (``apt-get install chromium``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli.run import run_cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_report_in_browser.py"
BROWSER = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
)

pytestmark = pytest.mark.skipif(BROWSER is None, reason="needs Chromium on PATH (apt-get install chromium)")


def check(page: Path, shot: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), str(page), "--shot", str(shot), "--height", "4000"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_a_report_page_renders_in_a_headless_browser(
    vcop_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(vcop_checkpoint.parent, run)
    assert run_cli(capsys, "report", run).code == 0
    shot = tmp_path / "page.png"
    done = check(run / "report" / "index.html", shot)
    assert done.returncode == 0, done.stdout + done.stderr
    measured = dict(item.split("=") for item in done.stdout.split())
    assert float(measured["colour"]) > 0.005 and float(measured["blank_bands"]) == 0
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[1] == 1100 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_the_check_fails_on_a_page_whose_pictures_are_broken(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    broken = '<img src="data:image/png;base64,AAAA" alt="x" width="900" height="600">'
    page.write_text(f"<!doctype html><html><body><h1>clipcop report</h1><p>numbers</p>{broken * 4}</body></html>")
    done = check(page, tmp_path / "shot.png")
    assert done.returncode == 1
    assert "pictures did not load" in done.stderr or "blank" in done.stderr, done.stderr
