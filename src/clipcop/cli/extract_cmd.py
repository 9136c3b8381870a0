"""``clipcop extract``: clip features to a safetensors feature file."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import (
    DATA,
    DEFAULT_WORKERS,
    MODEL,
    OUTPUT,
    Backend,
    BatchVideos,
    Checkpoint,
    ConfigFile,
    Data,
    Dataset,
    DecodeOn,
    Device,
    FeatureDtypeName,
    FrameCache,
    Json,
    Layer,
    LoaderWorkers,
    MaybeClipLen,
    MaybeCrop,
    MaybeResize,
    MaybeWidth,
    Pixels,
    Pool5,
    PoolName,
    Precision,
    Protocol,
    Quiet,
    Random,
    Seed,
    Shortcut,
    SourceArch,
    Split,
    WeightInit,
    Weights,
)
from clipcop.cli.output import emit
from clipcop.cli.settings import given_flags, resolve
from clipcop.cli.source import source_keys, with_source
from clipcop.engine.reporting import Reporter
from clipcop.videos.layouts import Subset, parse_subset


def extract(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    checkpoint: Checkpoint = None,
    random: Random = False,
    arch: SourceArch = None,
    weights: Weights = None,
    data: Data = "synthetic",
    dataset: Dataset = None,
    split: Split = 1,
    subset: Annotated[
        Subset, typer.Option("--subset", rich_help_panel=DATA, help="Which videos of the split (all: train and test).")
    ] = "all",
    clips: Annotated[
        int, typer.Option("--clips", rich_help_panel=DATA, help="Evenly spaced clips per video (10; 20 for VQA).")
    ] = 10,
    layer: Layer = "conv5",
    pool: Annotated[
        PoolName, typer.Option("--pool", rich_help_panel=MODEL, help="global (C-d) or spatiotemporal (9216-d 'pool5').")
    ] = "global",
    protocol: Protocol = None,
    pool5: Pool5 = None,
    weight_init: WeightInit = None,
    pixels: Pixels = None,
    shortcut: Shortcut = None,
    out: Annotated[
        str | None, typer.Option("--out", rich_help_panel=OUTPUT, help="Feature file to write (.safetensors).")
    ] = None,
    dtype: Annotated[
        FeatureDtypeName, typer.Option("--dtype", rich_help_panel=OUTPUT, help="Feature precision on disk.")
    ] = "float32",
    width: MaybeWidth = None,
    clip_len: MaybeClipLen = None,
    resize: MaybeResize = None,
    crop: MaybeCrop = None,
    batch_size: BatchVideos = 8,
    workers: LoaderWorkers = DEFAULT_WORKERS,
    device: Device = "auto",
    precision: Precision = "auto",
    seed: Seed = 0,
    backend: Backend = "auto",
    frame_cache: FrameCache = "auto",
    decode_on: DecodeOn = "cpu",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Extract features of N evenly spaced clips per video (paper Sec. IV-B; 20 clips for Sec. IV-D).

    Clip geometry comes from the checkpoint unless overridden; --random --arch A takes pretrain's flags;
    --arch r3d_18|mc3_18|r2plus1d_18 --weights kinetics400|FILE reads torchvision's supervised network.

    Examples:
      clipcop extract --checkpoint best.safetensors --data ~/data/UCF101 \\
        --subset test --out test.safetensors
      clipcop extract --random --arch r3d --data ~/data/UCF101 --layer conv3 \\
        --pool spatiotemporal
      clipcop extract --arch r3d_18 --weights kinetics400 --data ~/data/anet \\
        --clips 20 --out kinetics.safetensors
    """
    from clipcop.workflows.extract import ExtractConfig
    from clipcop.workflows.extract import extract as run

    options = given_flags(ctx)
    if "subset" in options:
        options["subset"] = parse_subset(options["subset"])
    config = resolve(
        ExtractConfig, config_file, options, keys=source_keys(), build=with_source(ExtractConfig.from_options)
    )
    stats = run(config, reporter=Reporter(quiet=quiet))
    emit(stats.record(), as_json=json_out)
