"""Helper processes: they leave Ctrl-C to the command, one that dies stops the work with a clear error,
and they die with the command.

A Ctrl-C in a terminal reaches every process of the foreground group. Without this, each freshly spawned
helper (still importing numpy or a decoder) would print its own KeyboardInterrupt traceback before the
command says ``clipcop: interrupted``; the command stops them itself when it ends. A command killed
outright (``kill -9``, the out-of-memory killer) cannot stop them: each helper then ends itself
(:func:`die_with_parent`), instead of living on under pid 1.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from clipcop.errors import HelperError

T = TypeVar("T")
R = TypeVar("R")

SCRIPT_HINT = (
    'if clipcop is called from a Python script, put the calls under `if __name__ == "__main__":` '
    "(helpers are spawned and import the script again)"
)
"""The usual reason spawned helpers die at once: a script without a main guard starts clipcop again in them."""


@contextlib.contextmanager
def sigint_ignored_in_children() -> Iterator[None]:
    """Processes started inside the block inherit an ignored SIGINT (a spawned Python then keeps it
    ignored); this process's own handler is restored at once. Only the main thread can change handlers:
    elsewhere the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal this process gets when its parent dies."""

PARENT_POLL_S = 1.0
"""How often a helper's watchdog checks that its parent is alive (where no death signal is available)."""


def _death_signal() -> bool:
    """Ask Linux for SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); False where not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)  # the parent is gone: this helper's work has no one to go to


def die_with_parent(parent: int) -> None:
    """Make this helper process end when its parent ``parent`` (a pid) dies, however it dies.

    On Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); a watchdog thread that notices the parent
    pid change (the helper is adopted by another process) covers other systems, and the parent dying
    before the request took effect. Called first in every helper (a pool's initializer).
    """
    _death_signal()
    if os.getppid() != parent:  # it died while this helper was starting
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="clipcop-parent-watch", daemon=True).start()


def spawned_map(fn: Callable[[T], R], tasks: Iterable[T], *, workers: int, what: str) -> Iterator[R]:
    """``map(fn, tasks)`` in order over ``workers`` spawned helper processes that ignore Ctrl-C.

    A helper that dies (a crash, or one that cannot start) raises :class:`HelperError` naming ``what``; a
    ``multiprocessing.Pool`` would replace it and wait for its lost task forever. When this process stops
    early (an error, Ctrl-C), the helpers are terminated, as ``Pool`` did, so ``fn`` must leave nothing
    half-written under a final name. A helper whose parent is killed ends itself (:func:`die_with_parent`).
    """
    pool = ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=die_with_parent, initargs=(os.getpid(),)
    )
    finished = False
    try:
        with sigint_ignored_in_children():  # the helpers start as the tasks are submitted
            results = pool.map(fn, tasks, chunksize=4)
        yield from results
        finished = True
    except BrokenProcessPool as err:
        raise HelperError(
            f"{what}: a helper process exited unexpectedly (a crash, or it could not start); {SCRIPT_HINT}"
        ) from err
    finally:
        if not finished:
            helpers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle on them
            pool.shutdown(wait=False, cancel_futures=True)
            for helper in helpers:
                helper.terminate()
        pool.shutdown(wait=True)
