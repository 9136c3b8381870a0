"""Live training curves for an experiment tracker, written beside ``metrics.jsonl`` from the training loop.

``metrics.jsonl`` stays the record of a run (resume, reports and plots read it); a tracker only mirrors
the loop's numbers for a live view: per step the training loss and learning rate, per epoch the numeric
values of the epoch's metrics line. ``--log tensorboard`` writes TensorBoard event files into
``<run>/tensorboard`` (the optional extra ``clipcop[tensorboard]``); without ``--log`` nothing is written.

Every value, epoch values too, is written at the global training step, so step and epoch curves share
an x axis and a resumed run can discard what a killed run logged past its resume point: the first value
a :class:`TensorBoardTracker` writes purges every earlier-written event at or after its step (TensorBoard's
``purge_step``). A resumed run appends a new event file; TensorBoard merges a folder's files.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from clipcop.config import LOGGERS
from clipcop.engine.distributed import is_main
from clipcop.errors import UsageError

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter


TENSORBOARD_DIR = "tensorboard"
INSTALL_HINT = "--log tensorboard needs TensorBoard: pip install 'clipcop[tensorboard]'"


class Tracker(Protocol):
    """Receives a run's numbers as training makes them."""

    def step(self, global_step: int, values: Mapping[str, float]) -> None:
        """Values of training step ``global_step`` (1 for a run's first step), e.g. ``loss`` and ``lr``."""

    def epoch(self, epoch: int, values: Mapping[str, float], *, global_step: int) -> None:
        """Values of a finished epoch, after ``global_step`` training steps in all."""

    def close(self) -> None:
        """Write out what is pending and release files; the tracker is not used afterwards."""


class NullTracker:
    """Keeps nothing: runs without ``--log``, and every process but rank 0 under torchrun."""

    def step(self, global_step: int, values: Mapping[str, float]) -> None:
        """Ignore ``values``."""

    def epoch(self, epoch: int, values: Mapping[str, float], *, global_step: int) -> None:
        """Ignore ``values``."""

    def close(self) -> None:
        """Nothing to release."""


class TensorBoardTracker:
    """Scalars ``step/<name>`` and ``epoch/<name>`` in TensorBoard event files under ``run_dir/tensorboard``.

    The writer opens at the first value, with ``purge_step`` at that value's step: on loading, TensorBoard
    drops events of earlier files (a killed run's) at or after the step where this run resumed.
    """

    def __init__(self, run_dir: Path) -> None:
        self.log_dir = Path(run_dir) / TENSORBOARD_DIR
        self._writer: SummaryWriter | None = None
        self._closed = False

    def _open(self, first_step: int) -> SummaryWriter | None:
        if self._closed:
            return None
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.log_dir), purge_step=first_step)
        return self._writer

    def step(self, global_step: int, values: Mapping[str, float]) -> None:
        """Write ``step/<name>`` scalars at ``global_step``."""
        self._write("step", global_step, values)

    def epoch(self, epoch: int, values: Mapping[str, float], *, global_step: int) -> None:
        """Write ``epoch/<name>`` scalars (``epoch/epoch`` among them) at ``global_step``."""
        self._write("epoch", global_step, {"epoch": float(epoch), **values})

    def _write(self, prefix: str, global_step: int, values: Mapping[str, float]) -> None:
        writer = self._open(global_step)
        if writer is None:
            return
        for name, value in values.items():
            writer.add_scalar(f"{prefix}/{name}", float(value), global_step)

    def close(self) -> None:
        """Flush and close the event file (a no-op when nothing was written)."""
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def make_tracker(kind: str | None, run_dir: Path) -> Tracker:
    """The tracker for ``--log kind`` (None: no tracking); cheap, so a bad choice fails before training.

    Processes other than rank 0 get a :class:`NullTracker`: only rank 0 writes files.
    """
    if kind is None:
        return NullTracker()
    if kind not in LOGGERS:
        raise UsageError(f"unknown --log {kind!r}; choose one of {', '.join(LOGGERS)}")
    if not tensorboard_available():
        raise UsageError(INSTALL_HINT)
    if not is_main():
        return NullTracker()
    try:
        import torch.utils.tensorboard  # noqa: F401  (fails here, not mid-run, on a broken installation)
    except ImportError as err:
        raise UsageError(f"{INSTALL_HINT} ({err})") from None
    return TensorBoardTracker(run_dir)


def is_tracking(tracker: Tracker | None) -> bool:
    """Whether ``tracker`` keeps anything (not None and not a :class:`NullTracker`)."""
    return tracker is not None and not isinstance(tracker, NullTracker)


__all__ = [
    "INSTALL_HINT",
    "LOGGERS",
    "TENSORBOARD_DIR",
    "NullTracker",
    "TensorBoardTracker",
    "Tracker",
    "is_tracking",
    "make_tracker",
    "tensorboard_available",
]
