"""3D CNN backbones behind one feature contract, and the ``--arch`` name -> builder registry."""

from __future__ import annotations

from collections.abc import Callable

from clipcop.backbones.base import TAPS, FeatureInfo, VideoBackbone
from clipcop.backbones.c3d import C3D
from clipcop.backbones.resnet3d import R3D, R2Plus1D
from clipcop.backbones.torchvision_video import TORCHVISION_BACKBONES, TorchvisionResNet
from clipcop.config import ModelChoices
from clipcop.errors import UsageError

ARCHS: dict[str, Callable[..., VideoBackbone]] = {"c3d": C3D, "r3d": R3D, "r21d": R2Plus1D}
"""clipcop's own backbones by the names ``--arch`` accepts (the ones ``pretrain`` builds)."""

ALL_ARCHS: dict[str, Callable[..., VideoBackbone]] = {**ARCHS, **TORCHVISION_BACKBONES}
"""Every ``--arch``: clipcop's own and torchvision's video ResNet-18s (extract, retrieve, finetune)."""


def build_backbone(arch: str, *, width: int = 64, choices: ModelChoices | None = None) -> VideoBackbone:
    """A freshly initialised backbone, e.g. ``build_backbone("r3d", width=16)`` or ``build_backbone("r3d_18")``.

    ``choices`` gives the parity switches that shape the network (``weight_init`` and ``shortcut``;
    clipcop's defaults when None). torchvision's networks are 64 wide with its initialisation and shortcuts.
    """
    if arch not in ALL_ARCHS:
        raise UsageError(f"unknown arch {arch!r}; choose one of: {', '.join(ALL_ARCHS)}")
    if width < 1:
        raise UsageError(f"width must be a positive channel count, not {width}")
    chosen = choices or ModelChoices()
    return ALL_ARCHS[arch](width=width, weight_init=chosen.weight_init, shortcut=chosen.shortcut)


__all__ = [
    "ALL_ARCHS",
    "ARCHS",
    "C3D",
    "R3D",
    "TAPS",
    "TORCHVISION_BACKBONES",
    "FeatureInfo",
    "R2Plus1D",
    "TorchvisionResNet",
    "VideoBackbone",
    "build_backbone",
]
