"""``clipcop info CKPT``: what a checkpoint is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clipcop.cli.options import OUTPUT, Json
from clipcop.cli.output import emit, emit_lines


def info(
    checkpoint: Annotated[Path, typer.Argument(help="A clipcop .safetensors checkpoint.")],
    settings: Annotated[
        bool,
        typer.Option(
            "--config",
            rich_help_panel=OUTPUT,
            help="Print the TOML settings the checkpoint was trained with (for --config).",
        ),
    ] = False,
    json_out: Json = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="key: value lines even on a terminal, no table."),
    ] = False,
) -> None:
    """Print what a checkpoint is: kind, arch, width, cl/it/tl, parity switches, epoch, metrics, provenance.

    On a terminal a table; in a pipe (or with --quiet) one key: value line per entry, for scripts.

    Examples:
      clipcop info runs/vcop-r3d-16-8-3/best.safetensors
      clipcop info runs/vcop-r3d-16-8-3/best.safetensors --config > again.toml
    """
    from clipcop.engine.checkpoint import info_record, read_card

    if settings:
        from clipcop.workflows.checkpoint_settings import checkpoint_settings_toml

        emit_lines([checkpoint_settings_toml(checkpoint).rstrip("\n")])
        return

    meta = read_card(checkpoint).to_meta()
    if json_out:
        emit(info_record(checkpoint, meta), as_json=True)
        return
    if quiet or not _on_terminal():
        emit(_flat({k: v for k, v in meta.items() if k != "config"}), as_json=False)
        return
    Console(highlight=False, markup=False).print(_table(checkpoint, meta))


def _on_terminal() -> bool:
    """True when stdout is a terminal: a person reads the table; a pipe gets ``key: value`` lines instead."""
    return sys.stdout.isatty()


def _table(checkpoint: Path, meta: dict[str, object]) -> Table:
    """The checkpoint's card as a two-column table: the main keys in a fixed order, then metrics and data."""
    table = Table(title=str(checkpoint), show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key in _TABLE_KEYS:
        if key in meta:
            value = meta[key]
            table.add_row(key, json.dumps(value) if isinstance(value, list | dict) else _shown(key, value))
    metrics = meta.get("metrics")
    for key, value in (metrics if isinstance(metrics, dict) else {}).items():
        table.add_row(f"metrics.{key}", f"{value:.4f}" if isinstance(value, float) else str(value))
    if "data" in meta:
        table.add_row("data", json.dumps(meta["data"]))
    return table


def _shown(key: str, value: object) -> str:
    """A card value for the table; ``pixels`` spells out what standardising means (torchvision's Kinetics
    statistics, which its supervised weights expect)."""
    if key == "pixels" and value == "standardised":
        from clipcop.engine.pixels import MEAN, STD

        return f"standardised (RGB in [0, 1], mean {', '.join(map(str, MEAN))}, std {', '.join(map(str, STD))})"
    return str(value)


def _flat(meta: dict[str, object]) -> dict[str, object]:
    """One scalar per key for ``key: value`` lines: ``metrics.val_acc``, lists and deeper values as JSON."""
    flat: dict[str, object] = {}
    for key, value in meta.items():
        inner = value.items() if isinstance(value, dict) and value else [("", value)]
        for sub, item in inner:
            name = f"{key}.{sub}" if sub else key
            flat[name] = json.dumps(item) if isinstance(item, list | dict) else item
    return flat


_TABLE_KEYS = (
    "kind",
    "arch",
    "width",
    "clip_len",
    "interval",
    "tuple_len",
    "num_classes",
    "resize",
    "crop",
    "protocol",
    "pool5",
    "weight_init",
    "pixels",
    "shortcut",
    "weights",
    "epoch",
    "step",
    "seed",
    "version",
    "torch",
    "created",
    "init",
    "source",
)
