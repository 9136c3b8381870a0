"""Probing videos in worker processes with a time limit, so a corrupt file can never hang or crash us.

A decoder that loops forever or segfaults on a damaged file takes only its worker process with it:
the file is reported as unreadable (by name) and a fresh worker carries on with the rest.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from clipcop.engine.children import SCRIPT_HINT, sigint_ignored_in_children
from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import VideoInfo, probe_video


@dataclass(frozen=True)
class ProbeOutcome:
    """The result of probing one file: ``info`` when readable, else ``error`` saying why. ``unprobed``: the
    file was never probed (its workers could not start), so the error says nothing of the file."""

    index: int
    info: VideoInfo | None
    error: str | None
    unprobed: bool = False


def probe_file(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    try:
        return probe_video(path, backend=backend), None
    except VideoDecodeError as err:
        return None, err.reason
    except Exception as err:  # any decoder failure is the file's problem, reported not raised
        return None, f"{type(err).__name__}: {err}"[:200]


ProbeFn = Callable[[str, str], tuple[VideoInfo | None, str | None]]
"""``(path, backend) -> (info, error)``; a top-level function so worker processes can import it."""


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while a file is probed, then back.

    decord and FFmpeg print their own lines (``video_reader.cc:83: ERROR opening ...``) for a bad file;
    the probe returns the reason and clipcop names the file once. Only in probing workers: they run
    one probe at a time, so no other thread's output is lost.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


READY = "ready"
"""A worker's first message: it has started (imports done) and takes files from now on."""


def _worker_main(conn: Connection, backend: str, probe: ProbeFn) -> None:
    conn.send(READY)
    while True:
        task = conn.recv()
        if task is None:
            return
        index, path = task
        with _stderr_silenced():
            info, error = probe(path, backend)
        conn.send((index, info, error))


START_FAILURES = 3
"""Workers in a row that die without a file (while starting, or idle) with none starting in between,
after which that slot gets no new worker; when no worker is left, the files left are reported as not
probed (never saved as their verdict)."""

START_TIMEOUT = 120.0
"""Seconds a worker may take to start (import its modules) before it is stopped and counts as failed."""


def start_failure(exitcode: int | None, *, slow: bool = False) -> str:
    """The reason given for files left unprobed because workers could not start (``slow``: we stopped them
    after :data:`START_TIMEOUT`); it says nothing of the file."""
    if slow:
        return f"probe workers did not start within {START_TIMEOUT:.0f} s (the machine may be overloaded)"
    return f"probe workers keep exiting at start (exit code {exitcode}); {SCRIPT_HINT}"


@dataclass(eq=False)  # compared by identity
class _Worker:
    process: BaseProcess
    conn: Connection
    spawned: float
    ready: bool = False
    task: int | None = None
    started: float = 0.0

    def receive(self) -> object | None:
        """The worker's next message, or None when there is none (or its pipe closed: it died)."""
        try:
            return self.conn.recv() if self.conn.poll() else None
        except (EOFError, OSError):
            return None

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)


def probe_isolated(
    paths: Sequence[Path],
    *,
    workers: int = 2,
    timeout: float = 120.0,
    backend: str = "auto",
    probe: ProbeFn | None = None,
) -> Iterator[ProbeOutcome]:
    """Probe every path, yielding one :class:`ProbeOutcome` per path as results arrive (any order).

    ``workers=0`` probes in this process (no protection against hangs; for tiny sets). ``probe``
    replaces the decoder probe (it must be importable by name from a fresh process). A file is blamed
    only for a worker that crashed or hung on it; workers that die before taking a file are replaced,
    and after :data:`START_FAILURES` in a row the files left get :func:`start_failure` as their reason.
    """
    probe = probe or probe_file
    if workers <= 0:
        for index, path in enumerate(paths):
            info, error = probe(str(path), backend)
            yield ProbeOutcome(index, info, error)
        return
    ctx = mp.get_context("spawn")
    pending = deque(enumerate(paths))
    pool: list[_Worker] = []
    failures = 0  # workers in a row that died without a file, none starting in between
    last_exit, last_slow = None, False  # how the last of them ended
    retired: list[_Worker] = []  # given up on, not replaced

    def spawn() -> _Worker:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child, backend, probe), daemon=True)
        with sigint_ignored_in_children():
            process.start()
        child.close()
        return _Worker(process, parent, spawned=time.monotonic())

    try:
        pool = [spawn() for _ in range(min(workers, len(paths)))]
        while pool and (pending or any(w.task is not None for w in pool)):
            for worker in pool:  # hand files to started, idle workers
                if worker.ready and worker.task is None and pending:
                    index, path = pending[0]
                    try:
                        worker.conn.send((index, str(path)))
                    except OSError:  # it died idle: found below
                        continue
                    pending.popleft()
                    worker.task, worker.started = index, time.monotonic()
            wait([w.conn for w in pool] + [w.process.sentinel for w in pool], timeout=1.0)  # type: ignore[arg-type]
            now = time.monotonic()
            for slot, worker in enumerate(pool):
                message = worker.receive()
                if message == READY:
                    worker.ready, failures = True, 0
                    continue
                if message is not None:
                    index, info, error = message  # type: ignore[misc]
                    worker.task = None
                    yield ProbeOutcome(index, info, error)
                    continue
                died = not worker.process.is_alive()
                if worker.task is not None and (died or now - worker.started > timeout):
                    worker.stop()  # it crashed or hung on its file: that file's verdict
                    exitcode = worker.process.exitcode
                    reason = (
                        f"decoder crashed (exit code {exitcode})"
                        if died
                        else f"decoding took longer than {timeout:.0f} s (killed)"
                    )
                    yield ProbeOutcome(worker.task, None, reason)
                elif worker.task is None and (died or (not worker.ready and now - worker.spawned > START_TIMEOUT)):
                    worker.stop()  # it died (or never finished starting) without a file: not a file's fault
                    failures, last_exit, last_slow = failures + 1, worker.process.exitcode, not died
                    if failures >= START_FAILURES:
                        retired.append(worker)
                        continue
                else:
                    continue
                if pending:
                    pool[slot] = spawn()
                else:
                    retired.append(worker)  # nothing left for a new one to do
            pool = [w for w in pool if w not in retired]
        while pending:  # no worker is left that could take them
            index, _ = pending.popleft()
            yield ProbeOutcome(index, None, start_failure(last_exit, slow=last_slow), unprobed=True)
    finally:
        for worker in pool:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in pool:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
