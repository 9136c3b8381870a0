"""Pixel normalisation on the training device: uint8 clips in, the floats the backbones take out.

Two scalings (``--pixels``, :class:`clipcop.config.ModelChoices`): ``standardised`` centres and scales
each channel by the usual video statistics (clipcop's default); ``unit`` only divides by 255, frames in
[0, 1], as the authors' code feeds its models (torchvision's ``ToTensor`` and nothing after it,
train_vcop.py lines 189-193).

Part of the device runtime (:meth:`clipcop.engine.device.Runtime.clips`): clips cross to the device as
uint8 in the decoder's channels-last layout and are converted, transposed and normalised there in one pass.
"""

from __future__ import annotations

import functools

import torch

from clipcop.config import PIXEL_SCALINGS
from clipcop.errors import UsageError

MEAN = (0.43216, 0.394666, 0.37645)
"""Per-channel mean of RGB in [0, 1] used to centre inputs: torchvision's Kinetics-400 statistics, the usual
video-model ones, and what its ``r3d_18``/``mc3_18``/``r2plus1d_18`` weights expect (with :data:`STD`)."""
STD = (0.22803, 0.22145, 0.216989)


def normalize(
    clips: torch.Tensor,
    dtype: torch.dtype = torch.float32,
    *,
    channels_last: bool = False,
    pixels: str = "standardised",
) -> torch.Tensor:
    """uint8 clips ``(..., T, H, W, 3)`` -> float ``(..., 3, T, H, W)``, scaled by ``pixels``: ``standardised``
    is ``(x / 255 - MEAN) / STD`` per channel (torchvision's Kinetics statistics), ``unit`` is ``x / 255``. A
    model's card says which it was trained with (``clipcop info``).

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
    if pixels == "unit":
        return out.div_(255.0)
    if pixels != "standardised":
        raise UsageError(f"--pixels must be one of {', '.join(PIXEL_SCALINGS)}, not {pixels!r}")
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
