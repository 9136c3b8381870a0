"""Pooling a tap into a clip feature (Sec. IV-B).

``global``: spatiotemporal average, ``C`` values (512-d at conv5, the embedding every head uses).
``spatiotemporal``: max-pooling to a fixed grid and flattening. At conv5 the grid is 2x3x3, giving the
paper's 9216-d "pool5" (512x2x3x3, the size of CaffeNet's pool5). Shallower taps have fewer channels;
their grid grows so that every tap gives the same 9216 values at width 64, as the layer-wise comparison
of Table IV needs: 256 ch -> 4x3x3, 128 ch -> 2x6x6, 64 ch -> 4x6x6.

``pool5="strided"`` pools conv5 as the authors' code does instead: non-overlapping 1x2x2 windows with
stride 1x2x2 (``feature_pool``, models/r3d.py line 154), so a 512x2x7x7 map gives 512x2x3x3 with its last
row and column dropped. The adaptive grid (the default) uses every position with overlapping 3x3 windows;
both give 9216 values at 16x112x112. The strided size follows the input: :func:`conv5_grid`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clipcop.config import POOLS
from clipcop.errors import UsageError

STRIDED = (1, 2, 2)
"""The official pool5 window and stride."""
_GRIDS = {1: (2, 3, 3), 2: (4, 3, 3), 4: (2, 6, 6), 8: (4, 6, 6)}


def grid_for(channels: int, deepest_channels: int) -> tuple[int, int, int]:
    """The max-pooling grid for a tap with ``channels`` when the deepest tap has ``deepest_channels``."""
    ratio = deepest_channels // channels
    if ratio not in _GRIDS:
        raise UsageError(f"no spatiotemporal grid for a tap with {channels} of {deepest_channels} channels")
    return _GRIDS[ratio]


def conv5_grid(clip_len: int, crop: int) -> tuple[int, int, int]:
    """The strided pool5 grid for ``clip_len x crop x crop`` clips.

    Every backbone halves time three times and space four times before conv5, rounding up (C3D's pools
    use ``ceil_mode``; the ResNets' stride-2 convolutions are padded), so conv5 is ``ceil(T/8) x
    ceil(H/16)`` (2x7x7 at 16x112) and the 1x2x2 windows keep ``floor`` of half its height and width.
    """
    t, h = clip_len, crop
    for _ in range(3):
        t = -(-t // 2)
    for _ in range(4):
        h = -(-h // 2)
    if h < STRIDED[1]:
        raise UsageError(f"--pool5 strided needs conv5 at least 2x2; a {crop}x{crop} crop gives {h}x{h}")
    return t, h // 2, h // 2


def uses_strided(pool: str, layer: str, pool5: str) -> bool:
    """Whether ``layer`` is pooled by the official strided pool5 (only conv5, only ``spatiotemporal``)."""
    return pool == "spatiotemporal" and layer == "conv5" and pool5 == "strided"


def pooled_dim(
    pool: str, channels: int, deepest_channels: int, *, strided_grid: tuple[int, int, int] | None = None
) -> int:
    """Length of the pooled feature (``strided_grid``: the strided pool5's, :func:`conv5_grid`)."""
    if pool == "global":
        return channels
    t, h, w = strided_grid or grid_for(channels, deepest_channels)
    return channels * t * h * w


def pool_tap(x: torch.Tensor, pool: str, deepest_channels: int, *, strided: bool = False) -> torch.Tensor:
    """A tap ``(B, C, T, H, W)`` -> ``(B, D)`` by ``pool`` (``global`` or ``spatiotemporal``); ``strided``
    max-pools with the official pool5 layer instead of the adaptive grid."""
    if pool == "global":
        return x.float().mean(dim=(2, 3, 4))
    if pool == "spatiotemporal" and strided:
        return F.max_pool3d(x.float(), STRIDED, STRIDED).flatten(1)
    if pool == "spatiotemporal":
        grid = grid_for(x.shape[1], deepest_channels)
        return F.adaptive_max_pool3d(x.float(), grid).flatten(1)
    raise UsageError(f"unknown pooling {pool!r}; choose one of {', '.join(POOLS)}")
