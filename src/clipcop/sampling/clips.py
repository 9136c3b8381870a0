"""Evaluation clips: ``N`` evenly spaced clips per video (Sec. IV-B/IV-C use 10, Sec. IV-D uses 20)."""

from __future__ import annotations

import numpy as np


def evenly_spaced_starts(num_frames: int, clip_len: int, num_clips: int) -> np.ndarray:
    """First frames of ``num_clips`` clips spread evenly from the start to the end of the video.

    A video shorter than one clip gives start 0 for every clip (its frames are repeated by
    :func:`clip_indices`).
    """
    last = max(num_frames - clip_len, 0)
    if num_clips == 1:
        return np.array([last // 2], dtype=np.int64)
    return np.round(np.linspace(0, last, num_clips)).astype(np.int64)


def clip_indices(start: int, clip_len: int, num_frames: int) -> np.ndarray:
    """Frame indices of one clip, clamped to the last frame for videos shorter than a clip."""
    return np.minimum(start + np.arange(clip_len), num_frames - 1)
