"""The feature contract every backbone follows (style after timm's ``forward_features`` family).

A backbone is five named stages ``conv1``..``conv5`` run in order. It exposes the unpooled conv5 map,
the pooled embedding (global spatiotemporal average, Sec. III-B), any named tap, and ``feature_info``
(channels per tap) so extraction, layer-wise retrieval (Table IV) and freezing (Fig. 10) need nothing
architecture-specific.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from clipcop.config import TAPS as TAPS  # re-exported: the stages every backbone has
from clipcop.errors import UsageError


@dataclass(frozen=True)
class FeatureInfo:
    """One named tap: its output channels and the spatial reduction from the input frame."""

    name: str
    channels: int
    reduction: int


class VideoBackbone(nn.Module):
    """Five stages ``conv1``..``conv5`` plus global spatiotemporal average pooling.

    Input clips ``(B, 3, T, H, W)``; ``forward`` returns the pooled embedding ``(B, num_features)``.
    """

    arch: str = ""
    weight_init: str = "he"
    """How the weights were initialised (``he`` or ``uniform``, :func:`init_weights`)."""
    shortcut: str = "conv"
    """The projection shortcut of a ResNet (``conv`` or ``factorised``); ``conv`` for C3D, which has none."""

    def __init__(self, stages: Mapping[str, nn.Module], feature_info: Sequence[FeatureInfo], width: int) -> None:
        super().__init__()
        if tuple(stages) != TAPS:
            raise ValueError(f"stages must be named {TAPS}")
        self.stages = nn.ModuleDict(dict(stages))
        self.feature_info = list(feature_info)
        self.num_features = self.feature_info[-1].channels
        self.width = width
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The unpooled conv5 map ``(B, C, T', H', W')``."""
        for stage in self.stages.values():
            x = stage(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = True) -> torch.Tensor:
        """Global spatiotemporal average of a conv5 map: ``(B, C, T', H', W')`` -> ``(B, C)``."""
        del pre_logits  # the backbone has no classifier; heads live in clipcop.heads
        return cast(torch.Tensor, self.pool(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Clips ``(B, 3, T, H, W)`` -> pooled features ``(B, C)``."""
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x: torch.Tensor, taps: Sequence[str]) -> dict[str, torch.Tensor]:
        """The outputs of the named stages, running only as deep as the deepest requested tap."""
        unknown = [t for t in taps if t not in TAPS]
        if unknown:
            raise UsageError(f"unknown layer {unknown[0]!r}; choose one of {', '.join(TAPS)}")
        deepest = max(TAPS.index(t) for t in taps)
        out = {}
        for name, stage in list(self.stages.items())[: deepest + 1]:
            x = stage(x)
            if name in taps:
                out[name] = x
        return out

    def tap_channels(self, tap: str) -> int:
        """Channels of the named tap."""
        for info in self.feature_info:
            if info.name == tap:
                return info.channels
        raise UsageError(f"unknown layer {tap!r}; choose one of {', '.join(TAPS)}")


def init_weights(module: nn.Module, scheme: str = "he") -> None:
    """Initialise every convolution, linear layer and BN of ``module`` by ``scheme``.

    ``he``: He-normal convolutions (fan-out, ReLU gain), zero conv biases, unit BN scale, as for the 3D
    ResNets of Tran et al.; linear layers keep PyTorch's default. ``uniform``: PyTorch 0.4.1's defaults,
    which the authors' code ran on (:func:`init_uniform`).
    """
    if scheme == "uniform":
        init_uniform(module)
        return
    if scheme != "he":
        raise UsageError(f"--weight-init must be one of he, uniform, not {scheme!r}")
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_uniform(module: nn.Module) -> None:
    """PyTorch 0.4.1's ``reset_parameters``: convolution and linear weights and biases uniform in
    +-1/sqrt(fan_in) (fan_in = input channels x kernel volume), BN scale uniform in [0, 1], BN shift 0.

    Later PyTorch keeps the same bound for convolutions and linear layers (``kaiming_uniform_`` with
    ``a=sqrt(5)``) but starts BN at scale 1 (since 1.2), so this is written out rather than left to defaults.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.Linear)):
            bound = 1.0 / math.sqrt(m.weight[0].numel())
            nn.init.uniform_(m.weight, -bound, bound)
            if m.bias is not None:
                nn.init.uniform_(m.bias, -bound, bound)
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.uniform_(m.weight, 0.0, 1.0)
            nn.init.zeros_(m.bias)


def conv_bn_relu(
    cin: int,
    cout: int,
    kernel: tuple[int, int, int] = (3, 3, 3),
    stride: tuple[int, int, int] = (1, 1, 1),
    *,
    bias: bool = False,
) -> nn.Sequential:
    """A padded 3D convolution (with a bias when ``bias``) followed by batch normalisation and ReLU."""
    padding = (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=bias),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )
