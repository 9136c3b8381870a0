"""``clipcop data synth`` and ``clipcop data index``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clipcop.cli.options import (
    DATA,
    OUTPUT,
    Backend,
    CacheFormatName,
    ClipLen,
    Dataset,
    Interval,
    Json,
    Quiet,
    Split,
    TupleLen,
    Workers,
)
from clipcop.cli.output import emit
from clipcop.config import parse_size
from clipcop.engine.reporting import Reporter
from clipcop.results import Record

app = typer.Typer(
    help="Prepare data: write the synthetic dataset, index a dataset folder, cache decoded frames.",
    no_args_is_help=True,
)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write (UCF101 layout).")],
    classes: Annotated[int, typer.Option(rich_help_panel=DATA, help="Motion classes (1-10).")] = 10,
    videos_per_class: Annotated[int, typer.Option(rich_help_panel=DATA, help="Videos per class.")] = 40,
    frames: Annotated[int, typer.Option(rich_help_panel=DATA, help="Frames per video (varies +-15%).")] = 80,
    size: Annotated[str, typer.Option(rich_help_panel=DATA, help="Frame size HEIGHTxWIDTH (even numbers).")] = "48x64",
    seed: Annotated[int, typer.Option(rich_help_panel=DATA, help="Seed: the same seed writes the same videos.")] = 0,
    qa: Annotated[
        bool,
        typer.Option(
            "--qa",
            rich_help_panel=DATA,
            help="Also write ActivityNet-QA-format questions to OUT/qa/ (for clipcop vqa).",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            rich_help_panel=DATA,
            help="Worker processes rendering videos (0 or 1: none).",
            show_default="every core",
        ),
    ] = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Write the built-in synthetic dataset: real AVI files whose classes differ by motion only.

    Examples:
      clipcop data synth /tmp/synth --classes 10 --videos-per-class 40
      clipcop data synth /tmp/synth --qa    # and questions in OUT/qa/ for vqa
    """
    from clipcop.synth.dataset import SynthSpec, synth_record, write_synthetic

    reporter = Reporter(quiet=quiet)
    spec = SynthSpec(
        classes=classes, videos_per_class=videos_per_class, frames=frames, size=parse_size(size), seed=seed
    )
    total = spec.classes * spec.videos_per_class
    with reporter.progress(total, "writing videos", "videos") as bar:
        write_synthetic(out, spec, workers=workers, on_progress=lambda d, t: bar.advance(d - bar.done), qa=qa)
    reporter.info(f"wrote {total} videos of {spec.classes} classes to {out}")
    stats = None
    if qa:
        from clipcop.synth.qa import read_qa_stats

        stats = read_qa_stats(out)
        counts = ", ".join(f"{n} {split}" for split, n in stats.questions.items())
        reporter.info(f"wrote {stats.total} questions ({counts}) in the ActivityNet-QA format to {stats.out}")
    emit(synth_record(out, spec, stats), as_json=json_out)


@app.command("index")
def index(
    data: Annotated[str, typer.Argument(help="Dataset folder, or 'synthetic'.")],
    split: Split = 1,
    dataset: Dataset = None,
    clip_len: ClipLen = 16,
    interval: Interval = 8,
    tuple_len: TupleLen = 3,
    workers: Workers = None,
    backend: Backend = "auto",
    reprobe: Annotated[
        bool,
        typer.Option("--reprobe", rich_help_panel=DATA, help="Probe every video again, ignoring the saved manifest."),
    ] = False,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Probe every video once, cache a manifest beside the data, and report what is usable.

    Unreadable files are named and counted (exit code 0). Example: clipcop data index ~/data/UCF101
    """
    from clipcop.workflows.index import index_data

    report = index_data(
        data,
        split=split,
        dataset=dataset,
        clip_len=clip_len,
        interval=interval,
        tuple_len=tuple_len,
        workers=workers,
        backend=backend,
        reprobe=reprobe,
        reporter=Reporter(quiet=quiet),
    )
    result: Record | dict[str, object] = report.record()
    if not json_out:  # a short summary; --json prints everything
        result = {
            "layout": report.layout,
            "classes": report.classes,
            "train_videos": report.train.videos,
            "test_videos": report.test.videos,
            "unreadable": len(report.train.unreadable) + len(report.test.unreadable),
            "too_short": len(report.train.too_short) + len(report.test.too_short),
            "missing": len(report.missing),
            "manifest": report.manifest,
        }
    emit(result, as_json=json_out)


@app.command("cache")
def cache(
    data: Annotated[str, typer.Argument(help="Dataset folder, or 'synthetic'.")],
    resize: Annotated[
        str,
        typer.Option(
            "--resize", rich_help_panel=DATA, help="Frame size to cache, HEIGHTxWIDTH (the training --resize)."
        ),
    ] = "128x171",
    out: Annotated[
        str | None, typer.Option("--out", rich_help_panel=OUTPUT, help="Cache folder (default: the clipcop cache).")
    ] = None,
    cache_format: Annotated[
        CacheFormatName,
        typer.Option(
            "--format",
            rich_help_panel=OUTPUT,
            help="raw (uint8 arrays: fastest, most disk) or jpeg (JPEG shards: ~1/10 of the disk).",
        ),
    ] = "raw",
    quality: Annotated[
        int, typer.Option("--quality", rich_help_panel=OUTPUT, help="JPEG quality 1-100 (--format jpeg).")
    ] = 90,
    shard_frames: Annotated[
        int,
        typer.Option(
            "--shard-frames", rich_help_panel=OUTPUT, help="Frames per JPEG shard file, about (--format jpeg)."
        ),
    ] = 20_000,
    split: Split = 1,
    dataset: Dataset = None,
    workers: Workers = None,
    backend: Backend = "auto",
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Decode every video once at the training size into the frame cache: raw arrays or JPEG shards.

    Raw: a 180-frame video at 128x171 takes 11.8 MB. JPEG (--format jpeg): every frame at --quality in a few
    large shard files with an index, about a tenth of that on camera footage, decoded per tuple. Runs with
    --frame-cache read either. Under torchrun every rank writes its share of the shards.

    Examples:
      clipcop data cache ~/data/UCF101 --resize 128x171
      clipcop data cache ~/data/kinetics400 --format jpeg --out /scratch/frames \\
        --workers 16
    """
    from clipcop.workflows.cache import cache_frames

    report = cache_frames(
        data,
        resize=parse_size(resize),
        split=split,
        dataset=dataset,
        out=out,
        workers=workers,
        backend=backend,
        format=cache_format,
        quality=quality,
        shard_frames=shard_frames,
        reporter=Reporter(quiet=quiet),
    )
    emit(report.record(), as_json=json_out)
