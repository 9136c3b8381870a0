"""``clipcop finetune``: action-recognition fine-tuning, optionally with hierarchical freezing."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import (
    DATA,
    DEFAULT_WORKERS,
    OUTPUT,
    TRAINING,
    Backend,
    Checkpoint,
    Compile,
    ConfigFile,
    Data,
    Dataset,
    DecodeOn,
    Device,
    FrameCache,
    Json,
    LoaderWorkers,
    Log,
    Lr,
    MaybeClipLen,
    MaybeCrop,
    MaybeResize,
    MaybeWidth,
    Momentum,
    Optimizer,
    Pixels,
    Precision,
    Protocol,
    Quiet,
    Random,
    Resume,
    Schedule,
    Seed,
    Shortcut,
    SourceArch,
    Split,
    StepsPerEpoch,
    TapName,
    ValSize,
    WeightDecay,
    WeightInit,
    Weights,
)
from clipcop.cli.output import emit
from clipcop.cli.settings import given_flags, resolve
from clipcop.cli.source import source_keys, with_source
from clipcop.engine.reporting import Reporter

ClipBatchSize = Annotated[
    int,
    typer.Option("--batch-size", rich_help_panel=TRAINING, help="Clips per step over all processes (the paper: 8)."),
]


def finetune(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    checkpoint: Checkpoint = None,
    random: Random = False,
    arch: SourceArch = None,
    weights: Weights = None,
    data: Data = "synthetic",
    dataset: Dataset = None,
    split: Split = 1,
    freeze_until: Annotated[
        TapName | None,
        typer.Option(
            "--freeze-until",
            rich_help_panel=TRAINING,
            help="Freeze conv1 through this stage, BN statistics too (Fig. 10).",
        ),
    ] = None,
    epochs: Annotated[
        int, typer.Option("--epochs", rich_help_panel=TRAINING, help="Training epochs (the paper: 150).")
    ] = 150,
    batch_size: ClipBatchSize = 8,
    optimizer: Optimizer = "sgd",
    lr: Lr = 1e-3,
    momentum: Momentum = 0.9,
    weight_decay: WeightDecay = 5e-4,
    schedule: Schedule = "constant",
    val_size: ValSize = 800,
    test_clips: Annotated[
        int, typer.Option("--test-clips", rich_help_panel=DATA, help="Clips per test video, predictions averaged.")
    ] = 10,
    width: MaybeWidth = None,
    protocol: Protocol = None,
    weight_init: WeightInit = None,
    pixels: Pixels = None,
    shortcut: Shortcut = None,
    clip_len: MaybeClipLen = None,
    resize: MaybeResize = None,
    crop: MaybeCrop = None,
    workers: LoaderWorkers = DEFAULT_WORKERS,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    out: Annotated[
        str | None, typer.Option("--out", rich_help_panel=OUTPUT, help="Run folder (default runs/finetune-SOURCE).")
    ] = None,
    resume: Resume = False,
    steps_per_epoch: StepsPerEpoch = None,
    compile: Compile = False,
    log: Log = None,
    frame_cache: FrameCache = "auto",
    decode_on: DecodeOn = "cpu",
    backend: Backend = "auto",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Fine-tune for action recognition (paper Sec. IV-C): a backbone (checkpoint, random, --weights) + a linear layer.

    Tests with 10 evenly spaced clips per video, softmax averaged; saves per-class accuracy and the
    confusion matrix. The result is a normal checkpoint that extract/retrieve/vqa accept.

    Examples:
      clipcop finetune --checkpoint runs/r3d-16-8-3/best.safetensors \\
        --data ~/data/UCF101
      clipcop finetune --checkpoint runs/r3d-16-8-3/best.safetensors \\
        --data ~/data/HMDB51 --freeze-until conv1
      clipcop finetune --random --arch r3d --data ~/data/UCF101
      clipcop finetune --arch r3d_18 --weights kinetics400 --data ~/data/UCF101
    """
    from clipcop.workflows.finetune import FinetuneConfig
    from clipcop.workflows.finetune import finetune as run

    options = given_flags(ctx)
    build = with_source(FinetuneConfig.from_options, shared_seed=True)
    config = resolve(FinetuneConfig, config_file, options, keys=source_keys(shared_seed="training.seed"), build=build)
    result = run(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)
