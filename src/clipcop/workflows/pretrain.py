"""VCOP pretraining (Sec. III, IV-A): ``clipcop pretrain`` as a library function.

>>> from clipcop.workflows.pretrain import pretrain  # doctest: +SKIP
>>> result = pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)  # doctest: +SKIP
>>> result.test_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch
from rich.table import Table
from torch import nn

from clipcop.backbones import build_backbone
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.config import (
    ClipGeometry,
    DataSpec,
    FlatOptions,
    ModelSpec,
    RunSpec,
    TrainingSpec,
    TupleSpec,
    from_flat,
)
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, now_iso, read_card, save_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.distributed import init_distributed, is_main
from clipcop.engine.evaluate import EvalResult, evaluate_classifier
from clipcop.engine.fit import FitConfig, FitResult, fit, unwrap
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import (
    BEST,
    TRAINING_KEYS,
    check_resume_settings,
    check_resume_validation,
    check_run_dir,
    write_run_settings,
)
from clipcop.engine.seeding import seed_everything
from clipcop.engine.tracking import make_tracker
from clipcop.errors import CheckpointError, DataError, UsageError
from clipcop.heads.vcop import VCOPModel
from clipcop.paths import why_not
from clipcop.results import PretrainRecord
from clipcop.workflows.cache import frame_source
from clipcop.workflows.data import (
    PreparedVideos,
    hold_out,
    listed_training,
    prepare_videos,
    recorded_data,
    validation_fingerprint,
)
from clipcop.workflows.models import load_backbone_weights


@dataclass(frozen=True, kw_only=True)
class PretrainConfig(FlatOptions):
    """Every option of ``clipcop pretrain``, as specs with the paper's defaults (Sec. IV-A).

    cl 16, it 8, tl 3; frames resized to 128x171, 112 crops; SGD lr 1e-3, momentum 0.9, weight decay
    5e-4; 8 tuples per batch; 300 epochs; 800 training videos held out for validation. Build it from flat
    keywords with ``PretrainConfig.from_options(arch="r3d", epochs=5)``.
    """

    model: ModelSpec = field(default_factory=ModelSpec)
    tuples: TupleSpec = field(default_factory=TupleSpec)
    geometry: ClipGeometry = field(default_factory=ClipGeometry)
    data: DataSpec = field(default_factory=DataSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    run: RunSpec = field(default_factory=RunSpec)
    init: str | None = None
    """Start from this VCOP checkpoint (any tl): the task curriculum's stages chain this way."""
    train_list: str | None = None
    """Train only on the videos listed in this file (the sample curriculum's hard samples)."""

    def run_name(self) -> str:
        """The default run folder name, e.g. ``vcop-r3d-16-8-3``."""
        return f"vcop-{self.model.arch}-{self.tuples.label()}"


@dataclass
class PretrainResult:
    """A finished pretraining run: where it is, its best checkpoint and its test order accuracy."""

    run_dir: Path
    best_checkpoint: Path
    fit: FitResult
    test_accuracy: float
    test_loss: float
    per_class: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Listed videos left out of the run: ``missing``, ``unreadable``, ``too_short`` for the tuple span."""

    def record(self) -> PretrainRecord:
        """What ``clipcop pretrain`` prints (:mod:`clipcop.results`)."""
        return PretrainRecord(
            run_dir=str(self.run_dir),
            checkpoint=str(self.best_checkpoint),
            best_epoch=self.fit.best_epoch,
            val_loss=self.fit.best_val_loss,
            test_order_accuracy=self.test_accuracy,
            per_class=dict(self.per_class),
            skipped=dict(self.skipped),
        )


def select_tuples(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["clips"], batch["target"]


def build_vcop_model(config: PretrainConfig, reporter: Reporter) -> VCOPModel:
    """A VCOP model for ``config``; with ``config.init``, weights carried over from that checkpoint.

    For the task-based curriculum (Sec. III-D.1) a checkpoint with another ``tl`` gives the backbone and
    the pair layer; the ``tl!``-way output layer starts fresh. The same ``tl`` gives everything.
    """
    model = VCOPModel(
        build_backbone(config.model.arch, width=config.model.width), config.tuples.tuple_len, config.model.dropout
    )
    if config.init is None:
        return model
    check_init(config)
    ckpt = load_checkpoint(config.init, kind="vcop")
    tuple_len = ckpt.card.tuple_len
    load_backbone_weights(model.backbone, ckpt)
    head = ckpt.section("head")
    carried = {k: v for k, v in head.items() if k.startswith("pair_fc.")}
    if tuple_len == config.tuples.tuple_len:
        carried = head
    model.head.load_state_dict(carried, strict=False)
    what = "backbone and whole head" if carried is head else "backbone and pair layer (new order layer)"
    reporter.info(f"initialised from {config.init} (tl={tuple_len}): {what}")
    return model


def check_init(config: PretrainConfig) -> None:
    """Refuse an ``--init`` checkpoint that is not a VCOP model of this arch and width (read from its header
    alone, so this runs before any video is probed)."""
    if config.init is None:
        return
    if not Path(config.init).is_file():
        raise UsageError(f"--init {config.init} {why_not(Path(config.init), 'file')}")
    card = read_card(config.init)
    if card.kind != "vcop":
        raise CheckpointError(f"{config.init} is a {card.kind!r} checkpoint, not 'vcop'")
    if card.arch != config.model.arch or card.width != config.model.width:
        raise CheckpointError(
            f"{config.init} holds {card.arch} width {card.width}, not {config.model.arch} width {config.model.width}"
        )


def restrict(videos: list[VideoRef], prepared: PreparedVideos, listing: str, reporter: Reporter) -> list[VideoRef]:
    """Keep the training videos named in the file ``listing`` (one path relative to the video root per
    line); validation is unaffected. The sample-based curriculum trains on its hard samples this way."""
    path = Path(listing)
    if not path.is_file():
        raise UsageError(f"--train-list {path} does not exist")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise UsageError(f"cannot read --train-list {path}: not a text file") from None
    root = prepared.dataset.video_root
    wanted = {_listed(line.strip(), root) for line in text.splitlines() if line.strip()}
    kept = [v for v in videos if v.path.relative_to(root).as_posix() in wanted]
    if not kept:
        raise DataError(f"none of the videos in {path} is a usable training video of this dataset")
    reporter.info(f"training on the {len(kept)} of {len(videos)} training videos listed in {path}")
    unused = sorted(wanted - {v.path.relative_to(root).as_posix() for v in kept})
    if unused:
        reporter.warn(
            f"{len(unused)} videos listed in {path} are not usable training videos here (missing, unreadable, "
            f"too short, held out for validation or in the test split), e.g. {unused[0]}"
        )
    return kept


def _listed(line: str, root: Path) -> str:
    """A ``--train-list`` line as a path relative to the video root (absolute paths under it are fine)."""
    path = Path(line)
    if path.is_absolute():  # compared as real paths: --data may be relative or reached through a link
        real, real_root = path.resolve(), root.resolve()
        if real.is_relative_to(real_root):
            return real.relative_to(real_root).as_posix()
    return line.replace("\\", "/")


def make_optimizer(config: TrainingSpec, params: Any) -> torch.optim.Optimizer:
    """SGD with momentum and weight decay (the paper), or Adam (handy on tiny CPU runs); pretraining and
    fine-tuning alike."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


TEST_OUTPUTS = ("test_order_accuracy.json", "test_order_accuracy.csv")
"""The files a run writes at its end, beside its checkpoints and ``metrics.jsonl``."""

RESUME_KEYS = (
    "arch",
    "width",
    "clip_len",
    "interval",
    "tuple_len",
    "resize",
    "crop",
    "dropout",
    "train_list",
    "init",
    *TRAINING_KEYS,
)
"""The settings a ``--resume`` must keep (:func:`clipcop.engine.run_dir.check_resume_settings`)."""


def prepare_tuple_videos(config: PretrainConfig, reporter: Reporter) -> PreparedVideos:
    """The dataset's videos, probed, with those too short for the tuple span set aside (and said so).

    Raises :class:`DataError` when no training video is long enough for ``cl``/``it``/``tl``.
    """
    spec = config.tuples
    prepared = prepare_videos(
        config.data.folder,
        split=config.data.split,
        dataset=config.data.layout,
        min_frames=spec.span,
        workers=config.data.workers,
        backend=config.data.backend,
        reporter=reporter,
    )
    if not prepared.train:
        listed = prepared.dataset.subset("train")
        if not listed:
            raise DataError(f"split {config.data.split} of {prepared.dataset.data_root} has no training videos")
        if not any(item.path in prepared.too_short for item in listed):
            raise DataError(f"none of the {len(listed)} training videos could be read (see the warning above)")
        raise DataError(
            f"no training video is long enough for cl={spec.clip_len} it={spec.interval} tl={spec.tuple_len} "
            f"(span {spec.span} frames)"
        )
    return prepared


def pretrain(
    config: PretrainConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> PretrainResult:
    """Train a 3D CNN by video clip order prediction and test its order accuracy.

    Options are the fields of :class:`PretrainConfig` (given as a config, keywords, or both).
    """
    config = from_flat(PretrainConfig, options, base=config)
    reporter = reporter or Reporter()
    run_dir = Path(config.run.out) if config.run.out else Path("runs") / config.run_name()
    check_run_dir(run_dir, config.run.resume, TEST_OUTPUTS)
    if config.run.resume:
        check_resume_settings(run_dir, config.flat(), RESUME_KEYS)
    check_init(config)
    write_run_settings(run_dir, config, "clipcop pretrain")
    tracker = make_tracker(config.run.log, run_dir)  # before any work: a missing extra is said at once
    runtime = resolve_runtime(config.run.device, config.run.precision)
    init_distributed(runtime.device)
    spec = config.tuples
    prepared = prepare_tuple_videos(config, reporter)
    train_videos, val_videos = hold_out(
        prepared.train, config.training.val_size, reporter, listed=listed_training(prepared)
    )
    if config.run.resume:
        check_resume_validation(run_dir, validation_fingerprint(val_videos))
    if config.train_list is not None:
        train_videos = restrict(train_videos, prepared, config.train_list, reporter)
    seed_everything(config.training.seed)
    geometry = config.geometry
    frames = frame_source(config.data.frame_cache, config.data.backend)
    datasets = {
        "train": VCOPTupleDataset(
            train_videos,
            spec,
            geometry,
            train=True,
            seed=config.training.seed,
            source=frames,
        ),
        "val": VCOPTupleDataset(
            val_videos,
            spec,
            geometry,
            train=False,
            seed=config.training.seed,
            source=frames,
        ),
    }
    model = cast(VCOPModel, runtime.prepare(build_vcop_model(config, reporter)))
    optimizer = make_optimizer(config.training, model.parameters())
    forward_model = cast(nn.Module, torch.compile(model)) if config.run.compile else model
    reporter.info(
        f"VCOP {config.model.arch} width {config.model.width}, tuples {spec.label()} (span {spec.span}), "
        f"{len(train_videos)} train / {len(val_videos)} val videos, device {runtime.device} ({runtime.precision})"
    )

    def describe(info: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "vcop",
            "arch": config.model.arch,
            "width": config.model.width,
            "clip_len": config.tuples.clip_len,
            "interval": config.tuples.interval,
            "tuple_len": config.tuples.tuple_len,
            "resize": list(config.geometry.resize),
            "crop": config.geometry.crop,
            "seed": config.training.seed,
            "epoch": info["epoch"],
            "step": info["step"],
            "metrics": {k: info["metrics"][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
            "config": {**config.flat(), "data": recorded_data(config.data.folder)},
            "data": prepared.describe(),
            "validation": validation_fingerprint(val_videos),
            "created": now_iso(),
            "init": config.init,
        }

    fit_config = FitConfig(
        epochs=config.training.epochs,
        batch_size=config.training.batch_size,
        workers=config.data.workers,
        seed=config.training.seed,
        schedule=config.training.schedule,
        steps_per_epoch=config.training.steps_per_epoch,
    )
    result = fit(
        forward_model,
        train_set=datasets["train"],
        val_set=datasets["val"],
        select=select_tuples,
        optimizer=optimizer,
        config=fit_config,
        runtime=runtime,
        run_dir=run_dir,
        describe=describe,
        resume=config.run.resume,
        tracker=tracker,
        reporter=reporter,
        unit="tuples",
    )
    return replace(_test(config, model, prepared, run_dir, result, runtime, reporter), skipped=prepared.skipped())


def _test(
    config: PretrainConfig,
    model: VCOPModel,
    prepared: Any,
    run_dir: Path,
    result: FitResult,
    runtime: Any,
    reporter: Reporter,
) -> PretrainResult:
    """Order accuracy of the best checkpoint on the test split, overall and per class (Fig. 5)."""
    best = run_dir / BEST
    ckpt = load_checkpoint(best, kind="vcop")
    unwrap(model).load_state_dict(ckpt.tensors)
    if not prepared.test:
        reporter.warn("the test split has no usable video: no test order accuracy")
        return PretrainResult(run_dir, best, result, float("nan"), float("nan"))
    frames = frame_source(config.data.frame_cache, config.data.backend)
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
        scored = ckpt.card.with_metrics(test_loss=outcome.mean_loss, test_acc=outcome.accuracy)
        save_checkpoint(best, ckpt.tensors, scored.to_meta())
    tuples = config.tuples
    table = Table(title=f"Test order accuracy, tl={tuples.tuple_len} (chance {1 / tuples.num_orders:.1%})")
    table.add_column("class")
    table.add_column("videos", justify="right")
    table.add_column("order accuracy", justify="right")
    for k, (c, n) in sorted(outcome.per_label().items()):
        table.add_row(classes[k] if classes else str(k), str(n), f"{c / n:.1%}")
    table.add_row("all", str(len(outcome.correct)), f"{outcome.accuracy:.1%}", style="bold")
    reporter.table(table)
    return PretrainResult(run_dir, best, result, outcome.accuracy, outcome.mean_loss, per_class)


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
