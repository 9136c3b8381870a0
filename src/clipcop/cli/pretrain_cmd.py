"""``clipcop pretrain``: VCOP pretraining with the paper's defaults."""

from __future__ import annotations

import typer

from clipcop.cli.options import (
    DEFAULT_WORKERS,
    Arch,
    Backend,
    BatchSize,
    ClipLen,
    Compile,
    ConfigFile,
    Crop,
    Data,
    Dataset,
    DecodeOn,
    Device,
    Dropout,
    Epochs,
    FrameCache,
    Init,
    Interval,
    Json,
    LoaderWorkers,
    Log,
    Lr,
    Momentum,
    Optimizer,
    Out,
    Pixels,
    Pool5,
    Precision,
    Protocol,
    Quiet,
    Resize,
    Resume,
    Schedule,
    Seed,
    Shortcut,
    Split,
    StepsPerEpoch,
    TrainList,
    TupleLen,
    ValSize,
    WeightDecay,
    WeightInit,
    Width,
)
from clipcop.cli.output import emit
from clipcop.cli.settings import given_flags, resolve
from clipcop.engine.reporting import Reporter


def pretrain(
    ctx: typer.Context,
    config_file: ConfigFile = None,
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
    protocol: Protocol = None,
    pool5: Pool5 = None,
    weight_init: WeightInit = None,
    pixels: Pixels = None,
    shortcut: Shortcut = None,
    width: Width = 64,
    resize: Resize = "128x171",
    crop: Crop = 112,
    val_size: ValSize = 800,
    workers: LoaderWorkers = DEFAULT_WORKERS,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    out: Out = None,
    resume: Resume = False,
    init: Init = None,
    steps_per_epoch: StepsPerEpoch = None,
    compile: Compile = False,
    log: Log = None,
    backend: Backend = "auto",
    frame_cache: FrameCache = "auto",
    decode_on: DecodeOn = "cpu",
    train_list: TrainList = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Train a 3D CNN by video clip order prediction (paper Sec. III, IV-A).

    Keeps best.safetensors (lowest validation loss) and last.safetensors in the run folder, writes
    metrics.jsonl, and tests order accuracy per class at the end.

    Examples:
      clipcop pretrain --arch r3d --tl 3 --data ~/data/UCF101
      clipcop pretrain --width 16 --cl 8 --it 4 --resize 40x52 --crop 32 \\
        --epochs 30 --optimizer adam
      clipcop pretrain --config runs/vcop-r3d-16-8-3/config.toml --out runs/again
    """
    from clipcop.workflows.pretrain import PretrainConfig
    from clipcop.workflows.pretrain import pretrain as run

    config = resolve(PretrainConfig, config_file, given_flags(ctx))
    result = run(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)
