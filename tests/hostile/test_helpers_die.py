"""Helper processes of ``data synth`` and ``data cache`` end when their command is killed outright
(``kill -9``): none is left running under pid 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _children(pid: int) -> set[int]:
    """The pids of the live processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


ROOT = Path(__file__).resolve().parents[2]

SPAWNED_MAP = """
from clipcop.processes.children import spawned_map
from tests.hostile.helpers import sleep_long
if __name__ == "__main__":
    list(spawned_map(sleep_long, [120.0] * 4, workers=2, what="sleeping"))
"""

WATCHDOG = """
import multiprocessing as mp, os
from concurrent.futures import ProcessPoolExecutor
from tests.hostile.helpers import sleep_long, watchdog_only
if __name__ == "__main__":
    spawn = mp.get_context("spawn")
    pool = ProcessPoolExecutor(2, mp_context=spawn, initializer=watchdog_only, initargs=(os.getpid(),))
    list(pool.map(sleep_long, [120.0] * 2))
"""


def _kill_parent_and_watch(command: list[str], wanted: int) -> None:
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    parent = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        helpers: set[int] = set()
        while len(helpers) < wanted:
            assert parent.poll() is None, "the command ended before its helpers started"
            assert time.monotonic() < deadline, "no helpers started"
            time.sleep(0.1)
            helpers = _children(parent.pid)
        time.sleep(1.0)  # helpers past their start-up
        helpers = _children(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10  # generous: they die at once on Linux, within a second elsewhere
        while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in helpers if _alive(pid)]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"helpers {left} outlived their killed parent"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads helper processes from /proc")
def test_data_synth_helpers_die_with_it(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    command = [sys.executable, "-m", "clipcop", "data", "synth", str(out), "--classes", "10"]
    _kill_parent_and_watch([*command, "--videos-per-class", "40", "--frames", "200", "--workers", "3"], wanted=3)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads helper processes from /proc")
def test_helpers_busy_with_a_long_task_die_with_their_parent() -> None:
    """The helpers of ``data cache`` and ``data synth`` (:func:`spawned_map`), each in a task that would
    run two more minutes."""
    _kill_parent_and_watch([sys.executable, "-c", SPAWNED_MAP], wanted=2)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads helper processes from /proc")
def test_the_portable_watchdog_alone_ends_them_too() -> None:
    """Where the system has no death signal, each helper's watchdog notices its parent is gone."""
    _kill_parent_and_watch([sys.executable, "-c", WATCHDOG], wanted=2)
