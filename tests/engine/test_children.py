"""Helper processes that die: one clear error, no hang, and no verdict blamed on a video."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clipcop.errors import HelperError
from clipcop.processes.children import spawned_map
from tests.conftest import write_index_video


def square_or_die(value: int) -> int:
    """Squares; exits its process abruptly on 3 (as a decoder crash or a helper that cannot start would)."""
    if value == 3:
        os._exit(7)
    return value * value


def test_spawned_map_keeps_order_and_a_dying_helper_raises_instead_of_hanging() -> None:
    assert list(spawned_map(square_or_die, [0, 1, 2, 4, 5, 6], workers=2, what="squaring")) == [0, 1, 4, 16, 25, 36]
    started = time.monotonic()
    with pytest.raises(HelperError, match=r"^squaring: a helper process exited unexpectedly.*__main__"):
        list(spawned_map(square_or_die, range(40), workers=2, what="squaring"))
    assert time.monotonic() - started < 60


UNGUARDED = """
from clipcop.engine.reporting import Reporter
from clipcop.workflows.data import prepare_videos

prepare_videos({data!r}, workers=2, reporter=Reporter())
"""


def test_a_script_without_a_main_guard_is_told_so_and_no_video_is_blamed(tmp_path: Path) -> None:
    """A script calling clipcop at its top level starts it again in every spawned helper, which then dies
    at start. Probing stops after a few such workers and says why; before, each video was saved in the
    manifest as "decoder crashed" (unreadable in every later run), and generating data hung forever."""
    data = tmp_path / "data"
    for k in range(6):
        write_index_video(data / f"class{k % 2}" / f"v{k}.avi", 12, 16, 16)
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(data=str(data)))
    env = {**os.environ, "CLIPCOP_CACHE": str(tmp_path / "cache")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert time.monotonic() - started < 120
    assert "6 unreadable videos skipped" in done.stderr  # a run then stops: no usable video
    assert "probe workers keep exiting at start" in done.stderr and 'if __name__ == "__main__":' in done.stderr
    assert "decoder crashed" not in done.stderr
    for manifest in tmp_path.rglob("manifest.json"):
        assert "keep exiting" not in manifest.read_text() and "crashed" not in manifest.read_text()
    # The same script under a main guard works, and the manifest then holds every video as readable.
    script.write_text(
        UNGUARDED.format(data=str(data)).replace(
            "\nprepare_videos(", '\nif __name__ == "__main__":\n    prepare_videos('
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (manifest,) = tmp_path.rglob("manifest.json")
    assert manifest.read_text().count('"error": null') == 6
