"""Building models from ``--arch`` or from a checkpoint, and the metadata every checkpoint carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipcop.backbones import build_backbone
from clipcop.backbones.base import VideoBackbone
from clipcop.engine.checkpoint import Checkpoint, load_checkpoint
from clipcop.errors import CheckpointError, UsageError

GEOMETRY_KEYS = ("clip_len", "interval", "tuple_len", "resize", "crop", "width", "arch")


def load_backbone_weights(backbone: VideoBackbone, ckpt: Checkpoint) -> None:
    """Copy the ``backbone.*`` tensors of ``ckpt`` into ``backbone`` (one clear error if they do not fit)."""
    state = ckpt.section("backbone")
    if not state:
        raise CheckpointError(f"{ckpt.path} holds no backbone weights")
    try:
        backbone.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"{ckpt.path} does not fit a {backbone.arch} backbone of width {backbone.width} "
            f"({str(err).splitlines()[0][:160]})"
        ) from None


def backbone_from(
    *,
    checkpoint: str | Path | None = None,
    random_arch: str | None = None,
    width: int | None = None,
    arch: str | None = None,
) -> tuple[VideoBackbone, dict[str, Any]]:
    """A backbone from a clipcop checkpoint, or randomly initialised (``random_arch``) as a baseline.

    Returns the backbone and the metadata describing it (the checkpoint's, or one made for the random
    model). ``arch``/``width`` given with a checkpoint must agree with it.
    """
    if (checkpoint is None) == (random_arch is None):
        raise UsageError("give exactly one of --checkpoint CKPT or --random --arch ARCH")
    if checkpoint is not None:
        ckpt = load_checkpoint(checkpoint)
        meta = ckpt.meta
        if "arch" not in meta or "width" not in meta:
            raise CheckpointError(f"{checkpoint} does not say which backbone it holds (no arch/width)")
        if arch is not None and arch != meta["arch"]:
            raise CheckpointError(f"{checkpoint} holds a {meta['arch']} backbone, not {arch}")
        if width is not None and width != meta["width"]:
            raise CheckpointError(f"{checkpoint} has width {meta['width']}, not {width}")
        backbone = build_backbone(meta["arch"], width=int(meta["width"]))
        load_backbone_weights(backbone, ckpt)
        return backbone, {**meta, "source": str(checkpoint)}
    assert random_arch is not None
    backbone = build_backbone(random_arch, width=width or 64)
    return backbone, {"kind": "random", "arch": random_arch, "width": backbone.width, "source": "random"}
