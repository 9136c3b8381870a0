"""The end of a pretraining run: order accuracy of its best checkpoint on the test split, overall and per
class (Fig. 5), as a table, as ``test_order_accuracy.json``/``.csv`` and in the checkpoint's metrics."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from rich.table import Table

from clipcop.clips.datasets import VCOPTupleDataset
from clipcop.clips.sources import FrameSource
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.engine.device import Runtime
from clipcop.engine.distributed import is_main
from clipcop.engine.evaluate import EvalResult, evaluate_classifier
from clipcop.engine.fit import unwrap
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import BEST
from clipcop.heads.vcop import VCOPModel
from clipcop.workflows.data import PreparedVideos
from clipcop.workflows.training import record_test_metrics

if TYPE_CHECKING:
    from clipcop.workflows.pretrain import PretrainConfig

TEST_OUTPUTS = ("test_order_accuracy.json", "test_order_accuracy.csv")
"""The files a run writes at its end, beside its checkpoints and ``metrics.jsonl``."""


def select_tuples(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """A tuple batch's ``(clips, order class)``."""
    return batch["clips"], batch["target"]


def test_order_accuracy(
    config: PretrainConfig,
    model: VCOPModel,
    prepared: PreparedVideos,
    run_dir: Path,
    runtime: Runtime,
    reporter: Reporter,
    frames: FrameSource,
) -> tuple[float, float, dict[str, float]]:
    """Order accuracy and loss of the best checkpoint on the test split, overall and per class (Fig. 5),
    its tuples read from ``frames`` (the run's own source); written beside the checkpoints and into the
    best checkpoint's metrics."""
    ckpt = load_checkpoint(run_dir / BEST, kind="vcop")
    unwrap(model).load_state_dict(ckpt.tensors)
    if not prepared.test:
        reporter.warn("the test split has no usable video: no test order accuracy")
        return float("nan"), float("nan"), {}
    test_set = VCOPTupleDataset(
        prepared.test,
        config.tuples,
        config.geometry,
        train=False,
        seed=config.training.seed,
        source=frames,
    )
    outcome = evaluate_classifier(
        model, test_set, select_tuples, runtime, batch_size=config.training.batch_size, workers=config.data.workers
    )
    classes = prepared.dataset.classes
    per_class = {classes[k]: c / n for k, (c, n) in outcome.per_label().items()} if classes else {}
    if is_main():
        _write_test_report(run_dir, outcome, classes)
    record_test_metrics(ckpt, test_loss=outcome.mean_loss, test_acc=outcome.accuracy)
    tuples = config.tuples
    table = Table(title=f"Test order accuracy, tl={tuples.tuple_len} (chance {1 / tuples.num_orders:.1%})")
    table.add_column("class")
    table.add_column("videos", justify="right")
    table.add_column("order accuracy", justify="right")
    for k, (c, n) in sorted(outcome.per_label().items()):
        table.add_row(classes[k] if classes else str(k), str(n), f"{c / n:.1%}")
    table.add_row("all", str(len(outcome.correct)), f"{outcome.accuracy:.1%}", style="bold")
    reporter.table(table)
    return outcome.accuracy, outcome.mean_loss, per_class


def _write_test_report(run_dir: Path, outcome: EvalResult, classes: tuple[str, ...]) -> None:
    rows = [
        {"class": classes[k] if classes else str(k), "videos": n, "correct": c, "accuracy": c / n}
        for k, (c, n) in sorted(outcome.per_label().items())
    ]
    summary = {
        "accuracy": outcome.accuracy,
        "loss": outcome.mean_loss,
        "videos": len(outcome.correct),
        "per_class": rows,
    }
    write_text_atomic(run_dir / TEST_OUTPUTS[0], json.dumps(summary, indent=2))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["class", "videos", "correct", "accuracy"])
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(run_dir / TEST_OUTPUTS[1], buffer.getvalue())
