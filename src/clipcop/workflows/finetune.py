"""Action-recognition fine-tuning (Sec. IV-C, Table V, Fig. 10): ``clipcop finetune`` as a function.

The backbone starts from a VCOP checkpoint (or at random, the baseline, or from torchvision's Kinetics-supervised
weights, ``ModelSource(arch="r3d_18", weights="kinetics400")``); a new linear layer on the
pooled 512-d feature is trained on the labelled train split with the pretraining pipeline and optimiser
defaults (one random clip per video per epoch, random 112 crops; SGD 1e-3), 150 epochs, keeping the
checkpoint with the lowest validation loss. Test: 10 evenly spaced clips per video, softmax averaged
into the video prediction.

>>> from clipcop.workflows.finetune import finetune  # doctest: +SKIP
>>> finetune(source=ModelSource(checkpoint="runs/r3d/best.safetensors"), data="~/data/UCF101")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch

from clipcop.backbones.base import TAPS
from clipcop.backbones.torchvision_weights import KINETICS
from clipcop.clips.datasets import EvalClipsDataset, TrainClipDataset
from clipcop.config import DataSpec, FlatOptions, RunSpec, TrainingSpec, from_flat
from clipcop.engine.fit import FitResult
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import BEST, TRAINING_KEYS
from clipcop.engine.seeding import seed_everything
from clipcop.errors import DataError, UsageError
from clipcop.heads.classifier import ActionClassifier
from clipcop.results import FinetuneRecord
from clipcop.workflows.cache import frame_source
from clipcop.workflows.cpu_estimate import warn_slow_cpu_epoch
from clipcop.workflows.data import (
    PreparedVideos,
    note_short_videos,
    prepare_data,
    recorded_data,
    validation_fingerprint,
)
from clipcop.workflows.extract import ModelSource
from clipcop.workflows.finetune_test import TEST_OUTPUTS, VideoOutcome, test_best, test_videos
from clipcop.workflows.training import RunKind, checkpoint_meta, open_run, run_lock, split_validation, train


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


RESUME_KEYS = ("source", "freeze_until", *TRAINING_KEYS)
"""The settings a ``--resume`` must keep (:func:`clipcop.engine.run_dir.check_resume_settings`)."""

FINETUNE_RUN = RunKind("clipcop finetune", TEST_OUTPUTS, RESUME_KEYS)


def _settings(config: FinetuneConfig) -> dict[str, Any]:
    """The run's options as checkpoint metadata records them (the model source as a nested dict)."""
    settings = {k: v for k, v in config.flat().items() if k != "source"}
    source = asdict(config.source)
    for key in ("checkpoint", "weights"):  # files as absolute paths, like --data: --config and --resume elsewhere
        if source[key] is not None and source[key] != KINETICS:
            source[key] = os.path.abspath(Path(source[key]).expanduser())
    return {**settings, "data": recorded_data(config.data.folder), "source": source}


def _source_name(source: ModelSource) -> str:
    """The default run folder's suffix: the checkpoint's run folder, ``random``, or ``r3d_18-kinetics400``."""
    if source.checkpoint:
        return Path(source.checkpoint).parent.name
    if source.weights:
        return f"{source.arch}-{Path(source.weights).stem}"
    return "random"


def finetune(
    config: FinetuneConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> FinetuneResult:
    """Fine-tune a backbone for action recognition and test it with 10 clips per video."""
    config = from_flat(FinetuneConfig, options, base=config)
    reporter = reporter or Reporter()
    run_dir = Path(config.run.out) if config.run.out else Path("runs") / f"finetune-{_source_name(config.source)}"
    with run_lock(run_dir, reporter):
        return _finetune_locked(config, run_dir, reporter)


def _finetune_locked(config: FinetuneConfig, run_dir: Path, reporter: Reporter) -> FinetuneResult:
    """:func:`finetune` inside its run folder's lock."""
    opened = open_run(FINETUNE_RUN, run_dir, config, config.run)
    backbone, source_card, clip_len, geometry = config.source.build(reporter.info)
    choices = source_card.choices()
    opened = replace(opened, runtime=opened.runtime.with_pixels(choices.pixels))
    prepared = prepare_data(config.data, reporter)
    _labelled(prepared)
    classes = prepared.dataset.classes
    train_videos, val_videos = split_validation(prepared, config.training, opened, reporter)
    note_short_videos(prepared.train + prepared.test, clip_len, reporter)
    seed_everything(config.training.seed)
    model = cast(
        ActionClassifier, opened.runtime.prepare(ActionClassifier(backbone, len(classes), config.freeze_until))
    )
    frames = frame_source(config.data.frame_cache, config.data.backend, config.data.decode_on)

    def clip_set(videos: list[Any], train: bool) -> TrainClipDataset:
        return TrainClipDataset(
            videos, clip_len=clip_len, geometry=geometry, train=train, seed=config.training.seed, source=frames
        )

    frozen = f", frozen through {config.freeze_until}" if config.freeze_until else ""
    reporter.info(
        f"fine-tuning {source_card.kind} {source_card.arch} width {backbone.width} "
        f"on {len(classes)} classes, {len(train_videos)} train / {len(val_videos)} val videos{frozen}"
    )
    warn_slow_cpu_epoch(
        opened.runtime.device,
        reporter,
        arch=backbone.arch,
        width=backbone.width,
        choices=choices,
        clip_len=clip_len,
        crop=geometry.crop,
        training=config.training,
        clips_per_sample=1,
        samples=len(train_videos),
    )
    model_entries = {
        "arch": backbone.arch,
        "width": backbone.width,
        "clip_len": clip_len,
        "resize": list(geometry.resize),
        "crop": geometry.crop,
        **choices.entries(),
        "num_classes": len(classes),
        "classes": list(classes),
        "freeze_until": config.freeze_until,
        "init": source_card.source,
        "init_kind": source_card.kind,
        **({"weights": source_card.weights} if source_card.weights else {}),
        "seed": config.training.seed,
        "config": _settings(config),
        "data": prepared.describe(),
        "validation": validation_fingerprint(val_videos),
    }
    result = train(
        model,
        opened,
        train_set=clip_set(train_videos, True),
        val_set=clip_set(val_videos, False),
        select=_select,
        params=[p for p in model.parameters() if p.requires_grad],
        training=config.training,
        workers=config.data.workers,
        compile_model=config.run.compile,
        describe=lambda info: checkpoint_meta("finetune", info, **model_entries),
        skip_lone_sample=True,
        reporter=reporter,
        unit="clips",
    )
    test = EvalClipsDataset(
        prepared.test, clip_len=clip_len, num_clips=config.test_clips, geometry=geometry, source=frames
    )
    batch = max(1, config.training.batch_size // 2)
    outcome, per_class = test_best(model, test, run_dir, opened.runtime, classes, reporter, batch, config.data.workers)
    accuracy = (outcome.video_accuracy, outcome.clip_accuracy)
    return FinetuneResult(run_dir, run_dir / BEST, result, *accuracy, per_class, skipped=prepared.skipped())


__all__ = ["FinetuneConfig", "FinetuneResult", "VideoOutcome", "finetune", "test_videos"]
