"""``clipcop info CKPT``: what a checkpoint is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clipcop.cli.options import Json
from clipcop.cli.output import emit, emit_lines
from clipcop.engine.reporting import Reporter


def info(
    checkpoint: Annotated[Path, typer.Argument(help="A clipcop .safetensors checkpoint.")],
    settings: Annotated[
        bool, typer.Option("--config", help="Print the TOML settings the checkpoint was trained with (for --config).")
    ] = False,
    json_out: Json = False,
) -> None:
    """Print what a checkpoint is: kind, arch, width, cl/it/tl, parity switches, epoch, metrics, provenance.

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
    table = Table(title=str(checkpoint), show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key in (
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
    ):
        if key in meta:
            table.add_row(key, json.dumps(meta[key]) if isinstance(meta[key], list | dict) else _shown(key, meta[key]))
    for key, value in (meta.get("metrics") or {}).items():
        table.add_row(f"metrics.{key}", f"{value:.4f}" if isinstance(value, float) else str(value))
    if "data" in meta:
        table.add_row("data", json.dumps(meta["data"]))
    Reporter().table(table)
    emit(_flat({k: v for k, v in meta.items() if k != "config"}), as_json=False)


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
