"""Clips cross to the device as channels-last uint8 and come out normalised in the model's layout."""

from __future__ import annotations

import numpy as np
import torch

from clipcop.clips.transforms import gather_windows
from clipcop.engine.device import resolve_runtime
from clipcop.engine.pixels import MEAN, STD, normalize


def test_normalize_moves_channels_forward_in_either_memory_layout() -> None:
    clips = torch.randint(0, 256, (2, 3, 4, 6, 5, 3), dtype=torch.uint8)  # (B, tl, T, H, W, 3)
    mean = torch.tensor(MEAN).view(3, 1, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1, 1)
    expected = (clips.permute(0, 1, 5, 2, 3, 4).float() / 255 - mean) / std
    dense = normalize(clips)
    packed = normalize(clips, channels_last=True)
    assert dense.shape == packed.shape == (2, 3, 3, 4, 6, 5)
    assert dense.is_contiguous()
    assert packed.flatten(0, 1).is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(dense, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(packed, expected, rtol=0, atol=1e-6)
    assert torch.equal(resolve_runtime("cpu").clips(clips), dense)
    floats = clips.float()
    normalize(floats, channels_last=True)
    assert torch.equal(floats, clips.float())  # the caller's tensor is never normalised in place


def test_gather_windows_crops_each_clip_at_its_own_origin() -> None:
    frames = np.arange(10 * 8 * 9 * 3, dtype=np.int64).reshape(10, 8, 9, 3).astype(np.uint8)
    rows = np.array([[0, 1, 2], [7, 7, 9]])
    out = gather_windows(frames, rows, [(0, 0), (3, 4)], crop=5)
    assert out.shape == (2, 3, 5, 5, 3) and out.dtype == np.uint8
    assert np.array_equal(out[0], frames[[0, 1, 2], 0:5, 0:5])
    assert np.array_equal(out[1], frames[[7, 7, 9], 3:8, 4:9])
