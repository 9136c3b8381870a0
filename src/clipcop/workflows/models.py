"""Building models from ``--arch`` or from a checkpoint, and the metadata every checkpoint carries."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from clipcop.backbones import TORCHVISION_BACKBONES, build_backbone
from clipcop.backbones.base import VideoBackbone
from clipcop.backbones.torchvision_video import TorchvisionResNet, load_torchvision_state
from clipcop.backbones.torchvision_weights import (
    KINETICS,
    kinetics_state_dict,
    kinetics_weights_name,
    state_dict_file,
)
from clipcop.config import TORCHVISION_ARCHS, ModelChoices
from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import Checkpoint, load_checkpoint
from clipcop.engine.distributed import is_main, main_process_first
from clipcop.errors import CheckpointError, UsageError


def load_backbone_weights(backbone: VideoBackbone, ckpt: Checkpoint) -> None:
    """Copy the ``backbone.*`` tensors of ``ckpt`` into ``backbone`` (one clear error if they do not fit)."""
    state = ckpt.section("backbone")
    if not state:
        raise CheckpointError(f"{ckpt.path} holds no backbone weights")
    try:
        backbone.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"{ckpt.path} does not fit a {backbone.arch} backbone of width {backbone.width} with "
            f"--weight-init {backbone.weight_init} and --shortcut {backbone.shortcut} "
            f"({str(err).splitlines()[0][:160]})"
        ) from None


SOURCE_CHOICES = (
    "give exactly one of --checkpoint CKPT, --random --arch ARCH, or --arch ARCH --weights kinetics400|FILE"
)
"""The three ways to name a model, for the error when none or several are given."""


def weights_need_torchvision_arch(arch: str | None) -> UsageError:
    """The error for ``--weights`` without one of torchvision's networks as ``--arch`` (one wording everywhere)."""
    given = f", not {arch}" if arch else ""
    names = f"{', '.join(TORCHVISION_ARCHS[:-1])} or {TORCHVISION_ARCHS[-1]}"
    return UsageError(f"--weights needs --arch {names} (torchvision's networks){given}")


def torchvision_backbone(arch: str, weights: str, note: Any = None) -> tuple[VideoBackbone, CheckpointCard]:
    """torchvision's ``arch`` with ``weights``: ``kinetics400`` (torchvision's published Kinetics-400 weights,
    from TORCH_HOME or downloaded there; ``note`` hears of a download) or a torchvision-format state dict file.

    The card (kind ``torchvision``) records the weights, where they came from (``source``) and torchvision's
    pixel standardisation, which the Kinetics weights expect.
    """
    if arch not in TORCHVISION_BACKBONES:
        raise weights_need_torchvision_arch(arch)
    backbone = build_backbone(arch)
    assert isinstance(backbone, TorchvisionResNet)
    if weights == KINETICS:
        with main_process_first():  # under torchrun one process downloads, the others read its file
            state = kinetics_state_dict(arch, note if is_main() else None)
        source = f"torchvision:{kinetics_weights_name(arch)}"
    else:
        file = Path(weights).expanduser()
        source = str(file.resolve())
        state = state_dict_file(file)
    load_torchvision_state(backbone, state, weights)
    chosen = ModelChoices()  # torchvision's: standardised pixels (its Kinetics statistics), conv shortcuts
    card = CheckpointCard(
        kind="torchvision",
        arch=arch,
        width=backbone.width,
        source=source,
        weights=weights if weights == KINETICS else source,
        protocol=chosen.protocol,
        pool5=chosen.pool5,
        weight_init=chosen.weight_init,
        pixels=chosen.pixels,
        shortcut=chosen.shortcut,
    )
    return backbone, card


def backbone_from(
    *,
    checkpoint: str | Path | None = None,
    random_arch: str | None = None,
    width: int | None = None,
    arch: str | None = None,
    choices: ModelChoices | None = None,
    weights: str | None = None,
    note: Any = None,
) -> tuple[VideoBackbone, CheckpointCard]:
    """A backbone from a clipcop checkpoint, randomly initialised (``random_arch``) as a baseline, or
    torchvision's ``arch`` with ``weights`` (:func:`torchvision_backbone`, the supervised baseline).

    Returns the backbone and the card describing it (the checkpoint's with ``source`` set to its path, or
    a ``random`` or ``torchvision`` one made for the model). ``arch``/``width`` given with a checkpoint must
    agree. A checkpoint's backbone is built with the parity switches its card records; a random one with
    ``choices`` (clipcop's defaults when None), which its card then records.
    """
    if sum(given is not None for given in (checkpoint, random_arch, weights)) != 1:
        raise UsageError(SOURCE_CHOICES)
    if weights is not None:
        if arch is None:
            raise weights_need_torchvision_arch(arch)
        if width is not None and width != 64:
            raise UsageError(f"{arch} is torchvision's network with --width 64, not {width}")
        return torchvision_backbone(arch, weights, note)
    if checkpoint is not None:
        ckpt = load_checkpoint(checkpoint)
        card = ckpt.card
        if card.arch is None or card.width is None:
            raise CheckpointError(f"{checkpoint} does not say which backbone it holds (no arch/width)")
        if arch is not None and arch != card.arch:
            raise CheckpointError(f"{checkpoint} holds a {card.arch} backbone, not {arch}")
        if width is not None and width != card.width:
            raise CheckpointError(f"{checkpoint} has width {card.width}, not {width}")
        backbone = build_backbone(card.arch, width=card.width, choices=card.choices())
        load_backbone_weights(backbone, ckpt)
        return backbone, replace(card, source=str(checkpoint))
    assert random_arch is not None
    chosen = choices or ModelChoices()
    backbone = build_backbone(random_arch, width=width or 64, choices=chosen)
    card = CheckpointCard(
        kind="random",
        arch=random_arch,
        width=backbone.width,
        source="random",
        protocol=chosen.protocol,
        pool5=chosen.pool5,
        weight_init=chosen.weight_init,
        pixels=chosen.pixels,
        shortcut=chosen.shortcut,
    )
    return backbone, card


def load_backbone(
    checkpoint: str | Path | None = None, *, arch: str | None = None, weights: str | None = None
) -> VideoBackbone:
    """The 3D CNN of a clipcop checkpoint (VCOP or fine-tuned), or torchvision's ``arch`` (``r3d_18``,
    ``mc3_18``, ``r2plus1d_18``) with ``weights`` (``kinetics400`` or a state dict file, as ``--weights``), in
    eval mode on the CPU, for use in your own code: ``load_backbone("best.safetensors")`` or
    ``load_backbone(arch="r3d_18", weights="kinetics400")``.

    Its input is what ``extract`` feeds it: float clips ``(B, 3, T, H, W)`` made from uint8 frames
    ``(B, T, H, W, 3)`` by :func:`clipcop.normalize` with the checkpoint's ``pixels`` choice
    recorded in its card (``clipcop info CKPT``; ``standardised`` unless made with ``--protocol official`` or
    ``--pixels unit``; always ``standardised`` for torchvision's networks). The taps (Sec. IV-B, Table IV):

    - ``forward(x)``: the globally pooled conv5 embedding ``(B, C)``, ``extract``'s default features;
    - ``forward_intermediates(x, taps)``: the unpooled maps of the named stages (``conv1``..``conv5``), a dict;
    - ``feature_info``: each tap's name, channels and spatial reduction.

    Weights that are NaN or infinite are refused with a :class:`~clipcop.errors.CheckpointError`, as
    everywhere else; so are files that are not clipcop checkpoints.
    """
    if (checkpoint is None) == (weights is None) or (weights is None) != (arch is None):
        raise UsageError("give load_backbone a checkpoint, or arch= and weights= (torchvision's networks)")
    if weights is not None:
        backbone, _ = torchvision_backbone(str(arch), weights)
    else:
        backbone, _ = backbone_from(checkpoint=checkpoint)
    return backbone.eval()
