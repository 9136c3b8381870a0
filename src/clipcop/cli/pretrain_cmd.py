"""``clipcop pretrain``: VCOP pretraining with the paper's defaults."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import (
    Arch,
    Backend,
    ClipLen,
    Crop,
    Data,
    Dataset,
    Device,
    FrameCache,
    Interval,
    Json,
    LoaderWorkers,
    Precision,
    Quiet,
    Resize,
    Seed,
    Split,
    TupleLen,
    Width,
)
from clipcop.cli.output import emit
from clipcop.config import parse_size
from clipcop.engine.reporting import Reporter

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


CLI_ONLY = ("json_out", "quiet")


def pretrain_options(values: dict[str, object]) -> dict[str, object]:
    """:class:`PretrainConfig` keywords from a command's parameters (``locals()``), shared by curriculum."""
    options = {k: v for k, v in values.items() if k not in CLI_ONLY}
    if "resize" in options:  # curriculum sample takes it from the checkpoint
        options["resize"] = parse_size(str(options["resize"]))
    options["compile"] = options.pop("compile_model")
    return options


def pretrain(
    arch: Arch = "r3d",
    tuple_len: TupleLen = 3,
    clip_len: ClipLen = 16,
    interval: Interval = 8,
    data: Data = "synthetic",
    dataset: Dataset = None,
    split: Split = 1,
    epochs: Epochs = 300,
    batch_size: BatchSize = 8,
    lr: Lr = 1e-3,
    momentum: Momentum = 0.9,
    weight_decay: WeightDecay = 5e-4,
    optimizer: Optimizer = "sgd",
    schedule: Schedule = "constant",
    dropout: Dropout = 0.5,
    width: Width = 64,
    resize: Resize = "128x171",
    crop: Crop = 112,
    val_size: ValSize = 800,
    workers: LoaderWorkers = 4,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    out: Out = None,
    resume: Resume = False,
    init: Init = None,
    steps_per_epoch: StepsPerEpoch = None,
    compile_model: Compile = False,
    backend: Backend = "auto",
    frame_cache: FrameCache = "auto",
    train_list: TrainList = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Train a 3D CNN by video clip order prediction (paper Sec. III, IV-A).

    Keeps best.safetensors (lowest validation loss) and last.safetensors in the run folder, writes
    metrics.jsonl, and tests order accuracy per class at the end.

    Examples:
      clipcop pretrain --arch r3d --tl 3 --data ~/data/UCF101
      clipcop pretrain --width 16 --cl 8 --it 4 --resize 40x52 --crop 32 --epochs 30 --optimizer adam
    """
    options = pretrain_options(locals())
    from clipcop.workflows.pretrain import PretrainConfig
    from clipcop.workflows.pretrain import pretrain as run

    result = run(PretrainConfig(**options), reporter=Reporter(quiet=quiet))  # type: ignore[arg-type]
    emit(result.record(), as_json=json_out)
