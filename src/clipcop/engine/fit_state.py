"""A training run's state on disk: where it stands (epoch, step, best validation loss), how a run folder is
opened or resumed, and how an epoch is saved so that a kill at any moment loses at most that epoch.

Used by :func:`clipcop.engine.fit.fit`; a resumed run ends with the same weights and metrics as an
uninterrupted one (on the CPU).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from clipcop.engine.atomic import append_line, write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, save_checkpoint
from clipcop.engine.distributed import barrier, broadcast_object, is_main
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import (
    BEST,
    LAST,
    METRICS,
    STATE_PATTERN,
    check_run_dir,
    read_metrics,
    state_path,
    taken_files,
)
from clipcop.engine.state import COUNTERS, load_state, save_state
from clipcop.errors import CheckpointError


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP and ``torch.compile`` wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


@dataclass
class Progress:
    """Where a run stands: the next epoch, the global step, and the best validation loss so far."""

    start_epoch: int = 1
    step: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    resumed_from: int | None = None


def resume_run(
    run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, reporter: Reporter
) -> dict[str, Any]:
    ckpt = load_checkpoint(run_dir / LAST)
    try:
        unwrap(model).load_state_dict(ckpt.tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{run_dir / LAST} does not fit this model ({str(err).splitlines()[0]})") from None
    state = state_path(run_dir)
    if state is None:
        raise CheckpointError(f"{run_dir / LAST} has no matching training state file; cannot resume")
    counters = load_state(state, optimizer=optimizer, scheduler=scheduler, need=tuple(COUNTERS))
    kept = [m for m in read_metrics(run_dir) if m["epoch"] <= counters["epoch"]]
    if is_main():
        write_text_atomic(run_dir / METRICS, "".join(json.dumps(m) + "\n" for m in kept))  # never half a history
    reporter.note(f"resuming {run_dir} after epoch {counters['epoch']} (step {counters['step']})")
    return counters


def start_run(
    run_dir: Path, resume: bool, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, reporter: Reporter
) -> Progress:
    """Open ``run_dir`` for a new run, or continue the one it holds when ``resume``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_dir(run_dir, resume)
    if resume and (run_dir / LAST).exists():
        counters = resume_run(run_dir, model, optimizer, scheduler, reporter)
        return Progress(
            counters["epoch"] + 1,
            counters["step"],
            counters["best_val_loss"],
            counters["best_epoch"],
            counters["epoch"],
        )
    if resume:
        # check_run_dir let them through: a first epoch cut short while saving. Rank 0 looks and deletes;
        # the others follow its decision (they might look after it deleted).
        if broadcast_object(bool(taken_files(run_dir, ())) if is_main() else None):
            if is_main():
                for name in taken_files(run_dir, ()):
                    (run_dir / name).unlink(missing_ok=True)
            barrier()
            reporter.note(f"{run_dir}: its first epoch was cut short while saving; starting the run over")
        else:
            reporter.note(f"nothing to resume in {run_dir}: starting a new run")
    return Progress()


def save_epoch(
    run_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    describe: Callable[[dict[str, Any]], dict[str, Any]],
    record: dict[str, Any],
    improved: bool,
    progress: Progress,
) -> None:
    """Metrics line, epoch-named state, then weights pointing at that state, then old states go.

    A kill at any point leaves ``last.safetensors`` and the state it names from the same epoch (at worst
    the previous one, which is then repeated); a metrics line past that epoch is dropped on resume.
    """
    append_line(run_dir / METRICS, json.dumps(record))
    counters = {
        "epoch": record["epoch"],
        "step": record["step"],
        "best_val_loss": progress.best_loss,
        "best_epoch": progress.best_epoch,
    }
    state = STATE_PATTERN.format(epoch=record["epoch"])
    save_state(run_dir / state, optimizer=optimizer, scheduler=scheduler, counters=counters)
    tensors = unwrap(model).state_dict()
    meta = describe({"epoch": record["epoch"], "step": record["step"], "metrics": record})
    if improved:
        save_checkpoint(run_dir / BEST, tensors, meta)
    save_checkpoint(run_dir / LAST, tensors, {**meta, "resume_state": state})
    for old in run_dir.glob("last.state.e*.safetensors"):
        if old.name != state:
            old.unlink(missing_ok=True)
