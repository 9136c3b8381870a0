"""The one training seam of pretraining, both curricula and fine-tuning: open a run folder (its checks, its
``config.toml``, tracking, the device), hold out the validation videos, train with :func:`clipcop.engine.fit.fit`
keeping the checkpoint of lowest validation loss (Sec. IV-A), and record the test metrics on that checkpoint.

Each command adds only what is its own: its model, its datasets, its test. The sample curriculum's scoring
window trains through the same :func:`train` with callbacks and no run folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from clipcop.clips.datasets import VideoRef
from clipcop.config import RunSpec, TrainingSpec
from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import Checkpoint, save_checkpoint
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.engine.distributed import init_distributed, is_main
from clipcop.engine.evaluate import Select
from clipcop.engine.fit import Callback, FitConfig, FitResult, fit
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import (
    check_resume_settings,
    check_resume_validation,
    check_run_dir,
    run_lock,
    write_run_settings,
)
from clipcop.engine.tracking import NullTracker, Tracker, make_tracker
from clipcop.workflows.data import PreparedVideos, hold_out, listed_training, validation_fingerprint


@dataclass(frozen=True)
class RunKind:
    """What a training command's run folder is: the command that reruns it, the files it writes at its end,
    and the settings a ``--resume`` must keep."""

    command: str
    outputs: tuple[str, ...]
    resume_keys: tuple[str, ...]


@dataclass(frozen=True)
class OpenRun:
    """A run folder ready to train in: its device and its tracker."""

    run_dir: Path
    runtime: Runtime
    tracker: Tracker
    resume: bool


def open_run(
    kind: RunKind,
    run_dir: Path,
    config: Any,
    run: RunSpec,
    *,
    checks: Iterable[Callable[[], None]] = (),
) -> OpenRun:
    """Check ``run_dir`` (a new run never starts over another's files; a resume keeps its settings), run
    ``checks`` (cheap ones, before any video is read), write ``config.toml``, then set up tracking and the
    device (and torchrun's process group)."""
    check_run_dir(run_dir, run.resume, kind.outputs)
    if run.resume:
        check_resume_settings(run_dir, config.flat(), kind.resume_keys)
    for check in checks:
        check()
    write_run_settings(run_dir, config, kind.command)
    tracker = make_tracker(run.log, run_dir)  # before any work: a missing extra is said at once
    runtime = resolve_runtime(run.device, run.precision)
    init_distributed(runtime.device)
    return OpenRun(run_dir, runtime, tracker, run.resume)


def split_validation(
    prepared: PreparedVideos, training: TrainingSpec, opened: OpenRun, reporter: Reporter
) -> tuple[list[VideoRef], list[VideoRef]]:
    """Training and validation videos (``val_size`` held out, ranked over the split's whole training list);
    a resumed run must validate on the videos it validated on."""
    train, val = hold_out(prepared.train, training.val_size, reporter, listed=listed_training(prepared))
    if opened.resume:
        check_resume_validation(opened.run_dir, validation_fingerprint(val))
    return train, val


def make_optimizer(training: TrainingSpec, params: Any) -> torch.optim.Optimizer:
    """SGD with momentum and weight decay (the paper), or Adam (handy on tiny CPU runs)."""
    if training.optimizer == "adam":
        return torch.optim.Adam(params, lr=training.lr, weight_decay=training.weight_decay)
    return torch.optim.SGD(params, lr=training.lr, momentum=training.momentum, weight_decay=training.weight_decay)


def train(
    model: nn.Module,
    opened: OpenRun | None,
    *,
    train_set: Dataset[Batch],
    val_set: Dataset[Batch] | None,
    select: Select,
    training: TrainingSpec,
    workers: int,
    reporter: Reporter,
    unit: str,
    runtime: Runtime | None = None,
    params: Any = None,
    compile_model: bool = False,
    describe: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    callbacks: Sequence[Callback] = (),
    skip_lone_sample: bool = False,
    epoch_offset: int = 0,
) -> FitResult:
    """Train ``model`` (on the device) with ``training``'s optimiser, schedule and epochs.

    In ``opened``'s run folder each epoch is checkpointed (``describe`` gives the metadata), resumable and
    tracked; with ``opened`` None nothing is written (``runtime`` then names the device).
    """
    run_runtime = opened.runtime if opened is not None else runtime
    assert run_runtime is not None, "train() needs an open run or a runtime"
    optimizer = make_optimizer(training, model.parameters() if params is None else params)
    forward = cast(nn.Module, torch.compile(model)) if compile_model else model
    config = FitConfig(
        epochs=training.epochs,
        batch_size=training.batch_size,
        workers=workers,
        seed=training.seed,
        schedule=training.schedule,
        steps_per_epoch=training.steps_per_epoch,
        skip_lone_sample=skip_lone_sample,
        epoch_offset=epoch_offset,
    )
    return fit(
        forward,
        train_set=train_set,
        val_set=val_set,
        select=select,
        optimizer=optimizer,
        config=config,
        runtime=run_runtime,
        run_dir=opened.run_dir if opened is not None else None,
        describe=describe,
        resume=opened.resume if opened is not None else False,
        reporter=reporter,
        unit=unit,
        tracker=opened.tracker if opened is not None else NullTracker(),
        callbacks=callbacks,
    )


def checkpoint_meta(kind: str, info: dict[str, Any], **entries: Any) -> dict[str, Any]:
    """A training checkpoint's metadata through the card: the model's description ``entries`` and the
    epoch's ``info`` (epoch, step, and the train/val losses and accuracies)."""
    metrics = {k: info["metrics"][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    card = CheckpointCard.for_run(kind=kind, epoch=info["epoch"], step=info["step"], metrics=metrics, **entries)
    return card.to_meta()


def record_test_metrics(best: Checkpoint, **metrics: float) -> None:
    """Add the test metrics to the best checkpoint's card (rank 0 writes)."""
    if is_main():
        save_checkpoint(best.path, best.tensors, best.card.with_metrics(**metrics).to_meta())


__all__ = [
    "OpenRun",
    "RunKind",
    "checkpoint_meta",
    "make_optimizer",
    "open_run",
    "record_test_metrics",
    "run_lock",
    "split_validation",
    "train",
]
