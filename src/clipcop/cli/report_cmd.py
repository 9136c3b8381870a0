"""``clipcop report RUN_DIR``: pictures and an HTML page from a finished run's files."""

from __future__ import annotations

import shlex
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from clipcop.cli.options import Dpi, Json, PictureFormat, Quiet
from clipcop.cli.output import emit


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (pretrain, finetune, curriculum, vqa train or demo).")],
    fmt: PictureFormat = "png",
    dpi: Dpi = 100,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Draw a run's pictures in the paper's order: pretraining curves and per-class bars (Fig. 5), the
    curriculum (Fig. 4), retrieval top-k curves, by layer and grids (Figs. 6-8, Table IV), fine-tuning per
    class and confusion matrices (Table V), video QA (Table VI).

    Pictures go into RUN_DIR/report/ beside one self-contained index.html, every picture captioned, with
    the command, clipcop version and each run's settings. Save `clipcop retrieve --layer all --json`
    output as a .json file in the run folder to plot top-k by layer.

    Needs matplotlib: pip install "clipcop\\[plot]".

    Example: clipcop report runs/demo --format svg
    """
    from clipcop.report.build import build_report

    command = "clipcop " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["report"] else None
    with warnings.catch_warnings():
        if quiet:  # the report prints no progress; --quiet also keeps plotting libraries' warnings off stderr
            warnings.simplefilter("ignore")
        result = build_report(run_dir, fmt=fmt, dpi=dpi, command=command)
    emit(result.record(), as_json=json_out)
