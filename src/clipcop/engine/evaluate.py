"""Evaluation passes: loss and accuracy of a classifier over a dataset, per sample and per class.

Used for validation during training, the final test of order prediction (overall and per video class,
the paper's Fig. 5), and the fixed-tuple scoring of the sample-based curriculum (Sec. III-D.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from clipcop.engine.device import Runtime
from clipcop.engine.distributed import gather_objects, rank, world_size
from clipcop.engine.loading import Batch, make_loader
from clipcop.engine.sampler import EpochSampler
from clipcop.processes import interrupts

Select = Callable[[Batch], tuple[torch.Tensor, torch.Tensor]]
"""Picks ``(uint8 inputs, integer targets)`` out of a collated batch."""


@dataclass(frozen=True)
class EvalResult:
    """Per-sample outcomes of one pass, in dataset-index order, and their summaries."""

    index: np.ndarray
    loss: np.ndarray
    correct: np.ndarray
    p_true: np.ndarray
    label: np.ndarray
    failed_reads: int

    @property
    def mean_loss(self) -> float:
        """Mean cross-entropy."""
        return float(self.loss.mean()) if len(self.loss) else float("nan")

    @property
    def accuracy(self) -> float:
        """Fraction of samples whose arg-max class is the target."""
        return float(self.correct.mean()) if len(self.correct) else float("nan")

    def per_label(self) -> dict[int, tuple[int, int]]:
        """``label -> (correct, total)`` for samples with a class label (>= 0)."""
        out: dict[int, tuple[int, int]] = {}
        for lab in np.unique(self.label[self.label >= 0]):
            mask = self.label == lab
            out[int(lab)] = (int(self.correct[mask].sum()), int(mask.sum()))
        return out


def _gather(part: np.ndarray) -> np.ndarray:
    """``part`` of every process, concatenated in rank order."""
    return np.concatenate(cast(list[np.ndarray], gather_objects(part)))


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module,
    dataset: Dataset[Batch],
    select: Select,
    runtime: Runtime,
    *,
    batch_size: int,
    workers: int = 0,
    epoch: int = 0,
) -> EvalResult:
    """Run ``model`` in eval mode over ``dataset`` (sharded across ranks) and collect per-sample results."""
    model.eval()
    sampler = EpochSampler(len(dataset), shuffle=False, rank=rank(), world_size=world_size())  # type: ignore[arg-type]
    sampler.set_epoch(epoch)
    loader = make_loader(dataset, sampler, batch_size=batch_size, workers=workers, runtime=runtime)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("index", "loss", "correct", "p_true", "label")}
    failed = 0
    for batch in loader:
        interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
        inputs, targets = select(batch)
        x = runtime.clips(inputs)
        y = targets.to(runtime.device)
        with runtime.autocast():
            logits = model(x)
        logits = logits.float()
        probs = logits.softmax(dim=1)
        cols["index"].append(batch["index"].numpy())
        cols["loss"].append(F.cross_entropy(logits, y, reduction="none").cpu().numpy())
        cols["correct"].append((logits.argmax(1) == y).cpu().numpy())
        cols["p_true"].append(probs.gather(1, y[:, None])[:, 0].cpu().numpy())
        cols["label"].append(batch["label"].numpy())
        failed += int(batch["failed_reads"].sum())
    merged = {k: _gather(np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
    order = np.unique(merged["index"], return_index=True)[1]  # sorted by index, padding duplicates dropped
    return EvalResult(
        index=merged["index"][order].astype(np.int64),
        loss=merged["loss"][order],
        correct=merged["correct"][order].astype(bool),
        p_true=merged["p_true"][order],
        label=merged["label"][order].astype(np.int64),
        failed_reads=failed,
    )
