"""The training loop shared by pretraining (order classes) and fine-tuning (action classes).

Per epoch: train, validate, append one JSON line to ``metrics.jsonl``, write ``last.safetensors`` with its
training state, and ``best.safetensors`` when the validation loss is the lowest so far (Sec. IV-A keeps
the model with the lowest validation loss). A run killed at any moment restarts with ``resume=True`` from
the last completed epoch and ends with the same weights and metrics as an uninterrupted run (on the CPU).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, save_checkpoint
from clipcop.engine.device import Runtime
from clipcop.engine.distributed import (
    all_reduce_sum,
    barrier,
    broadcast_object,
    is_main,
    rank,
    world_size,
    wrap_ddp,
)
from clipcop.engine.evaluate import EvalResult, Select, evaluate_classifier
from clipcop.engine.loading import Batch, make_loader
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
from clipcop.engine.sampler import EpochSampler
from clipcop.engine.state import load_state, save_state
from clipcop.engine.tracking import Tracker, is_tracking
from clipcop.errors import CheckpointError, DataError, TrainingError, UsageError
from clipcop.processes import interrupts

SCHEDULES = ("constant", "cosine", "plateau")

Observe = Callable[[Batch, torch.Tensor, torch.Tensor], None]
"""Sees ``(batch, logits, targets)`` of each training step; the tensors are detached, on the device."""


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    """Loop settings. ``batch_size`` is global: under torchrun each process takes an equal share."""

    epochs: int
    batch_size: int
    workers: int = 2
    seed: int = 0
    schedule: str = "constant"
    steps_per_epoch: int | None = None
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

    run_dir: Path
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int | None = None


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP and ``torch.compile`` wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


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


def _resume(
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
    counters = load_state(state, optimizer=optimizer, scheduler=scheduler)
    kept = [m for m in read_metrics(run_dir) if m["epoch"] <= counters["epoch"]]
    if is_main():
        write_text_atomic(run_dir / METRICS, "".join(json.dumps(m) + "\n" for m in kept))  # never half a history
    reporter.note(f"resuming {run_dir} after epoch {counters['epoch']} (step {counters['step']})")
    return counters


def fit(  # noqa: C901
    model: nn.Module,
    *,
    train_set: Dataset[Batch],
    val_set: Dataset[Batch],
    select: Select,
    optimizer: torch.optim.Optimizer,
    config: FitConfig,
    runtime: Runtime,
    run_dir: Path,
    describe: Callable[[dict[str, Any]], dict[str, Any]],
    resume: bool = False,
    reporter: Reporter | None = None,
    unit: str = "samples",
    tracker: Tracker | None = None,
) -> FitResult:
    """Train ``model`` (already on ``runtime.device``) and keep best/last checkpoints in ``run_dir``.

    ``select`` maps a batch to ``(uint8 inputs, targets)``; ``describe(info)`` returns the checkpoint
    metadata for ``info = {"epoch", "step", "metrics"}``. ``tracker`` (rank 0's is used) receives every
    step's loss and learning rate and every epoch's metrics; ``fit`` closes it when training ends or fails.
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
    steps = math.ceil(len(sampler) / local_batch)
    if config.skip_lone_sample and local_batch > 1 and len(sampler) % local_batch == 1:
        steps -= 1  # a different sample is left out each epoch (the order is shuffled)
        if steps == 0:
            raise DataError("training needs at least 2 samples per process: batch norm cannot train on one")
    if config.steps_per_epoch is not None:
        steps = min(steps, config.steps_per_epoch)
    scheduler = _make_scheduler(optimizer, config.schedule, steps * config.epochs)
    run_dir.mkdir(parents=True, exist_ok=True)

    start_epoch, step, best_loss, best_epoch, resumed_from = 1, 0, math.inf, 0, None
    check_run_dir(run_dir, resume)
    if resume and (run_dir / LAST).exists():
        counters = _resume(run_dir, model, optimizer, scheduler, reporter)
        start_epoch, step = counters["epoch"] + 1, counters["step"]
        best_loss, best_epoch = counters["best_val_loss"], counters["best_epoch"]
        resumed_from = counters["epoch"]
    elif resume:
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

    train_model = wrap_ddp(model, runtime.device)

    history = [m for m in read_metrics(run_dir) if m["epoch"] < start_epoch]
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            sampler.set_epoch(epoch)
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
                tracker=logged,
                steps_before=step,
            )
            step += record.pop("steps")
            check_finite(epoch, "training", record["train_loss"])
            val = evaluate_classifier(model, val_set, select, runtime, batch_size=local_batch, workers=config.workers)
            check_finite(epoch, "validation", val.mean_loss)
            record.update(epoch=epoch, step=step, val_loss=val.mean_loss, val_acc=val.accuracy)
            record["lr"] = optimizer.param_groups[0]["lr"]
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val.mean_loss)
            improved = val.mean_loss < best_loss
            if improved:
                best_loss, best_epoch = val.mean_loss, epoch
            record["best_epoch"] = best_epoch
            history.append(record)
            if logged is not None:
                numbers = {k: float(v) for k, v in record.items() if k not in ("epoch", "step") and _is_number(v)}
                logged.epoch(epoch, numbers, global_step=step)
            if is_main():
                _save_epoch(run_dir, model, optimizer, scheduler, describe, record, improved, best_loss, best_epoch)
            barrier()
            reporter.info(
                f"epoch {epoch}/{config.epochs}  train loss {record['train_loss']:.4f} acc {record['train_acc']:.3f}  "
                f"val loss {val.mean_loss:.4f} acc {val.accuracy:.3f}  "
                f"{record['throughput']:.1f} {unit}/s  data wait {record['data_wait_s']:.1f}s"
                + ("  *best*" if improved else "")
            )
    finally:
        if tracker is not None:
            tracker.close()
    return FitResult(run_dir, best_epoch, best_loss, history, resumed_from)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_finite(epoch: int, which: str, loss: float) -> None:
    """Stop a run whose loss became NaN or infinite: every later epoch would only write NaN."""
    if not math.isfinite(loss):
        raise TrainingError(f"training diverged at epoch {epoch}: the {which} loss is {loss}; lower --lr")


def _save_epoch(
    run_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    describe: Callable[[dict[str, Any]], dict[str, Any]],
    record: dict[str, Any],
    improved: bool,
    best_loss: float,
    best_epoch: int,
) -> None:
    """Metrics line, epoch-named state, then weights pointing at that state, then old states go.

    A kill at any point leaves ``last.safetensors`` and the state it names from the same epoch (at worst
    the previous one, which is then repeated); a metrics line past that epoch is dropped on resume.
    """
    with open(run_dir / METRICS, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    counters = {"epoch": record["epoch"], "step": record["step"], "best_val_loss": best_loss, "best_epoch": best_epoch}
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


def train_one_epoch(  # noqa: C901
    model: nn.Module,
    loader: Any,
    select: Select,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    runtime: Runtime,
    reporter: Reporter,
    *,
    epoch: int,
    epochs: int,
    steps: int,
    unit: str,
    world: int,
    observe: Observe | None = None,
    tracker: Tracker | None = None,
    steps_before: int = 0,
) -> dict[str, Any]:
    """Train ``model`` for one pass over ``loader`` (at most ``steps`` steps) and return its metrics.

    The loader's sampler must already be set to ``epoch``. Throughput, data-wait and compute time
    (GPU busy time from CUDA events on GPUs) are measured on the way. ``observe(batch, logits, targets)``
    sees every training prediction (detached), e.g. to score samples as they train. ``tracker`` receives
    each step's loss and learning rate at global step ``steps_before + n`` (this process's loss; reading it
    waits for the GPU, so only a tracker pays that).
    """
    model.train()
    cuda = runtime.device.type == "cuda"
    loss_sum = torch.zeros((), device=runtime.device)
    correct = torch.zeros((), device=runtime.device, dtype=torch.long)
    seen, failed, done = 0, 0, 0
    wait = compute = 0.0
    events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
    started = last = time.perf_counter()
    total = steps * loader.batch_size * world
    with reporter.progress(total, f"epoch {epoch}/{epochs}", unit) as bar:
        for batch in loader:
            interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
            fetched = time.perf_counter()
            wait += fetched - last
            inputs, targets = select(batch)
            x = runtime.clips(inputs)
            y = targets.to(runtime.device, non_blocking=True)
            if cuda:
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
            with runtime.autocast():
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            if observe is not None:
                observe(batch, logits.detach(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if tracker is not None:  # the learning rate this step used, before the scheduler moves it
                tracker.step(steps_before + done + 1, {"loss": loss.item(), "lr": optimizer.param_groups[0]["lr"]})
            if isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
                scheduler.step()
            if cuda:
                end.record()
                events.append((begin, end))
            loss_sum += loss.detach() * len(y)
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(y)
            failed += int(batch["failed_reads"].sum())
            done += 1
            last = time.perf_counter()
            if not cuda:
                compute += last - fetched
            if reporter.enabled and (done % 10 == 0 or done == steps):
                bar.advance(seen * world - bar.done, loss=f"{loss_sum.item() / seen:.4f}")
            if done >= steps:
                break
    if cuda:
        torch.cuda.synchronize()
        compute = sum(b.elapsed_time(e) for b, e in events) / 1000.0
    elapsed = time.perf_counter() - started
    totals = torch.tensor([loss_sum.item(), float(correct.item()), float(seen), float(failed)], dtype=torch.float64)
    if world > 1:
        totals = all_reduce_sum(totals.to(runtime.device)).cpu()
    if totals[3] > 0:
        reporter.warn(f"{int(totals[3])} video reads failed this epoch and were replaced by the next video")
    return {
        "train_loss": float(totals[0] / totals[2]),
        "train_acc": float(totals[1] / totals[2]),
        "samples": int(totals[2]),
        "seconds": elapsed,
        "throughput": float(totals[2]) / max(elapsed, 1e-9),
        "data_wait_s": wait,
        "compute_s": compute,
        "failed_reads": int(totals[3]),
        "steps": done,
    }


__all__ = [
    "EvalResult",
    "FitConfig",
    "FitResult",
    "Observe",
    "check_finite",
    "fit",
    "train_one_epoch",
    "unwrap",
]
