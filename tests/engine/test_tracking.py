"""``--log tensorboard``: event files from the training loop that TensorBoard's own reader loads back with
every step's loss and learning rate and every epoch's metrics, equal to ``metrics.jsonl``; a resumed run
leaves one value per step; without TensorBoard installed, one line saying how to install it."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.utils.data import Dataset

from clipcop.engine import tracking
from clipcop.engine.device import resolve_runtime
from clipcop.engine.fit import FitConfig, FitResult, fit
from clipcop.engine.loading import Batch
from clipcop.engine.tracking import NullTracker, TensorBoardTracker, Tracker, make_tracker
from clipcop.errors import UsageError

SAMPLES, BATCH, CLASSES, LR = 10, 4, 3, 0.05
BATCH_SIZES = [4, 4, 2]  # one epoch's steps
EPOCH_TAGS = ["train_loss", "train_acc", "val_loss", "val_acc", "lr", "throughput"]


class RandomClips(Dataset[Batch]):
    """Tiny uint8 "clips" (2 frames of 4x4 RGB) with a class each, the same for a key every time."""

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, key: tuple[int, int]) -> Batch:
        index = key[1]
        generator = torch.Generator().manual_seed(index)
        clips = torch.randint(0, 256, (2, 4, 4, 3), dtype=torch.uint8, generator=generator)
        label = torch.tensor(index % CLASSES)
        return {
            "clips": clips,
            "target": label,
            "label": label,
            "index": torch.tensor(index),
            "failed_reads": torch.tensor(0),
        }


def select(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["clips"], batch["target"]


def train(run_dir: Path, *, tracker: Tracker | None, resume: bool = False) -> FitResult:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 2 * 4 * 4, CLASSES))
    return fit(
        model,
        train_set=RandomClips(),
        val_set=RandomClips(),
        select=select,
        optimizer=torch.optim.SGD(model.parameters(), lr=LR),
        config=FitConfig(epochs=2, batch_size=BATCH, workers=0, schedule="cosine"),
        runtime=resolve_runtime("cpu", "fp32"),
        run_dir=run_dir,
        describe=lambda info: {"kind": "vcop", "arch": "r3d", "width": 4, "epoch": info["epoch"]},
        resume=resume,
        tracker=tracker,
    )


def load_events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return events


def metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_events_hold_step_loss_lr_and_the_epoch_metrics(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = train(run_dir, tracker=make_tracker("tensorboard", run_dir))
    events = load_events(run_dir)
    scalars = set(events.Tags()["scalars"])
    assert {"step/loss", "step/lr"} | {f"epoch/{tag}" for tag in EPOCH_TAGS} <= scalars

    losses = events.Scalars("step/loss")
    assert [e.step for e in losses] == [1, 2, 3, 4, 5, 6]  # one value per training step
    lrs = [e.value for e in events.Scalars("step/lr")]
    assert lrs[0] == pytest.approx(LR) and lrs == sorted(lrs, reverse=True) and lrs[-1] < LR  # cosine decay
    history = metrics(run_dir)
    assert history == result.history  # metrics.jsonl is still the record
    for epoch, record in enumerate(history):  # the per-step losses are the epoch's training loss
        steps = losses[3 * epoch : 3 * epoch + 3]
        mean = sum(e.value * size for e, size in zip(steps, BATCH_SIZES, strict=True)) / SAMPLES
        assert mean == pytest.approx(record["train_loss"], rel=1e-5)

    for tag in [*EPOCH_TAGS, "epoch"]:
        values = events.Scalars(f"epoch/{tag}")
        assert [e.step for e in values] == [3, 6], tag  # at the global step, on the same axis as step/loss
        expected = [record[tag] for record in history]
        assert [e.value for e in values] == pytest.approx(expected, rel=1e-6), tag


class KilledAt:
    """Passes values on to ``inner`` until ``global_step`` comes: then the run dies, as on a kill."""

    def __init__(self, inner: Tracker, global_step: int) -> None:
        self.inner, self.global_step = inner, global_step

    def step(self, global_step: int, values: Mapping[str, float]) -> None:
        if global_step == self.global_step:
            raise KeyboardInterrupt
        self.inner.step(global_step, values)

    def epoch(self, epoch: int, values: Mapping[str, float], *, global_step: int) -> None:
        self.inner.epoch(epoch, values, global_step=global_step)

    def close(self) -> None:
        self.inner.close()


def test_a_resumed_run_leaves_one_value_per_step(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):  # in epoch 2, after its first step was logged
        train(run_dir, tracker=KilledAt(make_tracker("tensorboard", run_dir), 5))
    killed = load_events(run_dir)  # fit closed the writer on the way out: everything logged is on disk
    assert [e.step for e in killed.Scalars("step/loss")] == [1, 2, 3, 4]
    (first,) = (run_dir / "tensorboard").iterdir()
    # the killed run started earlier (here in the same second: name its file as an earlier start would)
    stamp = first.name.split(".")[3]
    first.rename(first.with_name(first.name.replace(stamp, f"{int(stamp) - 60:010d}", 1)))

    result = train(run_dir, tracker=make_tracker("tensorboard", run_dir), resume=True)
    assert result.resumed_from == 1
    events = load_events(run_dir)
    assert len(list((run_dir / "tensorboard").iterdir())) == 2
    assert [e.step for e in events.Scalars("step/loss")] == [1, 2, 3, 4, 5, 6]  # step 4 once, not twice
    for tag in EPOCH_TAGS:
        values = events.Scalars(f"epoch/{tag}")
        assert [e.step for e in values] == [3, 6], tag
        assert [e.value for e in values] == pytest.approx([r[tag] for r in metrics(run_dir)], rel=1e-6), tag


def test_without_tensorboard_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name.split(".")[0] == "tensorboard" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(UsageError) as caught:
        make_tracker("tensorboard", tmp_path)
    message = str(caught.value)
    assert "pip install 'clipcop[tensorboard]'" in message and "\n" not in message
    assert not (tmp_path / "tensorboard").exists()


def test_unknown_kinds_are_refused_and_no_log_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="choose one of tensorboard"):
        make_tracker("wandb", tmp_path)
    assert isinstance(make_tracker(None, tmp_path), NullTracker)
    assert isinstance(make_tracker("tensorboard", tmp_path), TensorBoardTracker)
    monkeypatch.setattr(tracking, "is_main", lambda: False)  # under torchrun only rank 0 writes
    assert isinstance(make_tracker("tensorboard", tmp_path), NullTracker)
    train(tmp_path / "run", tracker=None)
    assert not (tmp_path / "run" / "tensorboard").exists()
