"""Option aliases shared by several commands, so a flag means the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

Arch = Annotated[str, typer.Option("--arch", help="Backbone: c3d, r3d or r21d.")]
Width = Annotated[int, typer.Option("--width", help="Channels of the first stage (64 = the paper; 16 for CPUs).")]
ClipLen = Annotated[int, typer.Option("--cl", help="Frames per clip.")]
Interval = Annotated[int, typer.Option("--it", help="Frames between consecutive clips of a tuple.")]
TupleLen = Annotated[int, typer.Option("--tl", help="Clips per tuple, 2..5 (tl! order classes).")]
Resize = Annotated[str, typer.Option("--resize", help="Frame size at decode, HEIGHTxWIDTH.")]
Crop = Annotated[int, typer.Option("--crop", help="Square crop (random in training, centre in evaluation).")]
Data = Annotated[str, typer.Option("--data", help="Dataset folder (UCF101, HMDB51 or class folders), or 'synthetic'.")]
Dataset = Annotated[str | None, typer.Option("--dataset", help="Force the layout: ucf101, hmdb51 or folder.")]
Split = Annotated[int, typer.Option("--split", help="Train/test split 1-3.")]
Workers = Annotated[int, typer.Option("--workers", help="Worker processes for probing and decoding.")]
LoaderWorkers = Annotated[
    int,
    typer.Option(
        "--workers",
        help="Data-loading workers: threads when the frame cache holds every video, else processes"
        " (also used for probing).",
    ),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Precision = Annotated[
    str,
    typer.Option(
        "--precision",
        help="auto (bf16 + TF32 on Ampere or newer GPUs; fp32 on older GPUs and the CPU), bf16, "
        "or fp32 (no TF32 either).",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed for initialisation, data order and augmentation.")]
Backend = Annotated[
    str, typer.Option("--backend", help="Video decoder: auto (decord2 where installed, then PyAV), decord or pyav.")
]
FrameCache = Annotated[
    str,
    typer.Option("--frame-cache", help="auto (use `clipcop data cache` frames when present), off, or a folder."),
]
DecodeOn = Annotated[
    str,
    typer.Option(
        "--decode-on", help="Where JPEG-stored frames are decoded: cpu (libjpeg-turbo) or cuda (nvJPEG on the GPU)."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables on stderr.")]
Checkpoint = Annotated[str | None, typer.Option("--checkpoint", help="A clipcop checkpoint (.safetensors).")]
Random = Annotated[
    bool, typer.Option("--random", help="Use a randomly initialised backbone (the baseline); needs --arch.")
]
MaybeArch = Annotated[str | None, typer.Option("--arch", help="Backbone for --random: c3d, r3d or r21d.")]
MaybeWidth = Annotated[int | None, typer.Option("--width", help="Backbone width (default: the checkpoint's, or 64).")]
MaybeClipLen = Annotated[int | None, typer.Option("--cl", help="Frames per clip (default: the checkpoint's, or 16).")]
MaybeResize = Annotated[
    str | None, typer.Option("--resize", help="HEIGHTxWIDTH at decode (default: the checkpoint's).")
]
MaybeCrop = Annotated[int | None, typer.Option("--crop", help="Centre crop (default: the checkpoint's, or 112).")]
Layer = Annotated[str, typer.Option("--layer", help="Tap: conv1 .. conv5.")]
PictureFormat = Annotated[str, typer.Option("--format", help="Picture format: png, svg or pdf (with PNG previews).")]
Dpi = Annotated[int, typer.Option("--dpi", help="Picture resolution in dots per inch (960 pixels wide at 100).")]
Layers = Annotated[
    str,
    typer.Option(
        "--layer", help="Tap: conv1 .. conv5, a comma list (conv3,conv5) or all: one table by layer (Table IV)."
    ),
]
BatchVideos = Annotated[int, typer.Option("--batch-size", help="Videos per batch.")]
Epochs = Annotated[int, typer.Option("--epochs", help="Training epochs (the paper: 300).")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Tuples per step over all processes (the paper: 8).")]
Lr = Annotated[float, typer.Option("--lr", help="Learning rate (the paper: 1e-3).")]
Momentum = Annotated[float, typer.Option("--momentum", help="SGD momentum (the paper: 0.9).")]
WeightDecay = Annotated[float, typer.Option("--weight-decay", help="Weight decay (the paper: 5e-4).")]
Dropout = Annotated[float, typer.Option("--dropout", help="Dropout before the order layer (the paper: 0.5).")]
Optimizer = Annotated[str, typer.Option("--optimizer", help="sgd (the paper) or adam.")]
Schedule = Annotated[str, typer.Option("--schedule", help="Learning-rate schedule: constant, cosine or plateau.")]
ValSize = Annotated[
    int,
    typer.Option(
        "--val-size", help="Training videos held out for validation (the paper: 800; at most 10% of them, said so)."
    ),
]
Out = Annotated[str | None, typer.Option("--out", help="Run folder (default runs/vcop-ARCH-CL-IT-TL).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")]
Init = Annotated[str | None, typer.Option("--init", help="Start from this VCOP checkpoint (any tl).")]
TrainList = Annotated[
    str | None,
    typer.Option("--train-list", help="Train only on the videos listed in this file (paths under the data)."),
]
StepsPerEpoch = Annotated[int | None, typer.Option("--steps-per-epoch", help="Cap steps per epoch (quick checks).")]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the model (pays off on long GPU runs).")]
ConfigFile = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="Settings from this TOML file (a run folder's config.toml reproduces that run); flags given here win.",
    ),
]
Log = Annotated[str | None, typer.Option("--log", help="Experiment tracking: tensorboard (into the run folder).")]
Protocol = Annotated[
    str | None,
    typer.Option(
        "--protocol",
        help="clipcop (the default) or official: sets --pool5, --weight-init, --pixels and --shortcut at once"
        " as the authors' code has them (docs/protocols.md); a switch given too wins.",
    ),
]
Pool5 = Annotated[
    str | None,
    typer.Option(
        "--pool5",
        help="conv5 of --pool spatiotemporal: adaptive (a 2x3x3 grid, every position) or strided (the official"
        " 1x2x2 windows, stride 1x2x2); default: the model's own.",
    ),
]
WeightInit = Annotated[
    str | None,
    typer.Option(
        "--weight-init",
        help="he (He-normal, BN scale 1) or uniform (PyTorch 0.4.1's: +-1/sqrt(fan_in), C3D conv biases,"
        " BN scale in [0, 1]); default: --protocol's, or a checkpoint's own.",
    ),
]
Pixels = Annotated[
    str | None,
    typer.Option(
        "--pixels",
        help="standardised (video mean/std) or unit (frames in [0, 1]); default: --protocol's, or a checkpoint's.",
    ),
]
Shortcut = Annotated[
    str | None,
    typer.Option(
        "--shortcut",
        help="R(2+1)D's projection shortcut: conv (strided 1x1x1 + BN) or factorised (spatial conv, BN, ReLU,"
        " temporal conv, BN); default: --protocol's, or a checkpoint's own.",
    ),
]
