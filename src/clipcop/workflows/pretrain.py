"""VCOP pretraining (Sec. III, IV-A): ``clipcop pretrain`` as a library function.

>>> from clipcop.workflows.pretrain import pretrain  # doctest: +SKIP
>>> result = pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)  # doctest: +SKIP
>>> result.test_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from clipcop.backbones import build_backbone
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.config import (
    CHOICE_FLAGS,
    ClipGeometry,
    DataSpec,
    FlatOptions,
    ModelSpec,
    RunSpec,
    TrainingSpec,
    TupleSpec,
    from_flat,
)
from clipcop.engine.checkpoint import load_checkpoint, read_card
from clipcop.engine.fit import FitResult
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import BEST, TRAINING_KEYS
from clipcop.engine.seeding import seed_everything
from clipcop.errors import CheckpointError, DataError, UsageError
from clipcop.heads.vcop import VCOPModel
from clipcop.paths import why_not
from clipcop.results import PretrainRecord
from clipcop.workflows.cache import frame_source
from clipcop.workflows.cpu_estimate import warn_slow_cpu_epoch
from clipcop.workflows.data import (
    PreparedVideos,
    prepare_data,
    recorded_data,
    restrict,
    validation_fingerprint,
)
from clipcop.workflows.models import load_backbone_weights
from clipcop.workflows.pretrain_test import TEST_OUTPUTS, select_tuples, test_order_accuracy
from clipcop.workflows.training import RunKind, checkpoint_meta, open_run, run_lock, split_validation, train


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


def build_vcop_model(config: PretrainConfig, reporter: Reporter) -> VCOPModel:
    """A VCOP model for ``config``; with ``config.init``, weights carried over from that checkpoint.

    For the task-based curriculum (Sec. III-D.1) a checkpoint with another ``tl`` gives the backbone and
    the pair layer; the ``tl!``-way output layer starts fresh. The same ``tl`` gives everything.
    """
    backbone = build_backbone(config.model.arch, width=config.model.width, choices=config.model.choices())
    model = VCOPModel(backbone, config.tuples.tuple_len, config.model.dropout)
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
    """Refuse an ``--init`` checkpoint that is not a VCOP model of this arch, width and parity switches
    (read from its header alone, so this runs before any video is probed)."""
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
    recorded, asked = card.choices(), config.model.choices()
    for key in ("weight_init", "pixels", "shortcut"):
        if getattr(recorded, key) != getattr(asked, key):
            raise CheckpointError(
                f"{config.init} was made with {CHOICE_FLAGS[key]} {getattr(recorded, key)}, not "
                f"{getattr(asked, key)}: continue with its settings (or --protocol {recorded.protocol})"
            )


RESUME_KEYS = (
    "arch",
    "width",
    "clip_len",
    "interval",
    "tuple_len",
    "resize",
    "crop",
    "dropout",
    "protocol",
    *CHOICE_FLAGS,
    "train_list",
    "init",
    *TRAINING_KEYS,
)
"""The settings a ``--resume`` must keep (:func:`clipcop.engine.run_dir.check_resume_settings`)."""

PRETRAIN_RUN = RunKind("clipcop pretrain", TEST_OUTPUTS, RESUME_KEYS)


def prepare_tuple_videos(config: PretrainConfig, reporter: Reporter) -> PreparedVideos:
    """The dataset's videos, probed, with those too short for the tuple span set aside (and said so).

    Raises :class:`DataError` when no training video is long enough for ``cl``/``it``/``tl``.
    """
    spec = config.tuples
    prepared = prepare_data(config.data, reporter, min_frames=spec.span)
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
    with run_lock(run_dir, reporter):
        return _pretrain_locked(config, run_dir, reporter)


def _pretrain_locked(config: PretrainConfig, run_dir: Path, reporter: Reporter) -> PretrainResult:
    """:func:`pretrain` inside its run folder's lock."""
    opened = open_run(PRETRAIN_RUN, run_dir, config, config.run, checks=[lambda: check_init(config)])
    choices = config.model.choices()
    opened = replace(opened, runtime=opened.runtime.with_pixels(choices.pixels))
    spec = config.tuples
    prepared = prepare_tuple_videos(config, reporter)
    train_videos, val_videos = split_validation(prepared, config.training, opened, reporter)
    if config.train_list is not None:
        train_videos = restrict(train_videos, prepared, config.train_list, reporter)
    seed_everything(config.training.seed)
    frames = frame_source(config.data.frame_cache, config.data.backend, config.data.decode_on)

    def tuples(videos: list[VideoRef], train: bool) -> VCOPTupleDataset:
        return VCOPTupleDataset(videos, spec, config.geometry, train=train, seed=config.training.seed, source=frames)

    model = cast(VCOPModel, opened.runtime.prepare(build_vcop_model(config, reporter)))
    reporter.info(
        f"VCOP {config.model.arch} width {config.model.width} ({choices.protocol} protocol), "
        f"tuples {spec.label()} (span {spec.span}), "
        f"{len(train_videos)} train / {len(val_videos)} val videos, "
        f"device {opened.runtime.device} ({opened.runtime.precision})"
    )
    warn_slow_cpu_epoch(
        opened.runtime.device,
        reporter,
        arch=config.model.arch,
        width=config.model.width,
        choices=config.model.choices(),
        clip_len=spec.clip_len,
        crop=config.geometry.crop,
        training=config.training,
        clips_per_sample=spec.tuple_len,
        samples=len(train_videos),
    )
    model_entries = {
        "arch": config.model.arch,
        "width": config.model.width,
        "clip_len": spec.clip_len,
        "interval": spec.interval,
        "tuple_len": spec.tuple_len,
        "resize": list(config.geometry.resize),
        "crop": config.geometry.crop,
        **choices.entries(),
        "seed": config.training.seed,
        "config": {**config.flat(), "data": recorded_data(config.data.folder)},
        "data": prepared.describe(),
        "validation": validation_fingerprint(val_videos),
        "init": config.init,
    }
    result = train(
        model,
        opened,
        train_set=tuples(train_videos, True),
        val_set=tuples(val_videos, False),
        select=select_tuples,
        training=config.training,
        workers=config.data.workers,
        compile_model=config.run.compile,
        describe=lambda info: checkpoint_meta("vcop", info, **model_entries),
        reporter=reporter,
        unit="tuples",
    )
    tested = test_order_accuracy(config, model, prepared, run_dir, opened.runtime, reporter, frames)
    return PretrainResult(run_dir, run_dir / BEST, result, *tested, skipped=prepared.skipped())
