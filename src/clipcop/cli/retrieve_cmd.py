"""``clipcop retrieve``: nearest-neighbour retrieval with FAISS."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clipcop.cli.options import (
    DATA,
    DEFAULT_WORKERS,
    MODEL,
    OUTPUT,
    RETRIEVAL,
    Backend,
    BatchVideos,
    Checkpoint,
    ConfigFile,
    Dataset,
    DecodeOn,
    Device,
    FrameCache,
    IndexKindName,
    Json,
    Layers,
    LevelName,
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
    QuerySplitName,
    Quiet,
    Random,
    Seed,
    Shortcut,
    SourceArch,
    Split,
    WeightInit,
    Weights,
)
from clipcop.cli.output import emit, emit_lines
from clipcop.cli.settings import given_flags, resolve
from clipcop.cli.source import SOURCE_FLAGS, source_keys, with_source
from clipcop.engine.reporting import Reporter


def retrieve(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    checkpoint: Checkpoint = None,
    random: Random = False,
    arch: SourceArch = None,
    weights: Weights = None,
    data: Annotated[
        str | None, typer.Option("--data", rich_help_panel=DATA, help="Dataset folder or 'synthetic' (with a model).")
    ] = None,
    dataset: Dataset = None,
    split: Split = 1,
    query_split: Annotated[
        QuerySplitName, typer.Option("--query-split", rich_help_panel=DATA, help="test (gallery: train) or train.")
    ] = "test",
    gallery: Annotated[
        str | None, typer.Option("--gallery", rich_help_panel=DATA, help="Gallery feature file (with --queries).")
    ] = None,
    queries: Annotated[
        str | None, typer.Option("--queries", rich_help_panel=DATA, help="Query feature file (with --gallery).")
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", rich_help_panel=DATA, help="A video file: show its nearest gallery videos.")
    ] = None,
    level: Annotated[
        LevelName,
        typer.Option(
            "--level",
            rich_help_panel=RETRIEVAL,
            help="Per clip (Tables II-IV), per video (mean of its clips: Fig. 7), or both.",
        ),
    ] = "both",
    k: Annotated[
        str, typer.Option("--k", rich_help_panel=RETRIEVAL, help="Comma-separated k values.")
    ] = "1,5,10,20,50",
    layer: Layers = "conv5",
    pool: Annotated[
        PoolName,
        typer.Option("--pool", rich_help_panel=MODEL, help="spatiotemporal (the paper's 9216-d pool5) or global."),
    ] = "spatiotemporal",
    clips: Annotated[int, typer.Option("--clips", rich_help_panel=DATA, help="Evenly spaced clips per video.")] = 10,
    index: Annotated[
        IndexKindName,
        typer.Option(
            "--index", rich_help_panel=RETRIEVAL, help="flat (exact), ivf or hnsw (approximate, for millions)."
        ),
    ] = "flat",
    save_index: Annotated[
        str | None,
        typer.Option("--save-index", rich_help_panel=OUTPUT, help="Write the FAISS index (+ .json metadata)."),
    ] = None,
    grid: Annotated[
        str | None,
        typer.Option(
            "--grid",
            rich_help_panel=OUTPUT,
            help="Write a picture (.png, .svg or .pdf) of queries and their top neighbours (Fig. 8).",
        ),
    ] = None,
    neighbours: Annotated[
        str | None,
        typer.Option(
            "--neighbours",
            rich_help_panel=OUTPUT,
            help="Write every query's nearest gallery items (largest k) to this CSV.",
        ),
    ] = None,
    width: MaybeWidth = None,
    pool5: Pool5 = None,
    protocol: Protocol = None,
    weight_init: WeightInit = None,
    pixels: Pixels = None,
    shortcut: Shortcut = None,
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
    """Nearest-neighbour retrieval: test queries against a train gallery, top-k accuracy (Sec. IV-B).

    Reports clip level (every clip queries clips: the paper's Tables II-IV) and video level (mean of a
    video's clip features: Fig. 7), each labelled.

    Examples:
      clipcop retrieve --checkpoint best.safetensors --data ~/data/UCF101 \\
        --query-split test
      clipcop retrieve --gallery ucf_train.safetensors \\
        --queries hmdb_test.safetensors
      clipcop retrieve --checkpoint best.safetensors --data ~/data/UCF101 \\
        --query my_video.mp4
      clipcop retrieve --checkpoint best.safetensors --data ~/data/UCF101 \\
        --layer all --level clip
    """
    from clipcop.workflows.retrieve import RetrieveConfig
    from clipcop.workflows.retrieve import retrieve as run

    reporter = Reporter(quiet=quiet)
    config = resolve(RetrieveConfig, config_file, _options(given_flags(ctx)), keys=source_keys(), build=_build)
    if grid is not None:
        from clipcop.workflows.samples import check_grid_level, check_grid_out

        check_grid_level(level)
        check_grid_out(grid)
    from clipcop.workflows.retrieve import check_retrieve_outputs

    check_retrieve_outputs(config, grid)
    if query is not None:
        from clipcop.workflows.query import query_record, query_video

        found = query_video(config, query, reporter=reporter)
        emit(query_record(query, found), as_json=json_out)
        if not json_out:
            emit_lines([f"{r['rank']}\t{r['similarity']:.4f}\t{r['class']}\t{r['video']}" for r in found])
        return
    result = run(config, reporter=reporter)
    if grid is not None:
        from clipcop.workflows.samples import write_samples_grid

        write_samples_grid(result, grid, reporter=reporter)
    emit(result.record(grid=grid, index=save_index), as_json=json_out)


def _build(options: dict[str, Any]) -> Any:
    """A retrieval config from flat options: a model source only when a model flag was given (a gallery
    and query files need none)."""
    from clipcop.workflows.retrieve import RetrieveConfig

    if any(flag in options for flag in SOURCE_FLAGS if flag != "seed"):
        return with_source(RetrieveConfig.from_options)(options)
    options.pop("seed", None)
    return RetrieveConfig.from_options(**options)


def _options(given: dict[str, Any]) -> dict[str, Any]:
    """The flags given, under :class:`RetrieveConfig`'s names and types (``--grid`` is the command's own)."""
    from clipcop.index.faiss_index import IndexSpec
    from clipcop.workflows.retrieve import parse_ks

    options = {k: v for k, v in given.items() if k != "grid"}
    if "k" in options:
        options["ks"] = parse_ks(options.pop("k"))
    if "index" in options:
        options["index"] = IndexSpec(kind=options["index"])
    if "neighbours" in options:
        options["neighbours_csv"] = options.pop("neighbours")
    return options
