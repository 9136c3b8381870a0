"""``clipcop curriculum task`` and ``clipcop curriculum sample`` (paper Sec. III-D)."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import (
    CURRICULUM,
    DEFAULT_WORKERS,
    MODEL,
    OUTPUT,
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
    Pixels,
    Pool5,
    Precision,
    Protocol,
    Quiet,
    Resize,
    Resume,
    Schedule,
    ScoringName,
    Seed,
    Shortcut,
    Split,
    StepsPerEpoch,
    TrainList,
    ValSize,
    WeightDecay,
    WeightInit,
    Width,
)
from clipcop.cli.output import emit
from clipcop.cli.settings import given_flags, resolve
from clipcop.engine.reporting import Reporter

app = typer.Typer(help="Curriculum learning: tuple length 3 -> 4 -> 5, or hard samples.", no_args_is_help=True)

TlSchedule = Annotated[
    str, typer.Option("--tl-schedule", rich_help_panel=CURRICULUM, help="Increasing tuple lengths within 2..5.")
]
StageEpochs = Annotated[
    str | None,
    typer.Option(
        "--stage-epochs", rich_help_panel=CURRICULUM, help="Epochs per stage, comma-separated (default: --epochs each)."
    ),
]
TaskOut = Annotated[
    str | None,
    typer.Option(
        "--out",
        rich_help_panel=OUTPUT,
        help="Curriculum folder, one run per stage (default runs/curriculum-task-ARCH-CL-IT).",
    ),
]
SampleOut = Annotated[
    str | None,
    typer.Option(
        "--out",
        rich_help_panel=OUTPUT,
        help="Curriculum folder (default runs/curriculum-sample-<the checkpoint's run folder>).",
    ),
]


@app.command("task")
def task(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    tl_schedule: TlSchedule = "3,4,5",
    stage_epochs: StageEpochs = None,
    arch: Arch = "r3d",
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
    out: TaskOut = None,
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
    """Task-based curriculum: train tl=3, then tl=4 from it, then tl=5 (Sec. III-D.1, Fig. 4).

    Each stage is a normal pretraining run in OUT/tl<N> (best/last checkpoints, resumable); the backbone
    and pair layer carry over, the tl!-way output layer is new. A summary table ends the run.

    Examples:
      clipcop curriculum task --arch r3d --data ~/data/UCF101 \\
        --out runs/r3d-curriculum
      clipcop curriculum task --tl-schedule 3,4 --stage-epochs 300,100 \\
        --data ~/data/UCF101
    """
    from clipcop.workflows.curriculum import curriculum_task, parse_schedule, parse_stage_epochs, task_record
    from clipcop.workflows.curriculum_config import TaskCurriculumConfig

    options = given_flags(ctx)
    if "tl_schedule" in options:
        options["tl_schedule"] = parse_schedule(options["tl_schedule"])
    if options.get("stage_epochs") is not None:
        options["stage_epochs"] = parse_stage_epochs(options["stage_epochs"])
    config = resolve(TaskCurriculumConfig, config_file, options)
    stages = curriculum_task(
        config.base(),
        schedule=config.tl_schedule,
        epochs=config.stage_epochs,
        out=config.run.out,
        reporter=Reporter(quiet=quiet),
    )
    emit(task_record(stages), as_json=json_out)


@app.command("sample")
def sample(
    ctx: typer.Context,
    checkpoint: Annotated[
        str | None, typer.Option("--checkpoint", rich_help_panel=MODEL, help="A converged VCOP checkpoint.")
    ] = None,
    config_file: ConfigFile = None,
    window: Annotated[
        int, typer.Option("--window", rich_help_panel=CURRICULUM, help="Epochs whose scores decide easy samples.")
    ] = 5,
    threshold: Annotated[
        float,
        typer.Option("--threshold", rich_help_panel=CURRICULUM, help="Softmax of the right order that makes it easy."),
    ] = 0.8,
    scoring: Annotated[
        ScoringName,
        typer.Option(
            "--scoring",
            rich_help_panel=CURRICULUM,
            help="What scores a video in each window epoch: training (the predictions made on it while it "
            "trains, as the paper) or fixed (one fixed tuple, centre crops, eval mode, after each epoch).",
        ),
    ] = "training",
    compare_plain: Annotated[
        bool,
        typer.Option(
            "--compare-plain",
            rich_help_panel=CURRICULUM,
            help="Also continue on all samples for the same epochs, to compare.",
        ),
    ] = False,
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
    val_size: ValSize = 800,
    workers: LoaderWorkers = DEFAULT_WORKERS,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    out: SampleOut = None,
    resume: Resume = False,
    steps_per_epoch: StepsPerEpoch = None,
    compile: Compile = False,
    log: Log = None,
    backend: Backend = "auto",
    frame_cache: FrameCache = "auto",
    decode_on: DecodeOn = "cpu",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Sample-based curriculum: train a window of epochs scoring every sample, drop those ordered right with
    softmax > threshold in every epoch of it, and continue from the window's model on the hard rest
    (Sec. III-D.2, the paper's R3D*).

    Architecture, width, cl/it/tl, resize and crop come from the checkpoint; the other options are pretrain's.

    Examples:
      clipcop curriculum sample --checkpoint runs/r3d-16-8-3/best.safetensors \\
        --data ~/data/UCF101 --epochs 100
    """
    from clipcop.workflows.curriculum import curriculum_sample
    from clipcop.workflows.curriculum_config import SampleCurriculumConfig

    config = resolve(SampleCurriculumConfig, config_file, given_flags(ctx))
    result = curriculum_sample(
        config.checkpoint,
        config.base(),
        window=config.window,
        threshold=config.threshold,
        scoring=config.scoring,
        out=config.run.out,
        compare_plain=config.compare_plain,
        reporter=Reporter(quiet=quiet),
    )
    emit(result.record(), as_json=json_out)
