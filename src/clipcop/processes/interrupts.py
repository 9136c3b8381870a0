"""Ctrl-C that is never lost: the command line's SIGINT handler also remembers the interrupt.

Python raises KeyboardInterrupt wherever the main thread happens to be. When that is a finalizer (a
decoder's ``__del__`` freeing its reader as a batch is assembled), Python prints "Exception ignored" and
carries on, so a run went on training after Ctrl-C. The loops of clipcop call :func:`check` once per
batch, which raises again for an interrupt that was swallowed (the command line's ``main()`` runs every
command inside :func:`remembered`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""

_interrupted = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def remembered() -> Iterator[None]:
    """Inside the block SIGINT raises KeyboardInterrupt and is remembered for :func:`check`; the previous
    handler comes back after it.

    Only Python's default handler is replaced: a SIGINT the process inherited as ignored (a background
    job of a shell script) stays ignored, and one a host program handles stays its own. Only the main
    thread can change handlers: elsewhere nothing changes.
    """
    global _interrupted
    _interrupted = False
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted = False


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt arrived in the current :func:`remembered` block."""
    if _interrupted:
        raise KeyboardInterrupt
