"""Probing files in worker processes with a time limit, so a corrupt file can never hang or crash us.

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
from typing import Generic, TypeVar, cast

from clipcop.processes.children import SCRIPT_HINT, die_with_parent, sigint_ignored_in_children

T = TypeVar("T")

ProbeFn = Callable[[str, str], tuple[T | None, str | None]]
"""``(path, backend) -> (info, error)``; a top-level function so worker processes can import it."""


@dataclass(frozen=True)
class ProbeOutcome(Generic[T]):
    """The result of probing one file: ``info`` when readable, else ``error`` saying why. ``unprobed``: the
    file was never probed (its workers could not start), so the error says nothing of the file."""

    index: int
    info: T | None
    error: str | None
    unprobed: bool = False


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


def _worker_main(conn: Connection, backend: str, probe: ProbeFn[T], parent: int) -> None:
    die_with_parent(parent)
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


class _Pool(Generic[T]):
    """The worker processes of one :func:`probe_isolated` call and the files they have yet to probe."""

    def __init__(self, paths: Sequence[Path], *, backend: str, probe: ProbeFn[T], timeout: float) -> None:
        self.ctx = mp.get_context("spawn")
        self.backend, self.probe, self.timeout = backend, probe, timeout
        self.pending = deque(enumerate(paths))
        self.workers: list[_Worker] = []
        self.failures = 0  # workers in a row that died without a file, none starting in between
        self.last_exit: int | None = None  # how the last of them ended
        self.last_slow = False

    def spawn(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(
            target=_worker_main, args=(child, self.backend, self.probe, os.getpid()), daemon=True
        )
        with sigint_ignored_in_children():
            process.start()
        child.close()
        return _Worker(process, parent, spawned=time.monotonic())

    def busy(self) -> bool:
        """Whether workers are left and there is work for them (files pending or being probed)."""
        return bool(self.workers) and (bool(self.pending) or any(w.task is not None for w in self.workers))

    def hand_out(self) -> None:
        """Give the next pending file to each started, idle worker."""
        for worker in self.workers:
            if worker.ready and worker.task is None and self.pending:
                index, path = self.pending[0]
                try:
                    worker.conn.send((index, str(path)))
                except OSError:  # it died idle: found by collect()
                    continue
                self.pending.popleft()
                worker.task, worker.started = index, time.monotonic()

    def collect(self) -> Iterator[ProbeOutcome[T]]:
        """Wait up to a second for news, then take each worker's: a start, a result, a death or a hang."""
        news: list[Connection | int] = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
        wait(news, timeout=1.0)
        now = time.monotonic()
        retired: list[_Worker] = []  # given up on, not replaced
        for slot, worker in enumerate(self.workers):
            message = worker.receive()
            if message == READY:
                worker.ready, self.failures = True, 0
            elif message is not None:
                index, info, error = cast(tuple[int, T | None, str | None], message)
                worker.task = None
                yield ProbeOutcome(index, info, error)
            else:
                yield from self._check_silent(slot, worker, now, retired)
        self.workers = [w for w in self.workers if w not in retired]

    def _check_silent(
        self, slot: int, worker: _Worker, now: float, retired: list[_Worker]
    ) -> Iterator[ProbeOutcome[T]]:
        """Stop a worker that crashed or hung on its file (that file's verdict) or that died, or never
        finished starting, without a file (not a file's fault); replace it while files are pending."""
        died = not worker.process.is_alive()
        if worker.task is not None and (died or now - worker.started > self.timeout):
            worker.stop()
            exitcode = worker.process.exitcode
            reason = (
                f"decoder crashed (exit code {exitcode})"
                if died
                else f"decoding took longer than {self.timeout:.0f} s (killed)"
            )
            yield ProbeOutcome(worker.task, None, reason)
        elif worker.task is None and (died or (not worker.ready and now - worker.spawned > START_TIMEOUT)):
            worker.stop()
            self.failures, self.last_exit, self.last_slow = self.failures + 1, worker.process.exitcode, not died
            if self.failures >= START_FAILURES:
                retired.append(worker)
                return
        else:
            return
        if self.pending:
            self.workers[slot] = self.spawn()
        else:
            retired.append(worker)  # nothing left for a new one to do

    def unprobed(self) -> Iterator[ProbeOutcome[T]]:
        """The files left when no worker is left that could take them."""
        while self.pending:
            index, _ = self.pending.popleft()
            yield ProbeOutcome(index, None, start_failure(self.last_exit, slow=self.last_slow), unprobed=True)

    def close(self) -> None:
        """Ask the workers to finish, and kill those that do not within two seconds."""
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()


def probe_isolated(
    paths: Sequence[Path],
    *,
    probe: ProbeFn[T],
    workers: int = 2,
    timeout: float = 120.0,
    backend: str = "auto",
) -> Iterator[ProbeOutcome[T]]:
    """Probe every path with ``probe``, yielding one :class:`ProbeOutcome` per path as results arrive (any
    order).

    ``workers=0`` probes in this process (no protection against hangs; for tiny sets). ``probe`` must be
    importable by name from a fresh process; ``backend`` is handed to it with each path. A file is blamed
    only for a worker that crashed or hung on it; workers that die before taking a file are replaced,
    and after :data:`START_FAILURES` in a row the files left get :func:`start_failure` as their reason.
    """
    if workers <= 0:
        for index, path in enumerate(paths):
            info, error = probe(str(path), backend)
            yield ProbeOutcome(index, info, error)
        return
    pool = _Pool(paths, backend=backend, probe=probe, timeout=timeout)
    try:
        pool.workers = [pool.spawn() for _ in range(min(workers, len(paths)))]
        while pool.busy():
            pool.hand_out()
            yield from pool.collect()
        yield from pool.unprobed()
    finally:
        pool.close()
