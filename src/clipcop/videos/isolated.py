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

from clipcop.engine.children import sigint_ignored_in_children
from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import VideoInfo, probe_video


@dataclass(frozen=True)
class ProbeOutcome:
    """The result of probing one file: ``info`` when readable, else ``error`` saying why."""

    index: int
    info: VideoInfo | None
    error: str | None


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


def _worker_main(conn: Connection, backend: str, probe: ProbeFn) -> None:
    while True:
        task = conn.recv()
        if task is None:
            return
        index, path = task
        with _stderr_silenced():
            info, error = probe(path, backend)
        conn.send((index, info, error))


IDLE_DEATHS = 3
"""Workers found dead before they took a file, in a row, after which that file is reported, not retried."""


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: int | None = None
    started: float = 0.0


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
    replaces the decoder probe (it must be importable by name from a fresh process).
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
    idle_deaths = 0

    def spawn() -> _Worker:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child, backend, probe), daemon=True)
        with sigint_ignored_in_children():
            process.start()
        child.close()
        return _Worker(process, parent)

    try:
        pool = [spawn() for _ in range(min(workers, len(paths)))]
        while pending or any(w.task is not None for w in pool):
            for slot, worker in enumerate(pool):
                if worker.task is None and pending:
                    index, path = pending[0]
                    try:
                        worker.conn.send((index, str(path)))
                    except OSError:  # the worker died idle: not this file's fault, so retry it elsewhere
                        worker.process.join(5)
                        code = worker.process.exitcode
                        pool[slot] = spawn()
                        idle_deaths += 1
                        if idle_deaths > IDLE_DEATHS:  # workers die before reading anything: give up on this file
                            pending.popleft()
                            idle_deaths = 0
                            yield ProbeOutcome(index, None, f"probe workers keep exiting at start (exit code {code})")
                        continue
                    pending.popleft()
                    worker.task, worker.started = index, time.monotonic()
            busy = [w for w in pool if w.task is not None]
            handles: list[object] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            wait(handles, timeout=1.0)  # type: ignore[arg-type]
            now = time.monotonic()
            for slot, worker in enumerate(pool):
                if worker.task is None:
                    continue
                if worker.conn.poll():
                    try:
                        index, info, error = worker.conn.recv()
                    except (EOFError, OSError):  # the worker died; its pipe closed (or reset) without an answer
                        pass
                    else:
                        worker.task, idle_deaths = None, 0
                        yield ProbeOutcome(index, info, error)
                        continue
                died = not worker.process.is_alive() or worker.conn.closed
                late = now - worker.started > timeout
                if died or late:
                    worker.process.join(0.5)
                    reason = (
                        f"decoder crashed (exit code {worker.process.exitcode})"
                        if died
                        else f"decoding took longer than {timeout:.0f} s (killed)"
                    )
                    task = worker.task
                    worker.process.kill()
                    worker.process.join(5)
                    pool[slot] = spawn()
                    yield ProbeOutcome(task, None, reason)
    finally:
        for worker in pool:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in pool:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
