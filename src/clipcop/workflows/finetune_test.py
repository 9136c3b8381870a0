"""The end of a fine-tuning run (Sec. IV-C): its best checkpoint classifies 10 evenly spaced clips of every
test video, softmax averaged per video; per-class accuracy and the confusion matrix are written beside it."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.table import Table
from torch import nn

from clipcop.clips.datasets import EvalClipsDataset
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.engine.device import Runtime
from clipcop.engine.distributed import is_main, rank, world_size
from clipcop.engine.fit import unwrap
from clipcop.engine.loading import make_loader
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import BEST
from clipcop.engine.sampler import EpochSampler
from clipcop.metrics.classification import confusion_matrix, per_class_accuracy
from clipcop.processes import interrupts
from clipcop.workflows.training import record_test_metrics

TEST_OUTPUTS = ("test_accuracy.json", "confusion_matrix.csv")
"""The files a run writes at its end, beside its checkpoints and ``metrics.jsonl``."""


def test_best(
    model: nn.Module,
    test: EvalClipsDataset,
    run_dir: Path,
    runtime: Runtime,
    classes: tuple[str, ...],
    reporter: Reporter,
    batch_size: int,
    workers: int,
) -> tuple[VideoOutcome, dict[str, float]]:
    """Test the run's best checkpoint; report, write and record its accuracies; per-class accuracy back."""
    best = load_checkpoint(run_dir / BEST, kind="finetune")
    unwrap(model).load_state_dict(best.tensors)
    outcome = test_videos(model, test, runtime, batch_size=batch_size, workers=workers)
    if outcome.unreadable:
        names = [str(test.videos[i].path) for i in outcome.unreadable]
        reporter.warn(
            f"{len(names)} of {len(test.videos)} test videos failed to decode and are not counted in the "
            f"test accuracy, e.g. {names[0]}"
        )
    per_class = report_test(run_dir, outcome, classes, reporter)
    record_test_metrics(best, test_video_acc=outcome.video_accuracy, test_clip_acc=outcome.clip_accuracy)
    return outcome, per_class


@dataclass(frozen=True)
class VideoOutcome:
    """Test predictions: per clip and per video (softmax averaged over the video's clips)."""

    truth: np.ndarray
    video_pred: np.ndarray
    clip_correct: np.ndarray
    unreadable: tuple[int, ...] = ()
    """Indices of test videos that failed to decode: not counted in either accuracy."""

    @property
    def video_accuracy(self) -> float:
        """Fraction of videos whose averaged prediction is right (the paper's number)."""
        return float((self.truth == self.video_pred).mean()) if len(self.truth) else float("nan")

    @property
    def clip_accuracy(self) -> float:
        """Fraction of single clips classified right."""
        return float(self.clip_correct.mean()) if len(self.clip_correct) else float("nan")


@torch.no_grad()
def test_videos(
    model: nn.Module, dataset: EvalClipsDataset, runtime: Runtime, *, batch_size: int, workers: int
) -> VideoOutcome:
    """Classify every clip of every test video; average the softmax per video.

    A video that fails to decode here (changed or damaged since it was indexed) cannot be classified:
    it is listed in ``unreadable`` and left out of the accuracies, which the caller reports.
    """
    model.eval()
    sampler = EpochSampler(len(dataset), shuffle=False, rank=rank(), world_size=world_size())
    loader = make_loader(dataset, sampler, batch_size=batch_size, workers=workers, runtime=runtime)
    rows: dict[int, tuple[int, int, np.ndarray]] = {}
    for batch in loader:
        interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
        clips = batch["clips"]  # (B, N, T, H, W, 3) uint8
        with runtime.autocast():
            logits = model(runtime.clips(clips.flatten(0, 1)))
        probs = logits.float().softmax(dim=1).view(len(clips), clips.shape[1], -1).cpu().numpy()
        for k, index in enumerate(batch["index"].tolist()):
            if not int(batch["failed_reads"][k]):
                rows[index] = (int(batch["label"][k]), int(probs[k].mean(axis=0).argmax()), probs[k].argmax(axis=1))
    if world_size() > 1:
        import torch.distributed as dist

        parts: list[dict[int, tuple[int, int, np.ndarray]] | None] = [None] * world_size()
        dist.all_gather_object(parts, rows)
        rows = {k: v for part in parts if part for k, v in part.items()}
    ordered = [rows[i] for i in sorted(rows)]
    truth = np.array([r[0] for r in ordered], dtype=np.int64)
    video_pred = np.array([r[1] for r in ordered], dtype=np.int64)
    clip_correct = np.concatenate([r[2] == r[0] for r in ordered]) if ordered else np.zeros(0, dtype=bool)
    unreadable = tuple(sorted(set(range(len(dataset))) - set(rows)))
    return VideoOutcome(truth, video_pred, clip_correct, unreadable)


def report_test(run_dir: Path, outcome: VideoOutcome, classes: tuple[str, ...], reporter: Reporter) -> dict[str, float]:
    matrix = confusion_matrix(outcome.truth, outcome.video_pred, len(classes))
    recall = per_class_accuracy(matrix)
    per_class = {name: float(r) for name, r in zip(classes, recall, strict=True) if not np.isnan(r)}
    if is_main():
        summary = {
            "video_accuracy": outcome.video_accuracy,
            "clip_accuracy": outcome.clip_accuracy,
            "videos": len(outcome.truth),
            "unreadable_videos": len(outcome.unreadable),
            "per_class": per_class,
            "classes": list(classes),
            "confusion": matrix.tolist(),
        }
        write_text_atomic(run_dir / TEST_OUTPUTS[0], json.dumps(summary, indent=2))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["true \\ predicted", *classes])
        writer.writerows([[name, *row] for name, row in zip(classes, matrix.tolist(), strict=True)])
        write_text_atomic(run_dir / TEST_OUTPUTS[1], buffer.getvalue())
    table = Table(title="Action recognition on the test split (10 clips per video, softmax averaged)")
    table.add_column("class")
    table.add_column("videos", justify="right")
    table.add_column("accuracy", justify="right")
    for name, row, r in zip(classes, matrix, recall, strict=True):
        if row.sum():
            table.add_row(name, str(int(row.sum())), f"{100 * r:.1f}%")
    table.add_row("video accuracy", str(len(outcome.truth)), f"{100 * outcome.video_accuracy:.1f}%", style="bold")
    table.add_row("clip accuracy", str(len(outcome.clip_correct)), f"{100 * outcome.clip_accuracy:.1f}%")
    reporter.table(table)
    return per_class
