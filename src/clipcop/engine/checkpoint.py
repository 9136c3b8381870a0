"""Checkpoints as safetensors with JSON metadata; pickles are refused because loading them runs code.

A clipcop checkpoint holds the model weights and, under the metadata key ``clipcop``, a JSON object with
what the model is (``kind``, ``arch``, ``width``, ``tuple``...), how it was trained (the full run config),
its metrics, epoch, step, seed, and the clipcop and torch versions. ``clipcop info`` prints that object;
:class:`clipcop.engine.card.CheckpointCard` is its typed form, which every reader goes through.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from clipcop._version import __version__
from clipcop.engine.atomic import write_atomic
from clipcop.engine.card import CheckpointCard
from clipcop.errors import CheckpointError, MalformedCheckpointError
from clipcop.paths import why_not
from clipcop.results import InfoRecord
from clipcop.validation import parse_json

FORMAT = "clipcop.checkpoint/1"
META_KEY = "clipcop"


def now_iso() -> str:
    """The current UTC time, ISO 8601, for the ``created`` field of a checkpoint's metadata."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Checkpoint:
    """Weights and metadata read from a checkpoint file."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    @cached_property
    def card(self) -> CheckpointCard:
        """The checked metadata (a malformed header raises one-line :class:`CheckpointError`)."""
        return CheckpointCard.from_meta(self.meta, self.path)

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensors under ``prefix.`` with the prefix removed (e.g. ``backbone``)."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``tensors`` and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    payload = {"format": FORMAT, "version": __version__, "torch": torch.__version__, **meta}
    header = {META_KEY: json.dumps(payload, sort_keys=True)}
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return write_atomic(path, lambda tmp: save_file(cpu, str(tmp), metadata=header))


def _sniff(path: Path) -> None:
    """Refuse pickles (``torch.save`` zips and raw pickles) before anything parses the file."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) == 9 and head[8:9] == b"{":  # u64 header length, then the JSON header
        return
    if head[:2] == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        raise CheckpointError(
            f"{path} is a pickle (torch.save) file; clipcop only loads safetensors checkpoints, "
            "because unpickling can run arbitrary code"
        )
    raise CheckpointError(f"{path} is truncated or not a safetensors file")


def read_meta(path: str | Path) -> dict[str, Any]:
    """The clipcop metadata of a checkpoint, without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} {why_not(path, 'file')}")
    _sniff(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is truncated or not a safetensors file ({err})") from None
    if META_KEY not in header:
        if ".state.e" in path.name:
            raise CheckpointError(
                f"{path} is a run's training state (optimizer, RNG) for --resume, not a checkpoint; "
                "use best.safetensors or last.safetensors"
            )
        raise CheckpointError(f"{path} is a safetensors file but not a clipcop checkpoint (no metadata)")
    loaded = parse_json(header[META_KEY], path, "checkpoint header", error=MalformedCheckpointError)
    if not isinstance(loaded, dict):
        CheckpointCard.from_meta(loaded, path)  # raises, naming the file and the shape found
    meta: dict[str, Any] = loaded
    return meta


def read_card(path: str | Path, *, kind: str | None = None) -> CheckpointCard:
    """The checked metadata of a checkpoint, from its header alone (no tensor is read); ``kind`` (e.g.
    ``"vcop"``) rejects checkpoints of another kind, as :func:`load_checkpoint` does."""
    meta = read_meta(path)
    _check_kind(path, meta, kind)
    return CheckpointCard.from_meta(meta, path)


def _check_kind(path: str | Path, meta: dict[str, Any], kind: str | None) -> None:
    """Refuse a feature file, and a checkpoint of another kind than ``kind`` (when given)."""
    if str(meta.get("format", "")).startswith("clipcop.features"):
        raise CheckpointError(f"{path} is a feature file (written by clipcop extract), not a model checkpoint")
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(f"{path} is a {meta.get('kind', 'unknown')!r} checkpoint, not {kind!r}")


def load_checkpoint(path: str | Path, *, kind: str | None = None) -> Checkpoint:
    """Read a clipcop checkpoint; ``kind`` (e.g. ``"vcop"``) rejects checkpoints of another kind."""
    path = Path(path)
    meta = read_meta(path)
    _check_kind(path, meta, kind)
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is truncated or damaged ({err})") from None
    check_finite(path, tensors)
    return Checkpoint(path, tensors, meta)


def check_finite(path: str | Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Refuse weights that are NaN or infinite: every feature such a model makes would be NaN, and a
    retrieval with them scores 0% without saying why. Every weights file clipcop reads passes through here."""
    bad = [name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise CheckpointError(
            f"{path} holds non-finite weights (NaN or infinity) in {bad[0]}{more}: the run that wrote it "
            "diverged or the file was altered; use an earlier checkpoint"
        )


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with every key put under ``prefix.``."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def info_record(path: str | Path, meta: dict[str, Any]) -> InfoRecord:
    """What ``clipcop info --json`` prints (:mod:`clipcop.results`): the checkpoint at ``path`` and its
    metadata (:func:`read_meta`)."""
    return InfoRecord(checkpoint=str(path), kind=str(meta.get("kind", "")), metadata=dict(meta))
