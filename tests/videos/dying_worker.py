"""A probe whose module cannot be imported in a worker process, like a worker killed while starting.

The worker exits before it reads its first task, so that task is still unread in the pipe when it dies:
the parent's read then fails with a connection reset instead of an end of file.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from clipcop.videos.decoder import VideoInfo, probe_file

DIE = "CLIPCOP_TEST_WORKER_DIES"
"""Set in the parent after importing this module: every worker process that imports it exits."""

ONCE = "CLIPCOP_TEST_WORKERS_START_ONCE"
"""A folder: the first worker process to import this module works, every later one exits at start."""

SOME = "CLIPCOP_TEST_SOME_WORKERS_DIE"
"""A folder: worker processes 2 to 4 to import this module exit at start; the first and the later ones work."""

if os.environ.get(DIE):
    raise SystemExit(3)
if os.environ.get(SOME):
    tally = Path(os.environ[SOME])
    before = len(list(tally.iterdir()))
    (tally / str(os.getpid())).touch()
    if 1 <= before <= 3:
        raise SystemExit(4)
if os.environ.get(ONCE):
    marks = Path(os.environ[ONCE])
    started = any(marks.iterdir())
    (marks / str(os.getpid())).touch()
    if started:
        raise SystemExit(5)


def probe(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Probes normally (only ever called in the parent, where this module imports)."""
    return probe_file(path, backend)


def answer_then_die(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Probes, then the worker exits 0.2 s later while idle (like one killed between files), provided the
    caller waits longer than that before asking for the next outcome."""
    outcome = probe_file(path, backend)
    threading.Timer(0.2, lambda: os._exit(7)).start()
    return outcome


def slow_probe(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Probes, taking half a second, so that one worker cannot finish every file while others start."""
    time.sleep(0.5)
    return probe_file(path, backend)
