"""3D ResNets with one BasicBlock per stage (Sec. III-B, IV-A): R3D and R(2+1)D.

Following torchvision's ``VideoResNet``, the two differ only in the convolution injected into the stem
and the blocks: a full ``t x d x d`` kernel (R3D) or its factorisation into a ``1 x d x d`` spatial and a
``t x 1 x 1`` temporal convolution with BN and ReLU between (R(2+1)D, Eq. (2)). The factorised layer
uses ``M = floor(t*d^2*Nin*Nout / (d^2*Nin + t*Nout))`` middle channels (Tran et al. 2018), which keeps
the parameter count of the 3D kernel it replaces, so R3D and R(2+1)D are "almost the same" size.
Shortcuts that change shape are a strided 1x1x1 convolution with BN (type B); ``shortcut="factorised"``
builds that 1x1x1 convolution with the blocks' own builder instead, which for R(2+1)D is the authors'
spatial conv, BN, ReLU, temporal conv (models/r21d.py line 95) and for R3D the same plain convolution.
"""

from __future__ import annotations

import math
from typing import Protocol, cast

import torch
from torch import nn

from clipcop.backbones.base import FeatureInfo, VideoBackbone, init_weights


class ConvBuilder(Protocol):
    """Builds the convolution of a stem or block: ``(cin, cout, kernel, stride) -> module``."""

    def __call__(
        self, cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]
    ) -> nn.Module: ...


def conv3d_full(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> nn.Module:
    """A plain ``t x d x d`` 3D convolution (R3D)."""
    padding = (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
    return nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False)


def middle_channels(cin: int, cout: int, kernel: tuple[int, int, int]) -> int:
    """R(2+1)D's ``M = floor(t*d^2*Nin*Nout / (d^2*Nin + t*Nout))`` for a ``t x d x d`` kernel."""
    t, d = kernel[0], kernel[1]
    return math.floor(t * d * d * cin * cout / (d * d * cin + t * cout))


def conv2plus1d(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> nn.Module:
    """A ``t x d x d`` convolution factorised into spatial ``1 x d x d`` then temporal ``t x 1 x 1``."""
    t, d = kernel[0], kernel[1]
    mid = middle_channels(cin, cout, kernel)
    return nn.Sequential(
        nn.Conv3d(cin, mid, (1, d, d), stride=(1, stride[1], stride[2]), padding=(0, d // 2, d // 2), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, cout, (t, 1, 1), stride=(stride[0], 1, 1), padding=(t // 2, 0, 0), bias=False),
    )


class BasicBlock(nn.Module):
    """``x_o = F2(F1(x_i)) + H(x_i)`` (Eq. (1)); each F is conv -> BN (-> ReLU after F1)."""

    def __init__(self, cin: int, cout: int, stride: int, conv: ConvBuilder, shortcut: str = "conv") -> None:
        super().__init__()
        s = (stride, stride, stride)
        self.conv1 = nn.Sequential(conv(cin, cout, (3, 3, 3), s), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv(cout, cout, (3, 3, 3), (1, 1, 1)), nn.BatchNorm3d(cout))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            project = conv if shortcut == "factorised" else conv3d_full
            self.shortcut = nn.Sequential(project(cin, cout, (1, 1, 1), s), nn.BatchNorm3d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.relu(self.conv2(self.conv1(x)) + self.shortcut(x)))


class ResNet3D(VideoBackbone):
    """conv1 (3x7x7, stride 1x2x2) and one BasicBlock in each of conv2_x..conv5_x: 9 conv layers.

    ``width`` is the channel count of conv1/conv2 (64 in the paper); stages double it from conv3 on.
    ``weight_init`` (``he`` or ``uniform``) and ``shortcut`` (``conv`` or ``factorised``) are the parity
    switches of :class:`clipcop.config.ModelChoices`.
    """

    def __init__(self, conv: ConvBuilder, width: int = 64, *, weight_init: str = "he", shortcut: str = "conv") -> None:
        c = [width, width, 2 * width, 4 * width, 8 * width]
        stages = {
            "conv1": nn.Sequential(conv(3, c[0], (3, 7, 7), (1, 2, 2)), nn.BatchNorm3d(c[0]), nn.ReLU(inplace=True)),
            "conv2": BasicBlock(c[0], c[1], 1, conv, shortcut),
            "conv3": BasicBlock(c[1], c[2], 2, conv, shortcut),
            "conv4": BasicBlock(c[2], c[3], 2, conv, shortcut),
            "conv5": BasicBlock(c[3], c[4], 2, conv, shortcut),
        }
        reductions = (2, 2, 4, 8, 16)
        info = [FeatureInfo(f"conv{i + 1}", ch, r) for i, (ch, r) in enumerate(zip(c, reductions, strict=True))]
        super().__init__(stages, info, width)
        self.weight_init, self.shortcut = weight_init, shortcut
        init_weights(self, weight_init)


class R3D(ResNet3D):
    """R3D-10: full 3x3x3 kernels (Sec. III-B.2). At width 64: 14.4M parameters, 512-d output."""

    arch = "r3d"

    def __init__(self, width: int = 64, *, weight_init: str = "he", shortcut: str = "conv") -> None:
        super().__init__(conv3d_full, width, weight_init=weight_init, shortcut=shortcut)


class R2Plus1D(ResNet3D):
    """R(2+1)D-10: every 3D kernel factorised (Sec. III-B.3). At width 64: 14.4M parameters, 512-d."""

    arch = "r21d"

    def __init__(self, width: int = 64, *, weight_init: str = "he", shortcut: str = "conv") -> None:
        super().__init__(conv2plus1d, width, weight_init=weight_init, shortcut=shortcut)
