"""``clipcop extract``: features of N evenly spaced clips per video from a checkpoint, a random model, or
torchvision's Kinetics-supervised video ResNets.

>>> from clipcop.workflows.extract import extract  # doctest: +SKIP
>>> extract(checkpoint="runs/vcop-r3d-16-8-3/best.safetensors", data="~/data/UCF101", subset="test")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from clipcop._version import __version__
from clipcop.backbones.base import TAPS, VideoBackbone
from clipcop.backbones.torchvision_video import check_torchvision_choices
from clipcop.backbones.torchvision_weights import KINETICS, kinetics_weights_name
from clipcop.config import (
    ARCH_NAMES,
    CHOICE_FLAGS,
    FEATURE_DTYPES,
    POOL5_CHOICES,
    POOLS,
    TORCHVISION_ARCHS,
    ClipGeometry,
    DataSpec,
    FlatOptions,
    ModelChoices,
    check_seed,
    from_flat,
)
from clipcop.engine.card import CheckpointCard
from clipcop.engine.device import resolve_runtime
from clipcop.engine.distributed import broadcast_object, init_distributed, is_main
from clipcop.engine.reporting import Reporter
from clipcop.engine.seeding import seed_everything
from clipcop.errors import CheckpointError, DataError, UsageError
from clipcop.features.extract import ExtractionStats, extract_to_files
from clipcop.features.store import is_feature_file, read_features
from clipcop.outputs import Output, check_outputs
from clipcop.paths import cache_dir
from clipcop.videos.layouts import Subset
from clipcop.workflows.cache import frame_source
from clipcop.workflows.data import PreparedVideos, note_short_videos, prepare_data
from clipcop.workflows.models import SOURCE_CHOICES, backbone_from, weights_need_torchvision_arch

DTYPES = FEATURE_DTYPES
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ModelSource:
    """Where features come from: a checkpoint, a random initialisation (the paper's baseline), or one of
    torchvision's video ResNets with ``weights`` (``kinetics400``: its Kinetics-supervised weights, or a
    state dict file), e.g. ``ModelSource(arch="r3d_18", weights="kinetics400")``.

    ``clip_len``, ``resize``, ``crop`` and ``width`` default to the checkpoint's metadata; for a random
    or torchvision model they default to the paper's (16 frames, 128x171, 112, width 64), like
    ``pretrain``'s flags, which are also the geometry torchvision's Kinetics weights were trained at.
    ``protocol``, ``weight_init``, ``pixels`` and ``shortcut`` (:class:`clipcop.config.ModelChoices`) build a
    random model as ``pretrain``'s flags do; a checkpoint's model uses the ones it records, and any given
    with it must agree. torchvision's networks have one setting of each (standardised pixels: its
    Kinetics statistics), and refuse any other.
    """

    checkpoint: str | None = None
    random: bool = False
    arch: str | None = None
    weights: str | None = None
    width: int | None = None
    seed: int = 0
    clip_len: int | None = None
    resize: tuple[int, int] | None = None
    crop: int | None = None
    protocol: str | None = None
    weight_init: str | None = None
    pixels: str | None = None
    shortcut: str | None = None

    def __post_init__(self) -> None:
        choices = self.choices()  # refuses an unknown protocol or switch value
        if sum((self.random, self.checkpoint is not None, self.weights is not None)) != 1:
            raise UsageError(SOURCE_CHOICES)
        if self.random and self.arch is None:
            raise UsageError(f"--random needs --arch ({', '.join(ARCH_NAMES + TORCHVISION_ARCHS)})")
        if self.weights is not None and self.arch not in TORCHVISION_ARCHS:
            raise weights_need_torchvision_arch(self.arch)
        if self.arch in TORCHVISION_ARCHS and self.checkpoint is None:
            check_torchvision_choices(
                self.arch,
                width=self.width,
                weight_init=choices.weight_init,
                pixels=choices.pixels,
                shortcut=choices.shortcut,
            )
        for flag, value in (("--width", self.width), ("--cl", self.clip_len), ("--crop", self.crop)):
            if value is not None and value < 1:
                raise UsageError(f"{flag} must be at least 1, not {value}")
        check_seed(self.seed)

    def build(self, note: Any = None) -> tuple[VideoBackbone, CheckpointCard, int, ClipGeometry]:
        """The backbone, its card, and the clip length and geometry to feed it (``note`` hears of a
        download of torchvision's weights)."""
        if self.random:
            seed_everything(self.seed)
            backbone, card = backbone_from(random_arch=self.arch, width=self.width, choices=self.choices())
            card = replace(card, seed=self.seed)
            defaults = CheckpointCard(kind="random", clip_len=16, resize=(128, 171), crop=112)
        elif self.weights is not None:
            backbone, card = backbone_from(arch=self.arch, weights=self.weights, width=self.width, note=note)
            defaults = CheckpointCard(kind="torchvision", clip_len=16, resize=(128, 171), crop=112)
        else:
            backbone, card = backbone_from(checkpoint=self.checkpoint, arch=self.arch, width=self.width)
            self._check_recorded(card)
            defaults = card
        clip_len = _first(self.clip_len, defaults.clip_len, 16)
        resize = _first(self.resize, defaults.resize, (128, 171))
        crop = _first(self.crop, defaults.crop, 112)
        return backbone, card, clip_len, ClipGeometry(resize=(int(resize[0]), int(resize[1])), crop=crop)

    def choices(self) -> ModelChoices:
        """The parity switches asked for (``protocol``'s preset with the switches given on top)."""
        given = {"weight_init": self.weight_init, "pixels": self.pixels, "shortcut": self.shortcut}
        return ModelChoices.resolve(self.protocol, **given)

    def _check_recorded(self, card: CheckpointCard) -> None:
        """Refuse a switch (or a ``protocol``'s) that differs from what the checkpoint was made with."""
        recorded, asked = card.choices(), self.choices()
        for key in ("weight_init", "pixels", "shortcut"):
            if self.protocol is None and getattr(self, key) is None:
                continue
            if getattr(asked, key) != getattr(recorded, key):
                flag = CHOICE_FLAGS[key]
                raise CheckpointError(
                    f"{self.checkpoint} was made with {flag} {getattr(recorded, key)}, not {getattr(asked, key)} "
                    f"(leave {flag} and --protocol out to use the checkpoint's)"
                )

    def weights_file(self) -> str | None:
        """The state dict file of ``--weights FILE`` (None for ``kinetics400`` or no weights)."""
        return self.weights if self.weights not in (None, KINETICS) else None

    def identity(self) -> dict[str, Any]:
        """What determines the model's weights and input (for cache keys)."""
        if self.random:
            return {"random": self.arch, "width": self.width, "seed": self.seed, **self.choices().entries()}
        if self.weights == KINETICS:
            assert self.arch is not None
            return {"torchvision": self.arch, "weights": kinetics_weights_name(self.arch)}
        path = Path(str(self.weights_file() or self.checkpoint)).expanduser().resolve()
        try:
            stat = path.stat()
        except OSError:
            raise UsageError(f"{path}: no such file") from None
        key = "checkpoint" if self.checkpoint is not None else "weights"
        extra = {"torchvision": self.arch} if self.checkpoint is None else {}
        return {key: str(path), **extra, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _first(given: T | None, recorded: T | None, default: T) -> T:
    """An option's value: as given, else as the checkpoint records it, else the paper's."""
    return given if given is not None else recorded if recorded is not None else default


@dataclass(frozen=True, kw_only=True)
class ExtractConfig(FlatOptions):
    """Every option of ``clipcop extract``: the model, the videos (:class:`DataSpec`), and what to extract.
    ``ExtractConfig.from_options(source=..., data="~/data/UCF101", subset="test")`` takes flat keywords."""

    source: ModelSource
    data: DataSpec = field(default_factory=DataSpec)
    subset: Subset = "all"
    clips: int = 10
    layer: str = "conv5"
    pool: str = "global"
    pool5: str | None = None
    """How ``--pool spatiotemporal`` pools conv5: ``adaptive`` or ``strided`` (the official layer); default:
    the model's own choice (its checkpoint's, or ``--protocol``'s for a random model)."""
    batch_size: int = 8
    device: str = "auto"
    precision: str = "auto"
    dtype: str = "float32"
    out: str | None = None

    def __post_init__(self) -> None:
        if self.layer not in TAPS:
            raise UsageError(f"unknown layer {self.layer!r}; choose one of {', '.join(TAPS)}")
        if self.pool not in POOLS:
            raise UsageError(f"unknown pooling {self.pool!r}; choose one of {', '.join(POOLS)}")
        if self.pool5 is not None and self.pool5 not in POOL5_CHOICES:
            raise UsageError(f"--pool5 must be one of {', '.join(POOL5_CHOICES)}, not {self.pool5!r}")
        if self.clips < 1:
            raise UsageError(f"--clips must be at least 1, not {self.clips}")
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown dtype {self.dtype!r}; choose one of {', '.join(DTYPES)}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, not {self.batch_size}")


def data_fingerprint(prepared: PreparedVideos) -> str:
    """A digest of the dataset's contents: every video's path, size and modification time, the split's
    membership and the class names, so that cached features of a folder whose videos changed are not reused."""
    digest = hashlib.sha1()
    for rel, entry in sorted(prepared.manifest.entries.items()):
        digest.update(f"{rel}\0{entry.size}\0{entry.mtime_ns}\n".encode())
    root = prepared.dataset.video_root
    for name, refs in (("train", prepared.train), ("test", prepared.test)):
        digest.update(f"{name}:{len(refs)}\n".encode())
        for ref in refs:  # relative: the same folder spelled another way keeps its key
            rel = ref.path.relative_to(root).as_posix() if ref.path.is_relative_to(root) else str(ref.path)
            digest.update(f"{rel}\0{ref.label}\n".encode())
    digest.update("\0".join(prepared.dataset.classes).encode())
    return digest.hexdigest()


def cache_key(config: ExtractConfig, prepared: PreparedVideos, precision: str) -> str:
    """A key fixed by everything that changes the features (model, data and its contents, split, layer,
    pooling, clips, the decoder asked for and the arithmetic: bf16 features never stand in for fp32)."""
    items = {
        "source": config.source.identity(),
        "geometry": [config.source.clip_len, config.source.resize, config.source.crop],
        "data": str(prepared.dataset.data_root.resolve()),
        "contents": data_fingerprint(prepared),
        "layout": prepared.dataset.layout,
        "split": config.data.split,
        "subset": config.subset,
        "clips": config.clips,
        "layer": config.layer,
        "pool": config.pool,
        "pool5": config.pool5,
        "dtype": config.dtype,
        "precision": precision,
        "backend": config.data.backend,
        "version": __version__,
    }
    return hashlib.sha1(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:20]


def check_feature_out(out: Path, reporter: Reporter, inputs: dict[str, str | Path | None] | None = None) -> None:
    """Before any work: ``--out`` may be a new file in a writable folder, or an earlier clipcop feature file
    (replaced, and said so); never a folder or somebody else's file."""
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give the feature file's name, e.g. {out / 'features.safetensors'}")
    check_outputs([Output("--out", out, "a clipcop feature file", is_feature_file)], inputs or {})
    if out.exists():
        reporter.note(f"replacing the earlier feature file {out}")


def extract(
    config: ExtractConfig | None = None,
    /,
    *,
    reporter: Reporter | None = None,
    prepared: PreparedVideos | None = None,
    **options: Any,
) -> ExtractionStats:
    """Extract features to ``config.out`` (default: the cache, keyed by everything that matters).

    A cached file for the same model, data and options is reused.
    """
    config = from_flat(ExtractConfig, options, base=config)
    return extract_layers(config, (config.layer,), reporter=reporter, prepared=prepared)[config.layer]


def extract_layers(
    config: ExtractConfig,
    layers: Sequence[str],
    *,
    reporter: Reporter | None = None,
    prepared: PreparedVideos | None = None,
) -> dict[str, ExtractionStats]:
    """Features of every tap in ``layers`` (``config.layer`` is ignored), each in its own cached file.

    Taps already cached are reused; the others are extracted together, one forward pass per batch (Table
    IV's layer comparison at the cost of one extraction). ``config.out`` names the file of a single tap.
    """
    reporter = reporter or Reporter()
    unknown = [layer for layer in layers if layer not in TAPS]
    if unknown:
        raise UsageError(f"unknown layer {unknown[0]!r}; choose one of {', '.join(TAPS)}")
    if config.out is not None:
        if len(layers) != 1:
            raise UsageError("--out names one feature file: extract one --layer at a time")
        inputs: dict[str, str | Path | None] = {
            "--checkpoint": config.source.checkpoint,
            "--weights": config.source.weights_file(),
        }
        check_feature_out(Path(config.out), reporter, inputs)
    runtime = resolve_runtime(config.device, config.precision)
    init_distributed(runtime.device)
    backbone, card, clip_len, geometry = config.source.build(reporter.info)
    runtime = runtime.with_pixels(card.choices().pixels)
    pool5 = config.pool5 or card.choices().pool5
    if prepared is None:
        prepared = prepare_data(config.data, reporter)
    items = {"train": prepared.train, "test": prepared.test, "all": prepared.train + prepared.test}[config.subset]
    if not items:
        listed = len(prepared.dataset.subset(config.subset))
        why = f"none of its {listed} videos could be read" if listed else "the split puts no video there"
        raise DataError(f"the {config.subset!r} subset of {prepared.dataset.data_root} is empty: {why}")
    note_short_videos(items, clip_len, reporter)
    root = prepared.dataset.video_root
    video_ids = [str(v.path.relative_to(root)) if v.path.is_relative_to(root) else str(v.path) for v in items]
    configs = {layer: replace(config, layer=layer) for layer in layers}
    outs = {
        layer: Path(one.out)
        if one.out
        else cache_dir() / "features" / f"{cache_key(one, prepared, runtime.precision)}.safetensors"
        for layer, one in configs.items()
    }
    done: dict[str, ExtractionStats] = {}
    for layer, out in outs.items():
        # Rank 0 decides: another job may finish the same cache file between two processes' looks.
        if config.out is None and broadcast_object(out.is_file() if is_main() else None):
            cached = read_features(out)
            reporter.info(f"using cached {config.subset} {layer} features {out}")
            counts = (len(cached.video_ids), int(cached.meta["clips"]), cached.dim)
            done[layer] = ExtractionStats(out, *counts, cached.failed, skipped=prepared.skipped())
    todo = [layer for layer in layers if layer not in done]
    if todo:
        model = cast(VideoBackbone, runtime.prepare(backbone))
        source = {**card.summary(), "identity": config.source.identity()}  # the weights' file, resolved
        file_meta = {
            "source": source,
            "dataset": {**prepared.describe(), "subset": config.subset, "video_root": str(root)},
            "classes": list(prepared.dataset.classes),
        }
        targets = {
            layer: (
                outs[layer],
                {**file_meta, "config": {k: v for k, v in configs[layer].flat().items() if k != "source"}},
            )
            for layer in todo
        }
        made = extract_to_files(
            model,
            items,
            video_ids,
            targets,
            clip_len=clip_len,
            num_clips=config.clips,
            geometry=geometry,
            pool=config.pool,
            pool5=pool5,
            runtime=runtime,
            batch_size=config.batch_size,
            workers=config.data.workers,
            dtype=config.dtype,
            source=frame_source(config.data.frame_cache, config.data.backend, config.data.decode_on),
            reporter=reporter,
        )
        done.update({layer: replace(stats, skipped=prepared.skipped()) for layer, stats in made.items()})
    return {layer: done[layer] for layer in layers}
