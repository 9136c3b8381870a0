"""Clip transforms as pure functions (Sec. IV-A): crop on uint8 frames, scale/normalise on the device.

Frames arrive already resized at decode time. Cropping stays on the CPU in uint8 and in the decoder's
channels-last layout ``(T, H, W, 3)``: the crop window is gathered straight from the frame source (a
memory-mapped cache needs no other copy), and the move of the channels to the front happens on the
training device in the same pass as the float conversion. On CUDA the result is the channels_last_3d
layout the model runs in, so no transpose is ever materialised; on the CPU it is a contiguous tensor.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch

MEAN = (0.43216, 0.394666, 0.37645)
"""Per-channel mean of RGB in [0, 1] used to centre inputs (the usual video-model statistics)."""
STD = (0.22803, 0.22145, 0.216989)


def random_crop_origin(height: int, width: int, crop: int, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a uniformly random ``crop x crop`` window."""
    return int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))


def centre_crop_origin(height: int, width: int, crop: int) -> tuple[int, int]:
    """Top-left corner of the centred ``crop x crop`` window."""
    return (height - crop) // 2, (width - crop) // 2


def gather_windows(frames: np.ndarray, rows: np.ndarray, origins: Sequence[tuple[int, int]], crop: int) -> np.ndarray:
    """Crop windows of frame rows: ``frames (N, H, W, 3)``, ``rows (K, T)`` -> ``(K, T, crop, crop, 3)`` uint8.

    Clip ``k`` takes frames ``rows[k]`` and one window at ``origins[k]`` for all of them (one crop per
    clip, Sec. IV-A). Only the window's bytes are read, so ``frames`` may be a memory map of a video.
    """
    out = np.empty((*rows.shape, crop, crop, frames.shape[-1]), dtype=np.uint8)
    for k, (top, left) in enumerate(origins):
        out[k] = frames[rows[k], top : top + crop, left : left + crop]
    return out


def normalize(clips: torch.Tensor, dtype: torch.dtype = torch.float32, *, channels_last: bool = False) -> torch.Tensor:
    """uint8 clips ``(..., T, H, W, 3)`` -> float ``(..., 3, T, H, W)``, centred and scaled.

    ``channels_last=True`` keeps the channels innermost in memory (channels_last_3d once the leading
    dimensions are folded into the batch), which is what the CUDA runtime feeds the model; otherwise the
    result is contiguous. The convert-and-transpose is one copy, the affine is done in place.
    """
    view = clips.movedim(-1, -4)
    if channels_last:
        out = view.to(dtype, copy=True)  # keeps the permuted strides; never the caller's tensor
    else:
        out = torch.empty(view.shape, dtype=dtype, device=clips.device)
        out.copy_(view)
    scale, shift = _affine(clips.device, dtype)
    return out.mul_(scale).sub_(shift)


@functools.lru_cache(maxsize=8)
def _affine(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x / 255 - mean) / std`` as ``x * scale - shift``, shaped ``(3, 1, 1, 1)``, made once per device.

    Cached so that a training step never copies constants to the GPU (a pageable copy would wait for
    the queued kernels).
    """
    std = torch.tensor(STD, dtype=torch.float64)
    scale = 1.0 / (255.0 * std)
    shift = torch.tensor(MEAN, dtype=torch.float64) / std
    return (
        scale.to(device=device, dtype=dtype).view(3, 1, 1, 1),
        shift.to(device=device, dtype=dtype).view(3, 1, 1, 1),
    )
