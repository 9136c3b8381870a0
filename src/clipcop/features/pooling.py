"""Pooling a tap into a clip feature (Sec. IV-B).

``global``: spatiotemporal average, ``C`` values (512-d at conv5, the embedding every head uses).
``spatiotemporal``: max-pooling to a fixed grid and flattening. At conv5 the grid is 2x3x3, giving the
paper's 9216-d "pool5" (512x2x3x3, the size of CaffeNet's pool5). Shallower taps have fewer channels;
their grid grows so that every tap gives the same 9216 values at width 64, as the layer-wise comparison
of Table IV needs: 256 ch -> 4x3x3, 128 ch -> 2x6x6, 64 ch -> 4x6x6.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clipcop.errors import UsageError

POOLS = ("global", "spatiotemporal")
_GRIDS = {1: (2, 3, 3), 2: (4, 3, 3), 4: (2, 6, 6), 8: (4, 6, 6)}


def grid_for(channels: int, deepest_channels: int) -> tuple[int, int, int]:
    """The max-pooling grid for a tap with ``channels`` when the deepest tap has ``deepest_channels``."""
    ratio = deepest_channels // channels
    if ratio not in _GRIDS:
        raise UsageError(f"no spatiotemporal grid for a tap with {channels} of {deepest_channels} channels")
    return _GRIDS[ratio]


def pooled_dim(pool: str, channels: int, deepest_channels: int) -> int:
    """Length of the pooled feature."""
    if pool == "global":
        return channels
    t, h, w = grid_for(channels, deepest_channels)
    return channels * t * h * w


def pool_tap(x: torch.Tensor, pool: str, deepest_channels: int) -> torch.Tensor:
    """A tap ``(B, C, T, H, W)`` -> ``(B, D)`` by ``pool`` (``global`` or ``spatiotemporal``)."""
    if pool == "global":
        return x.float().mean(dim=(2, 3, 4))
    if pool == "spatiotemporal":
        grid = grid_for(x.shape[1], deepest_channels)
        return F.adaptive_max_pool3d(x.float(), grid).flatten(1)
    raise UsageError(f"unknown pooling {pool!r}; choose one of {', '.join(POOLS)}")
