"""One training epoch: forward, cross-entropy, backward and step over a loader, measuring on the way.

Shared by every training run through :func:`clipcop.engine.fit.fit`; the numbers it returns become one line
of ``metrics.jsonl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clipcop.engine.device import Runtime
from clipcop.engine.distributed import all_reduce_sum
from clipcop.engine.evaluate import Select
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.tracking import Tracker
from clipcop.processes import interrupts

Observe = Callable[[Batch, torch.Tensor, torch.Tensor], None]
"""Sees ``(batch, logits, targets)`` of each training step; the tensors are detached, on the device."""


class _ComputeClock:
    """Compute time of the steps: CUDA events on GPUs (GPU busy time), wall time between fetches on CPUs."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.seconds = 0.0
        self.events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self._begin: torch.cuda.Event | None = None

    def start(self) -> None:
        if self.cuda:
            self._begin = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            self._begin.record()

    def stop(self, fetched: float, now: float) -> None:
        if self.cuda and self._begin is not None:
            end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            end.record()
            self.events.append((self._begin, end))
        elif not self.cuda:
            self.seconds += now - fetched

    def total(self) -> float:
        if not self.cuda:
            return self.seconds
        torch.cuda.synchronize()
        return float(sum(b.elapsed_time(e) for b, e in self.events)) / 1000.0


class _Totals:
    """Loss, right predictions, samples and failed reads of an epoch, kept on the device until the end."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0
        self.failed = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor, batch: Batch) -> None:
        self.loss += loss.detach() * len(targets)
        self.correct += (logits.detach().argmax(1) == targets).sum()
        self.seen += len(targets)
        self.failed += int(batch["failed_reads"].sum())

    def summed(self, world: int, device: torch.device) -> torch.Tensor:
        """``[loss sum, correct, samples, failed reads]`` over every process."""
        totals = torch.tensor(
            [self.loss.item(), float(self.correct.item()), float(self.seen), float(self.failed)], dtype=torch.float64
        )
        return all_reduce_sum(totals.to(device)).cpu() if world > 1 else totals


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    runtime: Runtime,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step; returns ``(loss, logits)`` (the learning rate the step used is still set)."""
    with runtime.autocast():
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    return loss, logits


def train_one_epoch(
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
    clock = _ComputeClock(runtime.device.type == "cuda")
    totals = _Totals(runtime.device)
    done, wait = 0, 0.0
    started = last = time.perf_counter()
    with reporter.progress(steps * loader.batch_size * world, f"epoch {epoch}/{epochs}", unit) as bar:
        for batch in loader:
            interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
            fetched = time.perf_counter()
            wait += fetched - last
            inputs, targets = select(batch)
            x, y = runtime.clips(inputs), targets.to(runtime.device, non_blocking=True)
            clock.start()
            loss, logits = _step(model, optimizer, x, y, runtime)
            if observe is not None:
                observe(batch, logits.detach(), y)
            if tracker is not None:  # the learning rate this step used, before the scheduler moves it
                tracker.step(steps_before + done + 1, {"loss": loss.item(), "lr": optimizer.param_groups[0]["lr"]})
            if isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
                scheduler.step()
            last = time.perf_counter()
            clock.stop(fetched, last)
            totals.add(loss, logits, y, batch)
            done += 1
            if reporter.enabled and (done % 10 == 0 or done == steps):
                bar.advance(totals.seen * world - bar.done, loss=f"{totals.loss.item() / totals.seen:.4f}")
            if done >= steps:
                break
    compute = clock.total()
    elapsed = time.perf_counter() - started
    summed = totals.summed(world, runtime.device)
    if summed[3] > 0:
        reporter.warn(f"{int(summed[3])} video reads failed this epoch and were replaced by the next video")
    return {
        "train_loss": float(summed[0] / summed[2]),
        "train_acc": float(summed[1] / summed[2]),
        "samples": int(summed[2]),
        "seconds": elapsed,
        "throughput": float(summed[2]) / max(elapsed, 1e-9),
        "data_wait_s": wait,
        "compute_s": compute,
        "failed_reads": int(summed[3]),
        "steps": done,
    }
