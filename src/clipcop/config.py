"""Frozen configurations with the paper's defaults (Sec. IV-A), shared by the library and the CLI.

Every config is a keyword-only frozen dataclass; ``asdict`` of it travels in checkpoint metadata so a
checkpoint says exactly how it was made.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from clipcop.errors import UsageError

MIN_TUPLE_LEN, MAX_TUPLE_LEN = 2, 5
C = TypeVar("C", bound="DataclassInstance")


@dataclass(frozen=True, kw_only=True)
class TupleSpec:
    """A VCOP tuple: ``tuple_len`` clips of ``clip_len`` frames, ``interval`` frames apart (Sec. III-A).

    The paper's settings are written ``cl-it-tl``, e.g. 16-8-3.
    """

    clip_len: int = 16
    interval: int = 8
    tuple_len: int = 3

    def __post_init__(self) -> None:
        if not MIN_TUPLE_LEN <= self.tuple_len <= MAX_TUPLE_LEN:
            raise UsageError(
                f"tl={self.tuple_len} is outside {MIN_TUPLE_LEN}..{MAX_TUPLE_LEN} "
                "(the paper limits tuples to 2-5 clips: 5! = 120 orders)"
            )
        if self.clip_len < 1:
            raise UsageError(f"cl={self.clip_len} must be at least 1 frame")
        if self.interval < 0:
            raise UsageError(f"it={self.interval} must be 0 or more frames")

    @property
    def span(self) -> int:
        """Frames covered by one tuple: ``cl*tl + it*(tl-1)``; shorter videos are not eligible."""
        return self.clip_len * self.tuple_len + self.interval * (self.tuple_len - 1)

    @property
    def num_orders(self) -> int:
        """The number of classes of the order task, ``tl!``."""
        return math.factorial(self.tuple_len)

    def label(self) -> str:
        """The paper's ``cl-it-tl`` name, e.g. ``16-8-3``."""
        return f"{self.clip_len}-{self.interval}-{self.tuple_len}"


@dataclass(frozen=True, kw_only=True)
class ClipGeometry:
    """How frames become network input: resize at decode (``HxW``), then a square crop (Sec. IV-A).

    Training crops at random (one crop per clip, the same for all of its frames); evaluation crops
    the centre.
    """

    resize: tuple[int, int] = (128, 171)
    crop: int = 112

    def __post_init__(self) -> None:
        height, width = self.resize
        if min(height, width) < 1 or self.crop < 1:
            raise UsageError(f"resize {height}x{width} and crop {self.crop} must be positive")
        if self.crop > min(height, width):
            raise UsageError(f"crop {self.crop} is larger than the resized frame {height}x{width}")


def parse_size(text: str) -> tuple[int, int]:
    """``"128x171"`` -> ``(128, 171)`` (height x width)."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"size {text!r} must look like HEIGHTxWIDTH, e.g. 128x171")
    return int(parts[0]), int(parts[1])


def check_seed(seed: int) -> None:
    """Refuse a ``--seed`` that torch and numpy cannot take (they need 0 <= seed < 2**64)."""
    if not 0 <= seed < 2**64:
        raise UsageError(f"--seed must be 0 or more and below 2**64, not {seed}")


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine", "plateau")
BACKENDS = ("auto", "decord", "pyav")
DECODE_ON = ("cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp32")
LOGGERS = ("tensorboard",)
ARCH_NAMES = ("c3d", "r3d", "r21d")
TORCHVISION_ARCHS = ("r3d_18", "mc3_18", "r2plus1d_18")
"""torchvision's video ResNet-18s: backbones for extract, retrieve and finetune (random or with --weights),
not for pretraining."""
POOLS = ("global", "spatiotemporal")
TAPS = ("conv1", "conv2", "conv3", "conv4", "conv5")
"""Every backbone's five stages, the layers ``--layer`` taps and ``--freeze-until`` freezes through."""
FEATURE_DTYPES = ("float32", "float16")
LEVELS = ("clip", "video", "both")
QUERY_SPLITS = ("test", "train")
INDEX_KINDS = ("flat", "ivf", "hnsw")
CACHE_FORMATS = ("raw", "jpeg")
SCORINGS = ("training", "fixed")
"""The values each of these flags takes, in one place: the library checks against them and the command line
offers them as choices (torch-free, so ``--help`` stays fast).

``SCORINGS``: how a sample curriculum's window scores a video in each of its epochs. ``training``: the
predictions made on it while it trains (a fresh tuple, random crops, dropout on), the paper's "softmax value
of the predictions in several convergent epochs" (Sec. IV-A). ``fixed``: one tuple fixed by its index, centre
crops, the model in eval mode, after each epoch (every epoch sees the same clips; an extra pass over the videos
per epoch)."""


def _choose(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")


def check_backend(backend: str) -> None:
    """Refuse a ``--backend`` that is not one of :data:`BACKENDS`, before any work: a mistyped name must
    never be recorded (a manifest's verdicts) nor first fail inside a loader's worker process."""
    _choose("--backend", backend, BACKENDS)


PROTOCOLS = ("clipcop", "official")
POOL5_CHOICES = ("adaptive", "strided")
WEIGHT_INITS = ("he", "uniform")
PIXEL_SCALINGS = ("standardised", "unit")
SHORTCUTS = ("conv", "factorised")
CHOICE_FLAGS = {"pool5": "--pool5", "weight_init": "--weight-init", "pixels": "--pixels", "shortcut": "--shortcut"}
"""The four switches where clipcop and the authors' code differ, by field name (docs/protocols.md)."""


@dataclass(frozen=True, kw_only=True)
class ModelChoices:
    """Where clipcop's model differs from the authors' public code, one switch each (docs/protocols.md).

    ``pool5``: the 9216-d conv5 retrieval feature, ``adaptive`` max-pooling to 2x3x3 (overlapping windows,
    every position used) or ``strided`` 1x2x2 windows with stride 1x2x2 (the official ``feature_pool``,
    row and column 7 of 7x7 dropped). ``weight_init``: ``he`` (He-normal convolutions, unit BN scale, no
    C3D conv bias) or ``uniform`` (torch 0.4.1's defaults: weights and C3D conv biases uniform in
    +-1/sqrt(fan_in), BN scale uniform in [0, 1]). ``pixels``: ``standardised`` (the usual video mean and
    std) or ``unit`` (frames in [0, 1], nothing subtracted). ``shortcut`` (R(2+1)D only): ``conv`` (a
    strided 1x1x1 conv + BN, Eq. 2's form) or ``factorised`` (spatial conv, BN, ReLU, temporal conv, BN).
    """

    pool5: str = "adaptive"
    weight_init: str = "he"
    pixels: str = "standardised"
    shortcut: str = "conv"

    def __post_init__(self) -> None:
        _choose("--pool5", self.pool5, POOL5_CHOICES)
        _choose("--weight-init", self.weight_init, WEIGHT_INITS)
        _choose("--pixels", self.pixels, PIXEL_SCALINGS)
        _choose("--shortcut", self.shortcut, SHORTCUTS)

    @classmethod
    def preset(cls, protocol: str) -> ModelChoices:
        """The choices of ``--protocol clipcop`` (the defaults) or ``--protocol official`` (the authors')."""
        _choose("--protocol", protocol, PROTOCOLS)
        return cls() if protocol == "clipcop" else cls(**OFFICIAL)

    @classmethod
    def resolve(cls, protocol: str | None, **given: str | None) -> ModelChoices:
        """The preset of ``protocol`` (``clipcop`` when None) with each switch that was ``given`` on top."""
        return replace(cls.preset(protocol or "clipcop"), **{k: v for k, v in given.items() if v is not None})

    @classmethod
    def recorded(cls, meta: Any) -> ModelChoices:
        """The choices a checkpoint or feature file records (an object with the four keys); a key it lacks
        (a file from before these switches) is clipcop's default, which is what made it."""
        return cls(**{k: getattr(meta, k) for k in CHOICE_FLAGS if getattr(meta, k, None) is not None})

    @property
    def protocol(self) -> str:
        """``clipcop`` or ``official`` when every switch is that preset's, else ``custom``."""
        return next((name for name in PROTOCOLS if self == ModelChoices.preset(name)), "custom")

    def entries(self) -> dict[str, str]:
        """What a checkpoint's card records: the four switches and the protocol they amount to."""
        return {"protocol": self.protocol, **asdict(self)}


OFFICIAL = {"pool5": "strided", "weight_init": "uniform", "pixels": "unit", "shortcut": "factorised"}
"""``--protocol official``: every switch as the authors' code (PyTorch 0.4.1) has it."""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The network pretraining builds: backbone and width (64 = the paper's), the VCOP head's dropout
    (Eq. 3: 0.5 before the order layer), and the parity switches (:class:`ModelChoices`): ``protocol``
    sets all four at once, each switch given on its own overrides it."""

    arch: str = "r3d"
    width: int = 64
    dropout: float = 0.5
    protocol: str | None = None
    """``clipcop`` (the default when None) or ``official``: sets the four switches below at once."""
    pool5: str | None = None
    weight_init: str | None = None
    pixels: str | None = None
    shortcut: str | None = None

    def __post_init__(self) -> None:
        if self.arch in TORCHVISION_ARCHS:
            raise UsageError(
                f"pretrain builds {', '.join(ARCH_NAMES)}; {self.arch} is torchvision's network, for extract, "
                "retrieve and finetune (--random --arch, or --arch with --weights)"
            )
        _choose("--arch", self.arch, ARCH_NAMES)
        if self.width < 1:
            raise UsageError(f"--width must be at least 1, not {self.width}")
        if not 0 <= self.dropout < 1:
            raise UsageError(f"--dropout must be at least 0 and below 1, not {self.dropout}")
        self.choices()  # refuses an unknown protocol or switch value

    def choices(self) -> ModelChoices:
        """The parity switches in force: the protocol's preset with the switches given on top."""
        return ModelChoices.resolve(
            self.protocol, pool5=self.pool5, weight_init=self.weight_init, pixels=self.pixels, shortcut=self.shortcut
        )


MAX_DEFAULT_WORKERS = 8
"""The most data-loading workers a run starts unless told (more rarely pays: each holds its own decoder)."""


def available_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the system has one (batch schedulers,
    ``taskset`` and containers narrow it), else every core of the machine."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def helper_processes(workers: int | None) -> int:
    """Helper processes for work that keeps every core busy by itself (probing, caching, rendering videos):
    ``workers`` as given, or every core this process may use when None."""
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be 0 or more, not {workers}")
    return available_cores() if workers is None else workers


def default_workers() -> int:
    """Data-loading workers when ``--workers`` is not given: one per core this process may use (shared by the
    processes torchrun starts on the node), less one for the training loop itself, at most
    :data:`MAX_DEFAULT_WORKERS`; 0 (loading in the main process) on a single core. PyTorch warns when a loader
    has more workers than cores, as the former default of 4 did on small machines."""
    local = os.environ.get("LOCAL_WORLD_SIZE", "1")
    local_processes = int(local) if local.isdigit() and int(local) > 0 else 1
    return max(0, min(MAX_DEFAULT_WORKERS, available_cores() // local_processes - 1))


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Which videos a command reads and how: the dataset folder (or ``synthetic``), its layout and split,
    the decoder, the frame cache and the loader's worker processes."""

    folder: str | None = field(default="synthetic", metadata={"flat": "data"})
    """A dataset folder (UCF101, HMDB51 or class folders), or ``synthetic`` for the built-in set."""
    layout: str | None = field(default=None, metadata={"flat": "dataset"})
    """``ucf101``, ``hmdb51`` or ``folder``; detected from the folder when not given."""
    split: int = 1
    backend: str = "auto"
    frame_cache: str | None = "auto"
    decode_on: str = "cpu"
    """Where frames from a JPEG store are decoded: ``cpu`` or ``cuda`` (nvJPEG)."""
    workers: int = field(default_factory=default_workers)
    """Data-loading workers; by default the cores this process may use less one, at most 8 (:func:`default_workers`)."""

    def __post_init__(self) -> None:
        if self.split not in (1, 2, 3):
            raise UsageError(f"--split must be 1, 2 or 3, not {self.split}")
        check_backend(self.backend)
        _choose("--decode-on", self.decode_on, DECODE_ON)
        if self.workers < 0:
            raise UsageError(f"--workers must be 0 or more, not {self.workers}")


@dataclass(frozen=True, kw_only=True)
class TrainingSpec:
    """Optimisation with the paper's defaults (Sec. IV-A): SGD lr 1e-3, momentum 0.9, weight decay 5e-4,
    8 tuples per batch, 300 epochs, 800 training videos held out for validation."""

    epochs: int = 300
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "constant"
    val_size: int = 800
    steps_per_epoch: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        # NaN fails every comparison, so ranges are written to reject it
        _choose("--optimizer", self.optimizer, OPTIMIZERS)
        _choose("--schedule", self.schedule, SCHEDULES)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a positive number, not {self.lr}")
        if not 0 <= self.momentum < 1:
            raise UsageError(f"--momentum must be at least 0 and below 1, not {self.momentum}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise UsageError(f"--weight-decay must be 0 or more, not {self.weight_decay}")
        for flag, value in (
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--val-size", self.val_size),
        ):
            if value < 1:
                raise UsageError(f"{flag} must be at least 1, not {value}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise UsageError(f"--steps-per-epoch must be at least 1 when given, not {self.steps_per_epoch}")
        check_seed(self.seed)


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """Where and on what a run goes: its folder, whether it resumes, device and precision, ``torch.compile``,
    and experiment tracking (``log``)."""

    out: str | None = None
    resume: bool = False
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    log: str | None = None
    """``tensorboard`` writes event files into the run folder beside ``metrics.jsonl``."""

    def __post_init__(self) -> None:
        _choose("--precision", self.precision, PRECISIONS)
        if self.log is not None:
            _choose("--log", self.log, LOGGERS)


SPEC_TYPES = (ModelSpec, TupleSpec, ClipGeometry, DataSpec, TrainingSpec, RunSpec)


def _flat_name(item: Field[Any]) -> str:
    return str(item.metadata.get("flat", item.name))


def spec_fields(config_type: type) -> dict[str, tuple[str | None, str]]:
    """Every keyword of the flat API of ``config_type``: ``flat name -> (spec field or None, field name)``.

    A config's own scalar fields keep their names; a spec's fields are reached by their flat names (e.g.
    ``epochs`` is ``training.epochs``, ``data`` is ``data.folder``).
    """
    names: dict[str, tuple[str | None, str]] = {}
    for item in fields(config_type):
        spec = _spec_type(config_type, item.name)
        if spec is None:
            names[item.name] = (None, item.name)
            continue
        for inner in fields(spec):
            names[_flat_name(inner)] = (item.name, inner.name)
    return names


def _spec_type(config_type: type, name: str) -> type | None:
    hint = get_type_hints(config_type)[name]
    return hint if isinstance(hint, type) and hint in SPEC_TYPES else None


def from_flat(config_type: type[C], options: dict[str, Any], base: C | None = None) -> C:
    """Build ``config_type`` from flat keywords (today's ``pretrain(arch=..., epochs=...)`` calls), on top of
    ``base`` when given. Spec instances may be passed whole under their field name."""
    names = spec_fields(config_type)
    nested: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in options.items():
        if is_dataclass(value) and key in {f.name for f in fields(config_type)}:
            top[key] = value
        elif key in names:
            spec, inner = names[key]
            if spec is None:
                top[inner] = value
            else:
                nested.setdefault(spec, {})[inner] = value
        else:
            raise UsageError(f"unknown option {key!r}; known: {', '.join(sorted(names))}")
    for spec, values in nested.items():
        current = top.get(spec, getattr(base, spec) if base is not None else _default(config_type, spec))
        top[spec] = replace(current, **values)
    return replace(base, **top) if base is not None else config_type(**top)


def _default(config_type: type, name: str) -> Any:
    """The default value of ``config_type``'s field ``name`` (a spec: every config gives its specs one)."""
    item = next(f for f in fields(config_type) if f.name == name)
    if item.default_factory is not MISSING:
        return item.default_factory()
    return item.default


def to_flat(config: Any) -> dict[str, Any]:
    """The flat keyword view of a config (the inverse of :func:`from_flat`); checkpoints record this form."""
    flat: dict[str, Any] = {}
    for item in fields(config):
        value = getattr(config, item.name)
        if type(value) in SPEC_TYPES:
            for inner in fields(value):
                flat[_flat_name(inner)] = getattr(value, inner.name)
        elif is_dataclass(value) and not isinstance(value, type):
            flat[item.name] = asdict(value)
        else:
            flat[item.name] = value
    return flat


class FlatOptions:
    """Flat keywords for configs composed of specs: ``PretrainConfig.from_options(arch="r3d", epochs=5)`` and
    ``config.with_options(tuple_len=4)``, the form the CLI, the library calls and checkpoints use."""

    @classmethod
    def from_options(cls: type[C], **options: Any) -> C:
        """A config from flat keywords (each spec's fields by their flat names) or whole specs."""
        return from_flat(cls, options)

    def with_options(self: C, **options: Any) -> C:
        """This config with some flat keywords changed."""
        return from_flat(type(self), options, base=self)

    def flat(self) -> dict[str, Any]:
        """The flat keyword view (:func:`to_flat`)."""
        return to_flat(self)
