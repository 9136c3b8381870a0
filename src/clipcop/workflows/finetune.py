"""Action-recognition fine-tuning (Sec. IV-C, Table V, Fig. 10): ``clipcop finetune`` as a function.

The backbone starts from a VCOP checkpoint (or at random, the baseline); a new linear layer on the
pooled 512-d feature is trained on the labelled train split with the pretraining pipeline and optimiser
defaults (one random clip per video per epoch, random 112 crops; SGD 1e-3), 150 epochs, keeping the
checkpoint with the lowest validation loss. Test: 10 evenly spaced clips per video, softmax averaged
into the video prediction.

>>> from clipcop.workflows.finetune import finetune  # doctest: +SKIP
>>> finetune(source=ModelSource(checkpoint="runs/r3d/best.safetensors"), data="~/data/UCF101")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from rich.table import Table
from torch import nn

from clipcop.backbones.base import TAPS
from clipcop.clips.datasets import EvalClipsDataset, TrainClipDataset
from clipcop.config import DataSpec, FlatOptions, RunSpec, TrainingSpec, from_flat
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, now_iso, save_checkpoint
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.engine.distributed import init_distributed, is_main, rank, world_size
from clipcop.engine.fit import FitConfig, FitResult, fit, unwrap
from clipcop.engine.loading import Batch, make_loader
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import (
    BEST,
    TRAINING_KEYS,
    check_resume_settings,
    check_resume_validation,
    check_run_dir,
    write_run_settings,
)
from clipcop.engine.sampler import EpochSampler
from clipcop.engine.seeding import seed_everything
from clipcop.engine.tracking import make_tracker
from clipcop.errors import DataError, UsageError
from clipcop.heads.classifier import ActionClassifier
from clipcop.metrics.classification import confusion_matrix, per_class_accuracy
from clipcop.processes import interrupts
from clipcop.results import FinetuneRecord
from clipcop.workflows.cache import frame_source
from clipcop.workflows.data import (
    PreparedVideos,
    hold_out,
    listed_training,
    note_short_videos,
    prepare_videos,
    recorded_data,
    validation_fingerprint,
)
from clipcop.workflows.extract import ModelSource
from clipcop.workflows.pretrain import make_optimizer


def _finetune_training() -> TrainingSpec:
    return TrainingSpec(epochs=150)


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(FlatOptions):
    """Every option of ``clipcop finetune``; defaults are the paper's (Sec. IV-C): 150 epochs, else
    pretraining's optimiser settings. ``FinetuneConfig.from_options(source=..., epochs=5)`` takes flat
    keywords."""

    source: ModelSource
    data: DataSpec = field(default_factory=DataSpec)
    training: TrainingSpec = field(default_factory=_finetune_training)
    run: RunSpec = field(default_factory=RunSpec)
    freeze_until: str | None = None
    """Freeze every layer up to and including this tap (Fig. 10)."""
    test_clips: int = 10
    """Evenly spaced clips per test video, their softmax averaged."""

    def __post_init__(self) -> None:
        if self.test_clips < 1:
            raise UsageError(f"--test-clips must be at least 1, not {self.test_clips}")
        if self.freeze_until is not None and self.freeze_until not in TAPS:
            raise UsageError(f"--freeze-until must be one of {', '.join(TAPS)}, not {self.freeze_until!r}")


@dataclass
class FinetuneResult:
    """A finished fine-tuning run: folder, best checkpoint, and test accuracies."""

    run_dir: Path
    best_checkpoint: Path
    fit: FitResult
    video_accuracy: float
    clip_accuracy: float
    per_class: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Listed videos left out of the run: ``missing``, ``unreadable``, ``too_short``."""

    def record(self) -> FinetuneRecord:
        """What ``clipcop finetune`` prints (:mod:`clipcop.results`)."""
        return FinetuneRecord(
            run_dir=str(self.run_dir),
            checkpoint=str(self.best_checkpoint),
            best_epoch=self.fit.best_epoch,
            test_video_accuracy=self.video_accuracy,
            test_clip_accuracy=self.clip_accuracy,
            per_class=dict(self.per_class),
            skipped=dict(self.skipped),
        )


def _select(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["clips"][:, 0], batch["label"]


def _labelled(prepared: PreparedVideos) -> None:
    ds = prepared.dataset
    if not ds.labelled:
        raise DataError(f"{ds.data_root} has no class labels: fine-tuning needs labelled videos")
    missing = sorted({ds.classes[v.label] for v in prepared.train} ^ set(ds.classes))
    if missing:
        raise DataError(f"classes without any usable training video: {', '.join(missing[:5])}")


TEST_OUTPUTS = ("test_accuracy.json", "confusion_matrix.csv")
"""The files a run writes at its end, beside its checkpoints and ``metrics.jsonl``."""

RESUME_KEYS = ("source", "freeze_until", *TRAINING_KEYS)
"""The settings a ``--resume`` must keep (:func:`clipcop.engine.run_dir.check_resume_settings`)."""


def _settings(config: FinetuneConfig) -> dict[str, Any]:
    """The run's options as checkpoint metadata records them (the model source as a nested dict)."""
    settings = {k: v for k, v in config.flat().items() if k != "source"}
    return {**settings, "data": recorded_data(config.data.folder), "source": asdict(config.source)}


def finetune(
    config: FinetuneConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> FinetuneResult:
    """Fine-tune a backbone for action recognition and test it with 10 clips per video."""
    config = from_flat(FinetuneConfig, options, base=config)
    reporter = reporter or Reporter()
    source_name = Path(config.source.checkpoint).parent.name if config.source.checkpoint else "random"
    run_dir = Path(config.run.out) if config.run.out else Path("runs") / f"finetune-{source_name}"
    check_run_dir(run_dir, config.run.resume, TEST_OUTPUTS)
    if config.run.resume:
        check_resume_settings(run_dir, _settings(config), RESUME_KEYS)
    write_run_settings(run_dir, config, "clipcop finetune")
    tracker = make_tracker(config.run.log, run_dir)  # before any work: a missing extra is said at once
    runtime = resolve_runtime(config.run.device, config.run.precision)
    init_distributed(runtime.device)
    backbone, source_card, clip_len, geometry = config.source.build()
    prepared = prepare_videos(
        config.data.folder,
        split=config.data.split,
        dataset=config.data.layout,
        workers=config.data.workers,
        backend=config.data.backend,
        reporter=reporter,
    )
    _labelled(prepared)
    classes = prepared.dataset.classes
    train_videos, val_videos = hold_out(
        prepared.train, config.training.val_size, reporter, listed=listed_training(prepared)
    )
    if config.run.resume:
        check_resume_validation(run_dir, validation_fingerprint(val_videos))
    note_short_videos(prepared.train + prepared.test, clip_len, reporter)
    seed_everything(config.training.seed)
    model = ActionClassifier(backbone, len(classes), config.freeze_until)
    model = cast(ActionClassifier, runtime.prepare(model))
    frames = frame_source(config.data.frame_cache, config.data.backend)

    def clip_set(videos: list[Any], train: bool) -> TrainClipDataset:
        return TrainClipDataset(
            videos,
            clip_len=clip_len,
            geometry=geometry,
            train=train,
            seed=config.training.seed,
            source=frames,
        )

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(config.training, trainable)
    frozen = f", frozen through {config.freeze_until}" if config.freeze_until else ""
    reporter.info(
        f"fine-tuning {source_card.kind} {source_card.arch} width {backbone.width} "
        f"on {len(classes)} classes, {len(train_videos)} train / {len(val_videos)} val videos{frozen}"
    )

    def describe(info: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "finetune",
            "arch": backbone.arch,
            "width": backbone.width,
            "clip_len": clip_len,
            "resize": list(geometry.resize),
            "crop": geometry.crop,
            "num_classes": len(classes),
            "classes": list(classes),
            "freeze_until": config.freeze_until,
            "init": source_card.source,
            "init_kind": source_card.kind,
            "seed": config.training.seed,
            "epoch": info["epoch"],
            "step": info["step"],
            "metrics": {k: info["metrics"][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
            "config": _settings(config),
            "data": prepared.describe(),
            "validation": validation_fingerprint(val_videos),
            "created": now_iso(),
        }

    fit_config = FitConfig(
        epochs=config.training.epochs,
        batch_size=config.training.batch_size,
        workers=config.data.workers,
        seed=config.training.seed,
        schedule=config.training.schedule,
        steps_per_epoch=config.training.steps_per_epoch,
        skip_lone_sample=True,
    )
    forward_model = cast(nn.Module, torch.compile(model)) if config.run.compile else model
    result = fit(
        forward_model,
        train_set=clip_set(train_videos, True),
        val_set=clip_set(val_videos, False),
        select=_select,
        optimizer=optimizer,
        config=fit_config,
        runtime=runtime,
        run_dir=run_dir,
        describe=describe,
        resume=config.run.resume,
        tracker=tracker,
        reporter=reporter,
        unit="clips",
    )
    best = load_checkpoint(run_dir / BEST, kind="finetune")
    unwrap(model).load_state_dict(best.tensors)
    test = EvalClipsDataset(
        prepared.test,
        clip_len=clip_len,
        num_clips=config.test_clips,
        geometry=geometry,
        source=frames,
    )
    outcome = test_videos(
        model, test, runtime, batch_size=max(1, config.training.batch_size // 2), workers=config.data.workers
    )
    if outcome.unreadable:
        names = [str(prepared.test[i].path) for i in outcome.unreadable]
        reporter.warn(
            f"{len(names)} of {len(prepared.test)} test videos failed to decode and are not counted in the "
            f"test accuracy, e.g. {names[0]}"
        )
    per_class = _report(run_dir, outcome, classes, reporter)
    if is_main():
        scored = best.card.with_metrics(test_video_acc=outcome.video_accuracy, test_clip_acc=outcome.clip_accuracy)
        save_checkpoint(run_dir / BEST, best.tensors, scored.to_meta())
    accuracy = (outcome.video_accuracy, outcome.clip_accuracy)
    return FinetuneResult(run_dir, run_dir / BEST, result, *accuracy, per_class, skipped=prepared.skipped())


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


def _report(run_dir: Path, outcome: VideoOutcome, classes: tuple[str, ...], reporter: Reporter) -> dict[str, float]:
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


__all__ = ["FinetuneConfig", "FinetuneResult", "VideoOutcome", "finetune", "test_videos"]
