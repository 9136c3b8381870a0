"""``clipcop report RUN_DIR``: pictures and an HTML page from a finished run's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clipcop.cli.options import Json
from clipcop.cli.output import emit


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (pretrain, finetune, curriculum, vqa train or demo).")],
    json_out: Json = False,
) -> None:
    """Draw a run's curves, per-class bars (Fig. 5), top-k curves (Figs. 6-7) and comparisons (Table V, Fig. 4).

    PNGs go into RUN_DIR/report/ beside one self-contained index.html.

    Needs matplotlib: pip install "clipcop\\[plot]".

    Example: clipcop report runs/demo
    """
    from clipcop.report.build import build_report

    result = build_report(run_dir)
    emit(result.record(), as_json=json_out)
