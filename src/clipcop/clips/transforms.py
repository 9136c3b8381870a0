"""Clip transforms as pure functions (Sec. IV-A): crop on uint8 frames; scaling and normalising happen on
the device (:func:`clipcop.engine.pixels.normalize`).

Frames arrive already resized at decode time. Cropping stays on the CPU in uint8 and in the decoder's
channels-last layout ``(T, H, W, 3)``: the crop window is gathered straight from the frame source (a
memory-mapped cache needs no other copy), and the move of the channels to the front happens on the
training device in the same pass as the float conversion. On CUDA the result is the channels_last_3d
layout the model runs in, so no transpose is ever materialised; on the CPU it is a contiguous tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
