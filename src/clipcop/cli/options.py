"""Option aliases shared by several commands, so a flag means the same everywhere.

Flags with a fixed set of values show them as choices (``--arch <c3d|r3d|r21d>``) and a wrong value is a
one-line usage error naming them; the values come from the library's own lists (:mod:`clipcop.config`),
which the library checks again, so the two cannot drift. Every option sits in one of the help panels below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from clipcop.config import (
    ARCH_NAMES,
    BACKENDS,
    CACHE_FORMATS,
    DECODE_ON,
    FEATURE_DTYPES,
    INDEX_KINDS,
    LEVELS,
    LOGGERS,
    MAX_DEFAULT_WORKERS,
    OPTIMIZERS,
    PIXEL_SCALINGS,
    POOL5_CHOICES,
    POOLS,
    PRECISIONS,
    PROTOCOLS,
    QUERY_SPLITS,
    SCHEDULES,
    SCORINGS,
    SHORTCUTS,
    TAPS,
    TORCHVISION_ARCHS,
    WEIGHT_INITS,
    default_workers,
)
from clipcop.report.figures import FORMATS as PICTURE_FORMATS
from clipcop.videos.layouts import LAYOUTS

DATA, MODEL, TRAINING, RUN, OUTPUT = "Data", "Model", "Training", "Run", "Output"
"""Help panels: which videos and clips; the network; optimisation; where and how it runs; what it writes."""
RETRIEVAL, CURRICULUM = "Retrieval", "Curriculum"
"""The panels of one command each: what retrieval measures, and how a curriculum proceeds."""
PANEL_ORDER = (DATA, MODEL, CURRICULUM, RETRIEVAL, TRAINING, RUN, OUTPUT)
"""The order the panels appear in under ``--help``."""


if TYPE_CHECKING:  # plain strings to mypy and to the library's configs (written to settings files and cards)
    ArchName = str
    SourceArchName = str
    LayoutName = str
    PrecisionName = str
    BackendName = str
    DecodeOnName = str
    PictureFormatName = str
    OptimizerName = str
    ScheduleName = str
    LoggerName = str
    ProtocolName = str
    Pool5Name = str
    WeightInitName = str
    PixelsName = str
    ShortcutName = str
    PoolName = str
    FeatureDtypeName = str
    LevelName = str
    QuerySplitName = str
    IndexKindName = str
    CacheFormatName = str
    ScoringName = str
    TapName = str
else:  # Typer shows a Literal's values as choices and refuses any other value in one line
    ArchName = Literal[ARCH_NAMES]
    SourceArchName = Literal[ARCH_NAMES + TORCHVISION_ARCHS]
    LayoutName = Literal[LAYOUTS]
    PrecisionName = Literal[PRECISIONS]
    BackendName = Literal[BACKENDS]
    DecodeOnName = Literal[DECODE_ON]
    PictureFormatName = Literal[PICTURE_FORMATS]
    OptimizerName = Literal[OPTIMIZERS]
    ScheduleName = Literal[SCHEDULES]
    LoggerName = Literal[LOGGERS]
    ProtocolName = Literal[PROTOCOLS]
    Pool5Name = Literal[POOL5_CHOICES]
    WeightInitName = Literal[WEIGHT_INITS]
    PixelsName = Literal[PIXEL_SCALINGS]
    ShortcutName = Literal[SHORTCUTS]
    PoolName = Literal[POOLS]
    FeatureDtypeName = Literal[FEATURE_DTYPES]
    LevelName = Literal[LEVELS]
    QuerySplitName = Literal[QUERY_SPLITS]
    IndexKindName = Literal[INDEX_KINDS]
    CacheFormatName = Literal[CACHE_FORMATS]
    ScoringName = Literal[SCORINGS]
    TapName = Literal[TAPS]


Arch = Annotated[
    ArchName,
    typer.Option(
        "--arch",
        rich_help_panel=MODEL,
        help="Backbone: C3D, R3D or R(2+1)D (Sec. III-B).",
    ),
]
Width = Annotated[
    int,
    typer.Option("--width", rich_help_panel=MODEL, help="Channels of the first stage (64 = the paper; 16 for CPUs)."),
]
ClipLen = Annotated[int, typer.Option("--cl", rich_help_panel=DATA, help="Frames per clip.")]
Interval = Annotated[
    int, typer.Option("--it", rich_help_panel=DATA, help="Frames between consecutive clips of a tuple.")
]
TupleLen = Annotated[int, typer.Option("--tl", rich_help_panel=DATA, help="Clips per tuple, 2..5 (tl! order classes).")]
Resize = Annotated[str, typer.Option("--resize", rich_help_panel=DATA, help="Frame size at decode, HEIGHTxWIDTH.")]
Crop = Annotated[
    int, typer.Option("--crop", rich_help_panel=DATA, help="Square crop (random in training, centre in evaluation).")
]
Data = Annotated[
    str,
    typer.Option(
        "--data", rich_help_panel=DATA, help="Dataset folder (UCF101, HMDB51 or class folders), or 'synthetic'."
    ),
]
Dataset = Annotated[
    LayoutName | None,
    typer.Option(
        "--dataset",
        rich_help_panel=DATA,
        help="Force the layout (default: detected from the folder).",
    ),
]
Split = Annotated[int, typer.Option("--split", rich_help_panel=DATA, help="Train/test split 1-3.")]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", rich_help_panel=DATA, help="Worker processes for probing and decoding.", show_default="every core"
    ),
]
LOADER_WORKERS_HELP = (
    "Data-loading workers: threads when the frame cache holds every video, else processes (also used for probing)."
)
LoaderWorkers = Annotated[
    int,
    typer.Option(
        "--workers",
        rich_help_panel=DATA,
        help=LOADER_WORKERS_HELP,
        show_default=f"cores less one, at most {MAX_DEFAULT_WORKERS}",
    ),
]
DEFAULT_WORKERS = default_workers()
"""``--workers`` when not given: the library's default for this machine (:func:`clipcop.config.default_workers`)."""
FixedLoaderWorkers = Annotated[int, typer.Option("--workers", rich_help_panel=DATA, help=LOADER_WORKERS_HELP)]
Device = Annotated[str, typer.Option("--device", rich_help_panel=RUN, help="auto, cpu, cuda or cuda:N.")]
Precision = Annotated[
    PrecisionName,
    typer.Option(
        "--precision",
        rich_help_panel=RUN,
        help="auto (bf16 + TF32 on Ampere or newer GPUs; fp32 on older GPUs and the CPU), bf16, "
        "or fp32 (no TF32 either).",
    ),
]
Seed = Annotated[
    int, typer.Option("--seed", rich_help_panel=TRAINING, help="Seed for initialisation, data order and augmentation.")
]
Backend = Annotated[
    BackendName,
    typer.Option(
        "--backend",
        rich_help_panel=DATA,
        help="Video decoder: auto (decord2 where installed, then PyAV), decord (decord2 or decord 0.6) or pyav.",
    ),
]
FrameCache = Annotated[
    str,
    typer.Option(
        "--frame-cache",
        rich_help_panel=DATA,
        help="auto (use `clipcop data cache` frames when present), off, or a folder.",
    ),
]
DecodeOn = Annotated[
    DecodeOnName,
    typer.Option(
        "--decode-on",
        rich_help_panel=DATA,
        help="Where JPEG-stored frames are decoded: cpu (libjpeg-turbo) or cuda (nvJPEG on the GPU).",
    ),
]
Json = Annotated[
    bool, typer.Option("--json", rich_help_panel=OUTPUT, help="Print the result as one JSON object on stdout.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="No progress or tables on stderr.")]
Checkpoint = Annotated[
    str | None, typer.Option("--checkpoint", rich_help_panel=MODEL, help="A clipcop checkpoint (.safetensors).")
]
Random = Annotated[
    bool,
    typer.Option(
        "--random", rich_help_panel=MODEL, help="Use a randomly initialised backbone (the baseline); needs --arch."
    ),
]
MaybeWidth = Annotated[
    int | None,
    typer.Option("--width", rich_help_panel=MODEL, help="Backbone width (default: the checkpoint's, or 64)."),
]
MaybeClipLen = Annotated[
    int | None, typer.Option("--cl", rich_help_panel=DATA, help="Frames per clip (default: the checkpoint's, or 16).")
]
MaybeResize = Annotated[
    str | None,
    typer.Option("--resize", rich_help_panel=DATA, help="HEIGHTxWIDTH at decode (default: the checkpoint's)."),
]
MaybeCrop = Annotated[
    int | None, typer.Option("--crop", rich_help_panel=DATA, help="Centre crop (default: the checkpoint's, or 112).")
]
Layer = Annotated[
    TapName,
    typer.Option("--layer", rich_help_panel=MODEL, help="Tap: the stage whose output is the feature (Table IV)."),
]
PictureFormat = Annotated[
    PictureFormatName,
    typer.Option(
        "--format",
        rich_help_panel=OUTPUT,
        help="Picture format (pdf with PNG previews).",
    ),
]
Dpi = Annotated[
    int,
    typer.Option("--dpi", rich_help_panel=OUTPUT, help="Picture resolution in dots per inch (960 pixels wide at 100)."),
]
Layers = Annotated[
    str,
    typer.Option(
        "--layer",
        rich_help_panel=MODEL,
        help="Tap: conv1 .. conv5, a comma list (conv3,conv5) or all: one table by layer (Table IV).",
    ),
]
BatchVideos = Annotated[int, typer.Option("--batch-size", rich_help_panel=RUN, help="Videos per batch.")]
Epochs = Annotated[int, typer.Option("--epochs", rich_help_panel=TRAINING, help="Training epochs (the paper: 300).")]
BatchSize = Annotated[
    int,
    typer.Option("--batch-size", rich_help_panel=TRAINING, help="Tuples per step over all processes (the paper: 8)."),
]
Lr = Annotated[float, typer.Option("--lr", rich_help_panel=TRAINING, help="Learning rate (the paper: 1e-3).")]
Momentum = Annotated[float, typer.Option("--momentum", rich_help_panel=TRAINING, help="SGD momentum (the paper: 0.9).")]
WeightDecay = Annotated[
    float, typer.Option("--weight-decay", rich_help_panel=TRAINING, help="Weight decay (the paper: 5e-4).")
]
Dropout = Annotated[
    float, typer.Option("--dropout", rich_help_panel=MODEL, help="Dropout before the order layer (the paper: 0.5).")
]
Optimizer = Annotated[
    OptimizerName,
    typer.Option("--optimizer", rich_help_panel=TRAINING, help="Optimizer (the paper: sgd)."),
]
Schedule = Annotated[
    ScheduleName,
    typer.Option(
        "--schedule",
        rich_help_panel=TRAINING,
        help="Learning-rate schedule.",
    ),
]
ValSize = Annotated[
    int,
    typer.Option(
        "--val-size",
        rich_help_panel=TRAINING,
        help="Training videos held out for validation (the paper: 800; at most 10% of them, said so).",
    ),
]
Out = Annotated[
    str | None, typer.Option("--out", rich_help_panel=OUTPUT, help="Run folder (default runs/vcop-ARCH-CL-IT-TL).")
]
Resume = Annotated[
    bool, typer.Option("--resume", rich_help_panel=RUN, help="Continue the run in --out from its last checkpoint.")
]
Init = Annotated[
    str | None, typer.Option("--init", rich_help_panel=MODEL, help="Start from this VCOP checkpoint (any tl).")
]
TrainList = Annotated[
    str | None,
    typer.Option(
        "--train-list",
        rich_help_panel=DATA,
        help="Train only on the videos listed in this file (paths under the data).",
    ),
]
StepsPerEpoch = Annotated[
    int | None, typer.Option("--steps-per-epoch", rich_help_panel=TRAINING, help="Cap steps per epoch (quick checks).")
]
Compile = Annotated[
    bool, typer.Option("--compile", rich_help_panel=RUN, help="torch.compile the model (pays off on long GPU runs).")
]
ConfigFile = Annotated[
    str | None,
    typer.Option(
        "--config",
        rich_help_panel=RUN,
        help="Settings from this TOML file (a run folder's config.toml reproduces that run); flags given here win.",
    ),
]
Log = Annotated[
    LoggerName | None,
    typer.Option(
        "--log",
        rich_help_panel=OUTPUT,
        help="Experiment tracking (into the run folder).",
    ),
]
Protocol = Annotated[
    ProtocolName | None,
    typer.Option(
        "--protocol",
        rich_help_panel=MODEL,
        help="clipcop (the default) or official: sets --pool5, --weight-init, --pixels and --shortcut at once"
        " as the authors' code has them (docs/protocols.md); a switch given too wins.",
    ),
]
Pool5 = Annotated[
    Pool5Name | None,
    typer.Option(
        "--pool5",
        rich_help_panel=MODEL,
        help="conv5 of --pool spatiotemporal: adaptive (a 2x3x3 grid, every position) or strided (the official"
        " 1x2x2 windows, stride 1x2x2); default: the model's own.",
    ),
]
WeightInit = Annotated[
    WeightInitName | None,
    typer.Option(
        "--weight-init",
        rich_help_panel=MODEL,
        help="he (He-normal, BN scale 1) or uniform (PyTorch 0.4.1's: +-1/sqrt(fan_in), C3D conv biases,"
        " BN scale in [0, 1]); default: --protocol's, or a checkpoint's own.",
    ),
]
Pixels = Annotated[
    PixelsName | None,
    typer.Option(
        "--pixels",
        rich_help_panel=MODEL,
        help="standardised (video mean/std) or unit (frames in [0, 1]); default: --protocol's, or a checkpoint's.",
    ),
]
Shortcut = Annotated[
    ShortcutName | None,
    typer.Option(
        "--shortcut",
        rich_help_panel=MODEL,
        help="R(2+1)D's projection shortcut: conv (strided 1x1x1 + BN) or factorised (spatial conv, BN, ReLU,"
        " temporal conv, BN); default: --protocol's, or a checkpoint's own.",
    ),
]
SourceArch = Annotated[
    SourceArchName | None,
    typer.Option(
        "--arch",
        rich_help_panel=MODEL,
        help=f"Backbone: {', '.join(ARCH_NAMES)} (with --random) or torchvision's {', '.join(TORCHVISION_ARCHS)}"
        " (with --random or --weights); with --checkpoint, checked against the checkpoint's.",
    ),
]
Weights = Annotated[
    str | None,
    typer.Option(
        "--weights",
        rich_help_panel=MODEL,
        help=f"With --arch {', '.join(TORCHVISION_ARCHS)}: kinetics400 (torchvision's Kinetics-400 weights, from"
        " TORCH_HOME or downloaded there) or FILE (a torchvision state dict, .safetensors or .pth).",
    ),
]
