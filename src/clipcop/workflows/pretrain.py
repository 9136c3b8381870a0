"""VCOP pretraining (Sec. III, IV-A): ``clipcop pretrain`` as a library function.

>>> from clipcop.workflows.pretrain import pretrain  # doctest: +SKIP
>>> result = pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)  # doctest: +SKIP
>>> result.test_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, cast

import torch
from rich.table import Table
from torch import nn

from clipcop.backbones import ARCHS, build_backbone
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.config import ClipGeometry, TupleSpec, check_seed
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, read_card, save_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.distributed import init_distributed, is_main
from clipcop.engine.evaluate import EvalResult, evaluate_classifier
from clipcop.engine.fit import FitConfig, FitResult, fit, unwrap
from clipcop.engine.loading import Batch
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import BEST, TRAINING_KEYS, check_resume_settings, check_resume_validation, check_run_dir
from clipcop.engine.seeding import seed_everything
from clipcop.errors import CheckpointError, DataError, UsageError
from clipcop.heads.vcop import VCOPModel
from clipcop.paths import why_not
from clipcop.workflows.cache import frame_reader
from clipcop.workflows.data import (
    PreparedVideos,
    hold_out,
    listed_training,
    prepare_videos,
    recorded_data,
    validation_fingerprint,
)
from clipcop.workflows.models import load_backbone_weights, now_iso

OPTIMIZERS = ("sgd", "adam")


class TrainingOptions(Protocol):
    """The options pretraining and fine-tuning share (read from either config)."""

    @property
    def epochs(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def optimizer(self) -> str: ...

    @property
    def lr(self) -> float: ...

    @property
    def momentum(self) -> float: ...

    @property
    def weight_decay(self) -> float: ...

    @property
    def schedule(self) -> str: ...

    @property
    def val_size(self) -> int: ...

    @property
    def workers(self) -> int: ...

    @property
    def seed(self) -> int: ...

    @property
    def steps_per_epoch(self) -> int | None: ...


def check_training_options(options: TrainingOptions) -> None:
    """Refuse training options that cannot work, naming the flag, before any video is read.

    Shared by pretraining and fine-tuning. NaN fails every comparison, so ranges are written to reject it.
    """
    epochs, batch_size, lr, seed = options.epochs, options.batch_size, options.lr, options.seed
    momentum, weight_decay, workers = options.momentum, options.weight_decay, options.workers
    optimizer, val_size, steps_per_epoch = options.optimizer, options.val_size, options.steps_per_epoch
    if optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive number, not {lr}")
    if not 0 <= momentum < 1:
        raise UsageError(f"--momentum must be at least 0 and below 1, not {momentum}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise UsageError(f"--weight-decay must be 0 or more, not {weight_decay}")
    for flag, value in (("--epochs", epochs), ("--batch-size", batch_size), ("--val-size", val_size)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise UsageError(f"--steps-per-epoch must be at least 1 when given, not {steps_per_epoch}")
    if workers < 0:
        raise UsageError(f"--workers must be 0 or more, not {workers}")
    check_seed(seed)
    FitConfig(epochs=epochs, batch_size=batch_size, workers=workers, seed=seed, schedule=options.schedule)


@dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """Every option of ``clipcop pretrain``, with the paper's defaults (Sec. IV-A).

    cl 16, it 8, tl 3; frames resized to 128x171, 112 crops; SGD lr 1e-3, momentum 0.9, weight decay
    5e-4; 8 tuples per batch; 300 epochs; 800 training videos held out for validation.
    """

    arch: str = "r3d"
    width: int = 64
    clip_len: int = 16
    interval: int = 8
    tuple_len: int = 3
    resize: tuple[int, int] = (128, 171)
    crop: int = 112
    data: str | None = "synthetic"
    dataset: str | None = None
    split: int = 1
    epochs: int = 300
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "constant"
    dropout: float = 0.5
    val_size: int = 800
    workers: int = 4
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    out: str | None = None
    resume: bool = False
    init: str | None = None
    train_list: str | None = None
    steps_per_epoch: int | None = None
    backend: str = "auto"
    frame_cache: str | None = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        self.tuple_spec()  # validates cl/it/tl
        ClipGeometry(resize=self.resize, crop=self.crop)
        check_training_options(self)
        if not 0 <= self.dropout < 1:
            raise UsageError(f"--dropout must be at least 0 and below 1, not {self.dropout}")
        if self.arch not in ARCHS:
            raise UsageError(f"unknown arch {self.arch!r}; choose one of: {', '.join(ARCHS)}")

    def tuple_spec(self) -> TupleSpec:
        """The tuple this run samples."""
        return TupleSpec(clip_len=self.clip_len, interval=self.interval, tuple_len=self.tuple_len)

    def geometry(self) -> ClipGeometry:
        """Resize and crop."""
        return ClipGeometry(resize=self.resize, crop=self.crop)

    def run_name(self) -> str:
        """The default run folder name, e.g. ``vcop-r3d-16-8-3``."""
        return f"vcop-{self.arch}-{self.tuple_spec().label()}"


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


def select_tuples(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["clips"], batch["target"]


def build_vcop_model(config: PretrainConfig, reporter: Reporter) -> VCOPModel:
    """A VCOP model for ``config``; with ``config.init``, weights carried over from that checkpoint.

    For the task-based curriculum (Sec. III-D.1) a checkpoint with another ``tl`` gives the backbone and
    the pair layer; the ``tl!``-way output layer starts fresh. The same ``tl`` gives everything.
    """
    model = VCOPModel(build_backbone(config.arch, width=config.width), config.tuple_len, config.dropout)
    if config.init is None:
        return model
    check_init(config)
    ckpt = load_checkpoint(config.init, kind="vcop")
    tuple_len = ckpt.card.tuple_len
    load_backbone_weights(model.backbone, ckpt)
    head = ckpt.section("head")
    carried = {k: v for k, v in head.items() if k.startswith("pair_fc.")}
    if tuple_len == config.tuple_len:
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
    if card.arch != config.arch or card.width != config.width:
        raise CheckpointError(
            f"{config.init} holds {card.arch} width {card.width}, not {config.arch} width {config.width}"
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


def make_optimizer(config: TrainingOptions, params: Any) -> torch.optim.Optimizer:
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
    spec = config.tuple_spec()
    prepared = prepare_videos(
        config.data,
        split=config.split,
        dataset=config.dataset,
        min_frames=spec.span,
        workers=config.workers,
        backend=config.backend,
        reporter=reporter,
    )
    if not prepared.train:
        listed = prepared.dataset.subset("train")
        if not listed:
            raise DataError(f"split {config.split} of {prepared.dataset.data_root} has no training videos")
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
    config = replace(config, **options) if config else PretrainConfig(**options)
    reporter = reporter or Reporter()
    run_dir = Path(config.out) if config.out else Path("runs") / config.run_name()
    check_run_dir(run_dir, config.resume, TEST_OUTPUTS)
    if config.resume:
        check_resume_settings(run_dir, asdict(config), RESUME_KEYS)
    check_init(config)
    runtime = resolve_runtime(config.device, config.precision)
    init_distributed(runtime.device)
    spec = config.tuple_spec()
    prepared = prepare_tuple_videos(config, reporter)
    train_videos, val_videos = hold_out(prepared.train, config.val_size, reporter, listed=listed_training(prepared))
    if config.resume:
        check_resume_validation(run_dir, validation_fingerprint(val_videos))
    if config.train_list is not None:
        train_videos = restrict(train_videos, prepared, config.train_list, reporter)
    seed_everything(config.seed)
    geometry = config.geometry()
    frames = frame_reader(config.frame_cache)
    datasets = {
        "train": VCOPTupleDataset(
            train_videos, spec, geometry, train=True, seed=config.seed, backend=config.backend, frames=frames
        ),
        "val": VCOPTupleDataset(
            val_videos, spec, geometry, train=False, seed=config.seed, backend=config.backend, frames=frames
        ),
    }
    model = cast(VCOPModel, runtime.prepare(build_vcop_model(config, reporter)))
    optimizer = make_optimizer(config, model.parameters())
    forward_model = cast(nn.Module, torch.compile(model)) if config.compile else model
    reporter.info(
        f"VCOP {config.arch} width {config.width}, tuples {spec.label()} (span {spec.span}), "
        f"{len(train_videos)} train / {len(val_videos)} val videos, device {runtime.device} ({runtime.precision})"
    )

    def describe(info: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "vcop",
            "arch": config.arch,
            "width": config.width,
            "clip_len": config.clip_len,
            "interval": config.interval,
            "tuple_len": config.tuple_len,
            "resize": list(config.resize),
            "crop": config.crop,
            "seed": config.seed,
            "epoch": info["epoch"],
            "step": info["step"],
            "metrics": {k: info["metrics"][k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")},
            "config": {**asdict(config), "data": recorded_data(config.data)},
            "data": prepared.describe(),
            "validation": validation_fingerprint(val_videos),
            "created": now_iso(),
            "init": config.init,
        }

    fit_config = FitConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        workers=config.workers,
        seed=config.seed,
        schedule=config.schedule,
        steps_per_epoch=config.steps_per_epoch,
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
        resume=config.resume,
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
    frames = frame_reader(config.frame_cache)
    test_set = VCOPTupleDataset(
        prepared.test,
        config.tuple_spec(),
        config.geometry(),
        train=False,
        seed=config.seed,
        backend=config.backend,
        frames=frames,
    )
    outcome = evaluate_classifier(
        model, test_set, select_tuples, runtime, batch_size=config.batch_size, workers=config.workers
    )
    classes = prepared.dataset.classes
    per_class = {classes[k]: c / n for k, (c, n) in outcome.per_label().items()} if classes else {}
    if is_main():
        _write_test_report(run_dir, outcome, classes)
        scored = ckpt.card.with_metrics(test_loss=outcome.mean_loss, test_acc=outcome.accuracy)
        save_checkpoint(best, ckpt.tensors, scored.to_meta())
    table = Table(title=f"Test order accuracy, tl={config.tuple_len} (chance {1 / config.tuple_spec().num_orders:.1%})")
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
