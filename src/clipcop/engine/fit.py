"""The training loop shared by pretraining (order classes) and fine-tuning (action classes).

Per epoch: train, validate, append one JSON line to ``metrics.jsonl``, write ``last.safetensors`` with its
training state, and ``best.safetensors`` when the validation loss is the lowest so far (Sec. IV-A keeps
the model with the lowest validation loss). A run killed at any moment restarts with ``resume=True`` from
the last completed epoch and ends with the same weights and metrics as an uninterrupted run (on the CPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from clipcop.config import SCHEDULES
from clipcop.engine.device import Runtime
from clipcop.engine.distributed import (
    barrier,
    is_main,
    rank,
    world_size,
    wrap_ddp,
)
from clipcop.engine.epoch import Observe, train_one_epoch
from clipcop.engine.evaluate import EvalResult, Select, evaluate_classifier
from clipcop.engine.fit_state import Progress, save_epoch, start_run, unwrap
from clipcop.engine.loading import Batch, make_loader
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import (
    read_metrics,
)
from clipcop.engine.sampler import EpochSampler
from clipcop.engine.tracking import Tracker, is_tracking
from clipcop.errors import DataError, TrainingError, UsageError


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    """Loop settings. ``batch_size`` is global: under torchrun each process takes an equal share."""

    epochs: int
    batch_size: int
    workers: int = 2
    seed: int = 0
    schedule: str = "constant"
    steps_per_epoch: int | None = None
    epoch_offset: int = 0
    """Added to the epoch number the sampler and the data see: the sample curriculum's window continues a
    run, and draws other tuples than that run's epochs did."""
    skip_lone_sample: bool = False
    """Leave out an epoch's last batch when it would hold one sample: batch norm cannot train on a single
    clip once its feature maps are 1x1x1 (small crops), so classifiers set this; a VCOP tuple is tl clips."""

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise UsageError(f"epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 1:
            raise UsageError(f"batch size must be at least 1, not {self.batch_size}")
        if self.workers < 0:
            raise UsageError(f"workers must be 0 or more, not {self.workers}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")


@dataclass
class FitResult:
    """What a finished run left: its folder, best epoch and loss, and every epoch's metrics."""

    run_dir: Path | None
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int | None = None
    steps_per_epoch: int = 0
    """The steps each epoch ran (``--steps-per-epoch`` may cut it)."""
    full_steps: int = 0
    """The steps of a whole pass over this process's share of the training set."""


def _make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1))),
        )
    if schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=0.1, patience=50, min_lr=1e-5)
    return None


class Callback:
    """Hooks into :func:`fit`: ``on_step`` sees each training step's ``(batch, logits, targets)`` (detached, on
    the device), ``on_epoch_end`` each epoch's record before it is saved. Subclass and override either."""

    def on_step(self, batch: Batch, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """Called after every training step."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        """Called after every epoch (after validation, when there is one); may add keys to ``record``."""


def _steps_per_epoch(config: FitConfig, samples: int, local_batch: int) -> tuple[int, int]:
    """``(steps, full)``: the steps an epoch runs, and the steps a whole pass over this process's share takes."""
    full = steps = math.ceil(samples / local_batch)
    if config.skip_lone_sample and local_batch > 1 and samples % local_batch == 1:
        steps -= 1  # a different sample is left out each epoch (the order is shuffled)
        if steps == 0:
            raise DataError("training needs at least 2 samples per process: batch norm cannot train on one")
    if config.steps_per_epoch is not None:
        steps = min(steps, config.steps_per_epoch)
    return steps, full


def fit(
    model: nn.Module,
    *,
    train_set: Dataset[Batch],
    val_set: Dataset[Batch] | None,
    select: Select,
    optimizer: torch.optim.Optimizer,
    config: FitConfig,
    runtime: Runtime,
    run_dir: Path | None,
    describe: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    resume: bool = False,
    reporter: Reporter | None = None,
    unit: str = "samples",
    tracker: Tracker | None = None,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train ``model`` (already on ``runtime.device``) and keep best/last checkpoints in ``run_dir``.

    ``select`` maps a batch to ``(uint8 inputs, targets)``; ``describe(info)`` returns the checkpoint
    metadata for ``info = {"epoch", "step", "metrics"}``. ``tracker`` (rank 0's is used) receives every
    step's loss and learning rate and every epoch's metrics; ``fit`` closes it when training ends or fails.
    Without ``val_set`` no epoch is validated (nor "best"); without ``run_dir`` nothing is written (no
    checkpoint, no ``metrics.jsonl``, no resume): the sample curriculum's scoring window trains that way.
    """
    reporter = reporter or Reporter()
    logged = tracker if is_tracking(tracker) and is_main() else None  # None: no per-step loss read
    world = world_size()
    if config.batch_size % world:
        raise UsageError(f"batch size {config.batch_size} must divide evenly over {world} processes")
    local_batch = config.batch_size // world
    sampler = EpochSampler(len(train_set), shuffle=True, seed=config.seed, rank=rank(), world_size=world)  # type: ignore[arg-type]
    loader = make_loader(
        train_set, sampler, batch_size=local_batch, workers=config.workers, runtime=runtime, persistent=True
    )
    steps, full_steps = _steps_per_epoch(config, len(sampler), local_batch)
    scheduler = _make_scheduler(optimizer, config.schedule, steps * config.epochs)
    progress = Progress() if run_dir is None else start_run(run_dir, resume, model, optimizer, scheduler, reporter)
    train_model = wrap_ddp(model, runtime.device)
    history = [] if run_dir is None else [m for m in read_metrics(run_dir) if m["epoch"] < progress.start_epoch]

    def observe(batch: Batch, logits: torch.Tensor, targets: torch.Tensor) -> None:
        for callback in callbacks:
            callback.on_step(batch, logits, targets)

    try:
        for epoch in range(progress.start_epoch, config.epochs + 1):
            sampler.set_epoch(config.epoch_offset + epoch)
            record = train_one_epoch(
                train_model,
                loader,
                select,
                optimizer,
                scheduler,
                runtime,
                reporter,
                epoch=epoch,
                epochs=config.epochs,
                steps=steps,
                unit=unit,
                world=world,
                observe=observe if callbacks else None,
                tracker=logged,
                steps_before=progress.step,
            )
            progress.step += record.pop("steps")
            check_finite(epoch, "training", record["train_loss"])
            improved = _validate(model, val_set, select, runtime, config, local_batch, record, progress, epoch)
            _close_epoch(record, optimizer, scheduler, progress if val_set is not None else None, callbacks, logged)
            history.append(record)
            if run_dir is not None and describe is not None and is_main():
                save_epoch(run_dir, model, optimizer, scheduler, describe, record, improved, progress)
            barrier()
            reporter.info(_epoch_line(record, config.epochs, unit, improved))
    finally:
        if tracker is not None:
            tracker.close()
    return FitResult(
        run_dir, progress.best_epoch, progress.best_loss, history, progress.resumed_from, steps, full_steps
    )


def _validate(
    model: nn.Module,
    val_set: Dataset[Batch] | None,
    select: Select,
    runtime: Runtime,
    config: FitConfig,
    local_batch: int,
    record: dict[str, Any],
    progress: Progress,
    epoch: int,
) -> bool:
    """Validate (when there is a validation set) into ``record``; whether the epoch is the best so far."""
    record.update(epoch=epoch, step=progress.step)
    if val_set is None:
        return False
    val = evaluate_classifier(model, val_set, select, runtime, batch_size=local_batch, workers=config.workers)
    check_finite(epoch, "validation", val.mean_loss)
    record.update(val_loss=val.mean_loss, val_acc=val.accuracy)
    improved = val.mean_loss < progress.best_loss
    if improved:
        progress.best_loss, progress.best_epoch = val.mean_loss, epoch
    return improved


def _close_epoch(
    record: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    validated: Progress | None,
    callbacks: Sequence[Callback],
    tracker: Tracker | None,
) -> None:
    """The epoch's learning rate and best epoch into ``record``, the plateau schedule stepped, then the
    callbacks and the tracker see the record."""
    record["lr"] = optimizer.param_groups[0]["lr"]
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(record["val_loss"])
    if validated is not None:
        record["best_epoch"] = validated.best_epoch
    for callback in callbacks:
        callback.on_epoch_end(record["epoch"], record)
    if tracker is not None:
        numbers = {k: float(v) for k, v in record.items() if k not in ("epoch", "step") and _is_number(v)}
        tracker.epoch(record["epoch"], numbers, global_step=record["step"])


def _epoch_line(record: dict[str, Any], epochs: int, unit: str, improved: bool) -> str:
    """The progress line of a finished epoch."""
    val = f"val loss {record['val_loss']:.4f} acc {record['val_acc']:.3f}  " if "val_loss" in record else ""
    return (
        f"epoch {record['epoch']}/{epochs}  train loss {record['train_loss']:.4f} acc {record['train_acc']:.3f}  "
        f"{val}{record['throughput']:.1f} {unit}/s  data wait {record['data_wait_s']:.1f}s"
        + ("  *best*" if improved else "")
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_finite(epoch: int, which: str, loss: float) -> None:
    """Stop a run whose loss became NaN or infinite: every later epoch would only write NaN."""
    if not math.isfinite(loss):
        raise TrainingError(f"training diverged at epoch {epoch}: the {which} loss is {loss}; lower --lr")


__all__ = [
    "Callback",
    "EvalResult",
    "FitConfig",
    "FitResult",
    "Observe",
    "check_finite",
    "fit",
    "train_one_epoch",
    "unwrap",
]
