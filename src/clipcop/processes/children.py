"""Helper processes: they leave Ctrl-C to the command, and one that dies stops the work with a clear error.

A Ctrl-C in a terminal reaches every process of the foreground group. Without this, each freshly spawned
helper (still importing numpy or a decoder) would print its own KeyboardInterrupt traceback before the
command says ``clipcop: interrupted``; the command stops them itself when it ends.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import threading
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


def spawned_map(fn: Callable[[T], R], tasks: Iterable[T], *, workers: int, what: str) -> Iterator[R]:
    """``map(fn, tasks)`` in order over ``workers`` spawned helper processes that ignore Ctrl-C.

    A helper that dies (a crash, or one that cannot start) raises :class:`HelperError` naming ``what``; a
    ``multiprocessing.Pool`` would replace it and wait for its lost task forever. When this process stops
    early (an error, Ctrl-C), the helpers are terminated, as ``Pool`` did, so ``fn`` must leave nothing
    half-written under a final name.
    """
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
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
