"""Render a ``clipcop report`` page in headless Chromium and check that what a reader sees is not blank.

    python scripts/check_report_in_browser.py RUN/report/index.html [--shot shot.png] [--height 9000]

Takes a screenshot of the page (Chromium from the system's packages: ``apt-get install chromium``), then
checks with numpy that the page drew: the top of the page (title and provenance block) holds text, most
bands of the page's height hold something, and the embedded pictures were decoded (coloured pixels: text
and frames alone are grey). Prints what it measured and exits non-zero, naming the failed check, if the
page is blank or its pictures did not load. Needs Pillow (installed with torchvision) and numpy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WIDTH = 1100
BAND = 200
"""Rows of pixels per band when looking for blank stretches of the page."""


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(page: Path, shot: Path, *, height: int, browser: str) -> None:
    """Chromium's own screenshot of ``page`` in a ``WIDTH`` x ``height`` window."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{height}",
            f"--screenshot={shot}",
            page.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if not shot.is_file():
        raise SystemExit(f"check_report_in_browser: {browser} wrote no screenshot:\n{done.stderr[-2000:]}")


def measure(shot: Path) -> dict[str, float]:
    """Shares of non-white pixels (top band, whole page), non-blank bands, and coloured pixels."""
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    inked: np.ndarray = np.asarray((rgb < 235).any(axis=2))
    rows = np.flatnonzero(inked.any(axis=1))
    last = int(rows[-1]) + 1 if rows.size else 0  # below the page's end the window is plain white
    bands = [inked[i : i + BAND] for i in range(0, max(last, 1), BAND)]
    saturation: np.ndarray = np.asarray(rgb.max(axis=2) - rgb.min(axis=2))
    return {
        "height_px": float(rgb.shape[0]),
        "content_px": float(last),
        "top_ink": float(inked[:BAND].mean()),
        "ink": float(inked[:last].mean()) if last else 0.0,
        "bands": float(len(bands)),
        "blank_bands": float(sum(1 for band in bands if band.mean() < 0.002)),
        "colour": float((saturation[:last] > 60).mean()) if last else 0.0,
    }


def problems(found: dict[str, float]) -> list[str]:
    """What a reader would call broken: an empty top, a mostly blank page, pictures that did not load."""
    bad = []
    if found["top_ink"] < 0.01:
        bad.append("the top of the page (title, provenance) is blank")
    if found["content_px"] < 2 * BAND:
        bad.append("the page drew almost nothing")
    elif found["blank_bands"] > found["bands"] / 3:
        bad.append(f"{found['blank_bands']:.0f} of {found['bands']:.0f} bands of the page are blank")
    if found["colour"] < 0.005:
        bad.append("no coloured pixels: the embedded pictures did not load")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="a report's index.html")
    parser.add_argument("--shot", type=Path, default=None, help="where to keep the screenshot (PNG)")
    parser.add_argument("--height", type=int, default=9000, help="window height in pixels (the part shot)")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("check_report_in_browser: no Chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    if not args.page.is_file():
        print(f"check_report_in_browser: {args.page} does not exist", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        shot = args.shot or Path(folder) / "shot.png"
        screenshot(args.page, shot, height=args.height, browser=browser)
        found = measure(shot)
    print(" ".join(f"{key}={value:.4g}" for key, value in found.items()))
    bad = problems(found)
    for problem in bad:
        print(f"check_report_in_browser: {problem}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
