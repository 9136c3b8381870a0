"""The sample curriculum's scoring window (Sec. III-D.2, IV-A): a converged model trains ``window`` more
epochs through the one training seam, and a callback scores every training video in each of them (the
predictions made on it while it trains, or one fixed tuple after each epoch). Videos ordered right with a
softmax above the threshold in every epoch are easy; the rest are the hard samples."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from clipcop.clips.datasets import VCOPTupleDataset
from clipcop.engine.checkpoint import now_iso, read_card, save_checkpoint
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.engine.distributed import barrier, gather_objects, init_distributed, is_main, world_size
from clipcop.engine.evaluate import evaluate_classifier
from clipcop.engine.fit import Callback, unwrap
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.seeding import seed_everything
from clipcop.errors import CheckpointError, UsageError
from clipcop.heads.vcop import VCOPModel
from clipcop.workflows.cache import frame_source
from clipcop.workflows.curriculum_config import check_sample_options
from clipcop.workflows.data import hold_out, listed_training
from clipcop.workflows.pretrain import PretrainConfig, build_vcop_model, prepare_tuple_videos
from clipcop.workflows.pretrain_test import select_tuples
from clipcop.workflows.training import train

WINDOW_EPOCHS_OFFSET = 10_000
"""The window's epochs draw their tuples as epochs 10,001, 10,002, ... of the data: other tuples than the
run it continues saw."""


def continuing(base: PretrainConfig, checkpoint: str | Path) -> PretrainConfig:
    """``base`` continuing from ``checkpoint``: its architecture, cl/it/tl and clip geometry, initialised
    from it (a converged model goes on seeing clips as it was trained on them)."""
    card = read_card(checkpoint, kind="vcop")  # the header says it; the weights are loaded once, by the model
    shape = ("arch", "width", "clip_len", "interval", "tuple_len", "resize", "crop")
    missing = [k for k in shape if getattr(card, k) is None]
    if missing:
        raise CheckpointError(f"{checkpoint} does not record its {', '.join(missing)}; cannot continue from it")
    switches = {**asdict(card.choices()), "protocol": None}  # the switches it was made with, spelled out
    return base.with_options(**{k: getattr(card, k) for k in shape}, **switches, init=str(checkpoint))


class WindowScores:
    """Per window epoch and training video: the lowest softmax of the right order and whether every
    prediction was right. A video with no prediction in an epoch has NaN there and is never easy."""

    def __init__(self, epochs: int, videos: int) -> None:
        self.p_true = np.full((epochs, videos), np.nan, dtype=np.float32)
        self.right = np.ones((epochs, videos), dtype=bool)

    def add(self, epoch: int, index: np.ndarray, p_true: np.ndarray, correct: np.ndarray) -> None:
        """Predictions of ``epoch`` (from 1) for the videos ``index``; a video may come more than once."""
        np.fmin.at(self.p_true[epoch - 1], index, p_true.astype(np.float32))
        np.logical_and.at(self.right[epoch - 1], index, correct.astype(bool))

    def merge_processes(self) -> None:
        """Combine the scores of every process (under torchrun each sees a share of an epoch's videos)."""
        parts = cast(list[tuple[np.ndarray, np.ndarray]], gather_objects((self.p_true, self.right)))
        self.p_true = np.fmin.reduce(np.stack([p for p, _ in parts]), axis=0)
        self.right = np.logical_and.reduce(np.stack([r for _, r in parts]), axis=0)

    @property
    def correct(self) -> np.ndarray:
        """Scored, and every prediction right."""
        return self.right & ~np.isnan(self.p_true)

    def easy(self, threshold: float) -> np.ndarray:
        """Per video: ordered right with a softmax above ``threshold`` in every epoch (Sec. IV-A)."""
        return np.asarray((self.correct & (self.p_true > threshold)).all(axis=0))


class TrainingPredictions:
    """Collects an epoch's training predictions on the device (no per-step copy to the host)."""

    def __init__(self) -> None:
        self.parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def __call__(self, batch: Batch, logits: torch.Tensor, targets: torch.Tensor) -> None:
        probs = logits.float().softmax(dim=1)
        right = probs.argmax(dim=1) == targets
        self.parts.append((batch["index"], probs.gather(1, targets[:, None])[:, 0], right))

    def flush(self, scores: WindowScores, epoch: int) -> None:
        """Add the collected predictions to ``scores`` as ``epoch``'s and start afresh."""
        if self.parts:
            index, p_true, right = (torch.cat(column).cpu().numpy() for column in zip(*self.parts, strict=True))
            scores.add(epoch, index, p_true, right)
        self.parts.clear()


class _ScoreWhileTraining(Callback):
    """Scores each video by the predictions made on it while it trains (the paper's reading)."""

    def __init__(self, scores: WindowScores, window: int, reporter: Reporter) -> None:
        self.scores, self.window, self.reporter = scores, window, reporter
        self.predictions = TrainingPredictions()

    def on_step(self, batch: Batch, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.predictions(batch, logits, targets)

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        self.predictions.flush(self.scores, epoch)
        self.reporter.info(
            f"window epoch {epoch}/{self.window}: training tuples ordered right {record['train_acc']:.1%}"
        )


class _ScoreFixedTuples(Callback):
    """Scores each video by one fixed tuple (centre crops, eval mode) after every epoch."""

    def __init__(
        self,
        scores: WindowScores,
        window: int,
        reporter: Reporter,
        model: VCOPModel,
        fixed: VCOPTupleDataset,
        runtime: Runtime,
        batch_size: int,
        workers: int,
    ) -> None:
        self.scores, self.window, self.reporter = scores, window, reporter
        self.model, self.fixed, self.runtime = model, fixed, runtime
        self.batch_size, self.workers = batch_size, workers

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        # By dataset index: a video that failed to decode is absent from ``scored`` (never shifted).
        scored = evaluate_classifier(
            self.model, self.fixed, select_tuples, self.runtime, batch_size=self.batch_size, workers=self.workers
        )
        self.scores.add(epoch, scored.index, scored.p_true, scored.correct)
        self.reporter.info(f"window epoch {epoch}/{self.window}: fixed tuples ordered right {scored.accuracy:.1%}")


def score_window(
    checkpoint: str | Path,
    base: PretrainConfig,
    *,
    window: int,
    threshold: float,
    reporter: Reporter,
    scoring: str = "training",
    save_to: str | Path | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """Train ``window`` more epochs, scoring every training video in each (see ``SCORINGS``).

    Returns the videos to keep (the hard ones) and the scores. A video is easy when it was ordered
    correctly with a softmax above ``threshold`` in every epoch of the window (Sec. IV-A). With
    ``save_to`` the model at the end of the window is saved there, so the window's epochs are not lost:
    the subsequent training continues from them (Sec. III-D.2).
    """
    check_sample_options(window, threshold, scoring)
    runtime = resolve_runtime(base.run.device, base.run.precision)
    init_distributed(runtime.device)
    if base.training.batch_size % world_size():
        raise UsageError(f"batch size {base.training.batch_size} must divide evenly over {world_size()} processes")
    config = continuing(base, checkpoint)
    runtime = runtime.with_pixels(config.model.choices().pixels)
    prepared = prepare_tuple_videos(config, reporter)
    train_videos, _ = hold_out(prepared.train, config.training.val_size, reporter, listed=listed_training(prepared))
    seed_everything(config.training.seed)
    model = cast(VCOPModel, runtime.prepare(build_vcop_model(config, reporter)))
    frames = frame_source(config.data.frame_cache, config.data.backend, config.data.decode_on)

    def tuples(train: bool) -> VCOPTupleDataset:
        return VCOPTupleDataset(
            train_videos, config.tuples, config.geometry, train=train, seed=config.training.seed, source=frames
        )

    scores = WindowScores(window, len(train_videos))
    local_batch = config.training.batch_size // world_size()
    scorer: Callback = (
        _ScoreWhileTraining(scores, window, reporter)
        if scoring == "training"
        else _ScoreFixedTuples(
            scores, window, reporter, model, tuples(False), runtime, local_batch, config.data.workers
        )
    )
    trained = train(
        model,
        None,
        runtime=runtime,
        train_set=tuples(True),
        val_set=None,
        select=select_tuples,
        training=replace(config.training, epochs=window, schedule="constant"),
        workers=config.data.workers,
        callbacks=[scorer],
        epoch_offset=WINDOW_EPOCHS_OFFSET,
        reporter=reporter,
        unit="tuples",
    )
    scores.merge_processes()
    _warn_unscored(
        scores, cut=scoring == "training" and trained.steps_per_epoch < trained.full_steps, reporter=reporter
    )
    if save_to is not None:
        meta = _window_meta(checkpoint, window, trained.steps_per_epoch, threshold, scoring)
        if is_main():
            save_checkpoint(save_to, unwrap(model).state_dict(), meta)
        barrier()
    return _hard_samples(scores, prepared, train_videos, threshold=threshold, window=window, scoring=scoring)


def _warn_unscored(scores: WindowScores, *, cut: bool, reporter: Reporter) -> None:
    """Say how many videos have no score in some window epoch (they stay hard), and why."""
    unscored = int(np.isnan(scores.p_true).any(axis=0).sum())
    if unscored:
        why = "they failed to decode, or --steps-per-epoch cut the epoch short" if cut else "they failed to decode"
        hint = "; --scoring fixed scores every video whatever --steps-per-epoch is" if cut else ""
        reporter.warn(
            f"{unscored} training videos have no score in some window epoch ({why}); they are kept as hard{hint}"
        )


def _hard_samples(
    scores: WindowScores, prepared: Any, train_videos: list[Any], *, threshold: float, window: int, scoring: str
) -> tuple[list[str], dict[str, Any]]:
    """The hard videos (paths under the video root) and the scores as ``scores.json`` holds them."""
    easy = scores.easy(threshold)
    root = prepared.dataset.video_root
    names = [v.path.relative_to(root).as_posix() for v in train_videos]
    hard = [n for n, e in zip(names, easy, strict=True) if not e]
    classes = prepared.dataset.classes
    labels = [classes[v.label] if classes and v.label >= 0 else "(unlabelled)" for v in train_videos]
    summary = {
        "videos": names,
        "labels": labels,
        "p_true": [[None if np.isnan(p) else float(p) for p in row] for row in scores.p_true],
        "correct": scores.correct.tolist(),
        "easy": easy.tolist(),
        "threshold": threshold,
        "window": window,
        "scoring": scoring,
    }
    return hard, summary


def _window_meta(checkpoint: str | Path, window: int, steps: int, threshold: float, scoring: str) -> dict[str, Any]:
    """The window model's metadata: the source's model description, its own epoch, step and provenance.

    The source's metrics describe another model and are not carried; the window's scores are in
    ``scores.json``.
    """
    source = read_card(checkpoint)
    return replace(
        source.model_only(),
        epoch=(source.epoch or 0) + window,
        step=(source.step or 0) + window * steps,
        metrics={},
        created=now_iso(),
        init=str(checkpoint),
        window={"epochs": window, "steps_per_epoch": steps, "threshold": threshold, "scoring": scoring},
    ).to_meta()
