"""3D CNN backbones behind one feature contract, and the ``--arch`` name -> builder registry."""

from __future__ import annotations

from collections.abc import Callable

from clipcop.backbones.base import TAPS, FeatureInfo, VideoBackbone
from clipcop.backbones.c3d import C3D
from clipcop.backbones.resnet3d import R3D, R2Plus1D
from clipcop.config import ModelChoices
from clipcop.errors import UsageError

ARCHS: dict[str, Callable[..., VideoBackbone]] = {"c3d": C3D, "r3d": R3D, "r21d": R2Plus1D}
"""Backbone builders by the names ``--arch`` accepts."""


def build_backbone(arch: str, *, width: int = 64, choices: ModelChoices | None = None) -> VideoBackbone:
    """A freshly initialised backbone, e.g. ``build_backbone("r3d", width=16)``.

    ``choices`` gives the parity switches that shape the network (``weight_init`` and ``shortcut``;
    clipcop's defaults when None).
    """
    if arch not in ARCHS:
        raise UsageError(f"unknown arch {arch!r}; choose one of: {', '.join(ARCHS)}")
    if width < 1:
        raise UsageError(f"width must be a positive channel count, not {width}")
    chosen = choices or ModelChoices()
    return ARCHS[arch](width=width, weight_init=chosen.weight_init, shortcut=chosen.shortcut)


__all__ = ["ARCHS", "C3D", "R3D", "TAPS", "FeatureInfo", "R2Plus1D", "VideoBackbone", "build_backbone"]
