"""``clipcop finetune``: action-recognition fine-tuning, optionally with hierarchical freezing."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import (
    Backend,
    Checkpoint,
    Data,
    Dataset,
    Device,
    FrameCache,
    Json,
    LoaderWorkers,
    MaybeArch,
    MaybeClipLen,
    MaybeCrop,
    MaybeResize,
    MaybeWidth,
    Precision,
    Quiet,
    Random,
    Seed,
    Split,
)
from clipcop.cli.output import emit
from clipcop.cli.pretrain_cmd import (
    Lr,
    Momentum,
    Optimizer,
    Resume,
    Schedule,
    StepsPerEpoch,
    ValSize,
    WeightDecay,
)
from clipcop.cli.source import model_source
from clipcop.engine.reporting import Reporter

ClipBatchSize = Annotated[int, typer.Option("--batch-size", help="Clips per step over all processes (the paper: 8).")]


def finetune(
    checkpoint: Checkpoint = None,
    random: Random = False,
    arch: MaybeArch = None,
    data: Data = "synthetic",
    dataset: Dataset = None,
    split: Split = 1,
    freeze_until: Annotated[
        str | None, typer.Option("--freeze-until", help="Freeze conv1 .. this stage (conv1-conv5), BN statistics too.")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs (the paper: 150).")] = 150,
    batch_size: ClipBatchSize = 8,
    optimizer: Optimizer = "sgd",
    lr: Lr = 1e-3,
    momentum: Momentum = 0.9,
    weight_decay: WeightDecay = 5e-4,
    schedule: Schedule = "constant",
    val_size: ValSize = 800,
    test_clips: Annotated[int, typer.Option("--test-clips", help="Clips per test video, predictions averaged.")] = 10,
    width: MaybeWidth = None,
    clip_len: MaybeClipLen = None,
    resize: MaybeResize = None,
    crop: MaybeCrop = None,
    workers: LoaderWorkers = 4,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    out: Annotated[str | None, typer.Option("--out", help="Run folder (default runs/finetune-SOURCE).")] = None,
    resume: Resume = False,
    steps_per_epoch: StepsPerEpoch = None,
    frame_cache: FrameCache = "auto",
    backend: Backend = "auto",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Fine-tune for action recognition (paper Sec. IV-C): backbone from a checkpoint + a new linear layer.

    Tests with 10 evenly spaced clips per video, softmax averaged; saves per-class accuracy and the
    confusion matrix. The result is a normal checkpoint that extract/retrieve/vqa accept.

    Examples:
      clipcop finetune --checkpoint runs/r3d-16-8-3/best.safetensors --data ~/data/UCF101
      clipcop finetune --checkpoint runs/r3d-16-8-3/best.safetensors --data ~/data/HMDB51 --freeze-until conv1
      clipcop finetune --random --arch r3d --data ~/data/UCF101
    """
    from clipcop.workflows.finetune import FinetuneConfig
    from clipcop.workflows.finetune import finetune as run

    config = FinetuneConfig(
        source=model_source(checkpoint, random, arch, width, clip_len, resize, crop, seed),
        data=data,
        dataset=dataset,
        split=split,
        freeze_until=freeze_until,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        schedule=schedule,
        val_size=val_size,
        test_clips=test_clips,
        workers=workers,
        device=device,
        precision=precision,
        seed=seed,
        out=out,
        resume=resume,
        steps_per_epoch=steps_per_epoch,
        frame_cache=frame_cache,
        backend=backend,
    )
    result = run(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)
