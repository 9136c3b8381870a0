"""A Ctrl-C that lands in a finalizer (Python prints "Exception ignored" and goes on) still stops clipcop."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from clipcop.processes import interrupts


class _Reader:
    """Like a decoder whose ``__del__`` frees its handle while the interrupt arrives."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the handler runs here, inside the finalizer, and Python ignores its raise
            pass


@pytest.fixture
def live_sigint() -> Iterator[None]:
    """Python's own SIGINT handler for the test, whatever launched the tests (a script's background job starts
    with SIGINT ignored, which clipcop keeps), then the disposition the test found."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.usefixtures("live_sigint")
def test_an_interrupt_swallowed_by_a_finalizer_is_raised_at_the_next_check() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupts.remembered():
        try:
            _Reader()  # dropped at once: its __del__ runs now
        except KeyboardInterrupt:
            pytest.fail("the interrupt escaped the finalizer; this test needs it swallowed there")
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # what every training, evaluation and extraction loop calls per batch
    interrupts.check()  # outside the block nothing is pending
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_sigint_stays_ignored() -> None:
    """A background job of a shell script starts with SIGINT ignored; clipcop must not re-enable it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.remembered():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
