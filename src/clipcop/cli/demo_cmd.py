"""``clipcop demo``: the whole paper in miniature on the built-in synthetic data."""

from __future__ import annotations

from typing import Annotated

import typer

from clipcop.cli.options import MODEL, OUTPUT, RUN, TRAINING, ArchName, Device, FixedLoaderWorkers, Json, Quiet, Seed
from clipcop.cli.output import emit
from clipcop.engine.reporting import Reporter


def demo(
    quick: Annotated[
        bool,
        typer.Option("--quick", rich_help_panel=RUN, help="CI-sized run (under a minute; numbers not meaningful)."),
    ] = False,
    out: Annotated[str, typer.Option("--out", rich_help_panel=OUTPUT, help="Run folder.")] = "runs/demo",
    epochs: Annotated[
        int | None, typer.Option("--epochs", rich_help_panel=TRAINING, help="VCOP epochs (default 30; 2 with --quick).")
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", rich_help_panel=MODEL, help="Backbone width (default 16; 4 with --quick; scale up on a GPU)."
        ),
    ] = None,
    arch: Annotated[ArchName, typer.Option("--arch", rich_help_panel=MODEL, help="Backbone.")] = "r3d",
    seed: Seed = 0,
    device: Device = "auto",
    workers: FixedLoaderWorkers = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Run the paper's pipeline in miniature: VCOP pretraining, then VCOP vs random initialisation.

    No data or GPU needed: the built-in synthetic dataset is generated once (about 25 MB, plus a
    190 MiB frame cache of its decoded frames; both in the clipcop cache folder). About 3 minutes
    on 2 CPU cores; every number printed comes from this run.

    Examples:
      clipcop demo
      clipcop demo --quick
      clipcop demo --width 64 --epochs 100 --device cuda
    """
    from clipcop.workflows.demo import DemoConfig, run_demo

    config = DemoConfig(
        quick=quick, out=out, epochs=epochs, width=width, arch=arch, seed=seed, device=device, workers=workers
    )
    result = run_demo(config, reporter=Reporter(quiet=quiet))
    emit(result.record(), as_json=json_out)
