"""Two processes on one run folder: the second is refused with one line naming the first (pid, host, start
time), the first is unaffected; a lock left by a killed run is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clipcop.engine.lock import LOCK_NAME, holder_of, lock_file_of, locked
from clipcop.errors import InUseError
from tests.cli.run import one_error_line, run_cli
from tests.hostile.helpers import snapshot
from tests.workflows.test_pretrain import TINY

HOLD = """
import sys, time
from clipcop.engine.lock import locked
with locked(sys.argv[1], folder=True):
    print("held", flush=True)
    time.sleep(120)
"""


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def _wait_for(predicate: object, what: str, seconds: float = 300.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_runs_on_one_out_the_second_is_refused_naming_the_first(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = workdir / "run"
    args = ["pretrain", "--data", tiny_synth, *TINY, "--epochs", 3, "--out", run]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(
        [sys.executable, "-m", "clipcop", *map(str, args), "--seed", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: holder_of(run, folder=True) is not None or first.poll() is not None, "the first run's lock")
        assert first.poll() is None, "the first run ended before the second could start"
        before = snapshot(tiny_synth)
        second = run_cli(capsys, *args, "--seed", "2")
        line = one_error_line(second)
        assert second.code == 2
        assert f"run folder {run} is in use by another clipcop process" in line
        assert f"pid {first.pid} on {socket.gethostname()}, started 20" in line
        assert snapshot(tiny_synth) == before
        _, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]  # the first run's history alone
    assert not (run / LOCK_NAME).exists()  # released at the end


def test_a_lock_another_live_process_holds_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(InUseError, match=rf"in use by another clipcop process \(pid {holder.pid} on "),
            locked(folder, folder=True),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with locked(folder, folder=True) as stale:  # the kernel released the killed holder's lock
        assert stale is not None and stale.pid == holder.pid  # its record is recognised as a killed run's


def test_a_stale_record_of_a_killed_run_is_taken_over_with_a_note(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = workdir / "run"
    run.mkdir()
    dead = _dead_pid()
    record = {"pid": dead, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00", "command": ""}
    (run / LOCK_NAME).write_text(json.dumps(record))
    result = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", run)
    assert result.code == 0, result.err
    assert f"taking over the lock of a run that was killed (pid {dead} on {socket.gethostname()}" in result.err
    assert (run / "best.safetensors").is_file() and not (run / LOCK_NAME).exists()


def test_a_lock_still_held_by_what_a_dead_holder_left_running_is_taken_over(tmp_path: Path) -> None:
    """A helper that inherited the lock outlives its killed parent: the lock is held, but its recorded
    holder is gone on this host, so it is taken over."""
    folder = tmp_path / "run"
    folder.mkdir()
    lock_file = lock_file_of(folder, folder=True)
    import fcntl

    orphan = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(orphan, fcntl.LOCK_EX | fcntl.LOCK_NB)
    dead = _dead_pid()
    os.write(orphan, json.dumps({"pid": dead, "host": socket.gethostname(), "started": "x"}).encode())
    try:
        with locked(folder, folder=True) as stale:
            assert stale is not None and stale.pid == dead
            assert holder_of(folder, folder=True).pid == os.getpid()  # type: ignore[union-attr]
    finally:
        os.close(orphan)


def test_a_live_holder_on_another_host_is_never_taken_over(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    lock_file = lock_file_of(folder, folder=True)
    import fcntl

    other = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(other, json.dumps({"pid": _dead_pid(), "host": "elsewhere", "started": "x"}).encode())
    try:
        with pytest.raises(InUseError, match=r"on elsewhere, started x"), locked(folder, folder=True):
            pass
    finally:
        os.close(other)


def test_one_process_may_enter_its_own_lock_again_and_a_refused_folder_is_not_left_behind(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    with locked(folder, folder=True), locked(folder, folder=True):
        assert (folder / LOCK_NAME).is_file()
    assert not folder.exists()  # made for the lock, nothing written: removed


HOLD_FILE = """
import sys, time
from clipcop.engine.lock import locked
with locked(sys.argv[1], folder=False, what="feature file " + sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_feature_file_being_written_is_locked(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.workflows.test_retrieval import GEOMETRY

    out = tmp_path / "f.safetensors"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        args = ["extract", "--random", "--arch", "r3d", "--data", tiny_synth, *GEOMETRY, "--subset", "test"]
        before = snapshot(tiny_synth)
        result = run_cli(capsys, *args, "--clips", 2, "--out", out)
        line = one_error_line(result)
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 2
    assert f"feature file {out} is in use by another clipcop process (pid {holder.pid} on " in line
    assert snapshot(tiny_synth) == before
    assert [p.name for p in tmp_path.iterdir()] == [".f.safetensors.lock"]  # the killed holder's; no rows, no file
