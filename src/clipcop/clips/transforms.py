"""Clip transforms as pure functions (Sec. IV-A): crop on uint8 frames, scale/normalise on the device.

Frames arrive already resized at decode time. Cropping stays on the CPU in uint8 (cheap, and 4x less
to copy); conversion to float and normalisation happen on the training device in one fused step.
"""

from __future__ import annotations

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


def crop_clip(frames: np.ndarray, origin: tuple[int, int], crop: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames -> ``(3, T, crop, crop)`` uint8, one window for every frame."""
    top, left = origin
    window = frames[:, top : top + crop, left : left + crop]
    return np.ascontiguousarray(window.transpose(3, 0, 1, 2))


def normalize(clips: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 clips with channels at dim -4, e.g. ``(B, N, 3, T, H, W)`` -> float, centred and scaled."""
    shape = [1] * clips.dim()
    shape[-4] = 3
    mean = torch.tensor(MEAN, device=clips.device, dtype=dtype).view(shape)
    std = torch.tensor(STD, device=clips.device, dtype=dtype).view(shape)
    return (clips.to(dtype) / 255.0 - mean) / std
