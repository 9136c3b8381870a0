"""Helper processes that leave Ctrl-C to the command: they start with SIGINT ignored.

A Ctrl-C in a terminal reaches every process of the foreground group. Without this, each freshly spawned
helper (still importing numpy or a decoder) would print its own KeyboardInterrupt traceback before the
command says ``clipcop: interrupted``; the command stops them itself when it ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


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
