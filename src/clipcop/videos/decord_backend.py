"""decord backend: builds a packet index once per call and fetches only the requested frames.

One ``VideoReader`` per call with ``num_threads=1`` (decoders are never shared between processes, and
DataLoader workers provide the parallelism); all indices go to one sorted ``get_batch``; resizing
happens inside FFmpeg at decode time.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path

import decord
import numpy as np

from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import Size, VideoInfo

with contextlib.suppress(AttributeError):  # decord forwards FFmpeg's log; clipcop reports bad files itself
    decord.logging.set_level(decord.logging.QUIET)


def _open(path: Path, size: Size | None) -> decord.VideoReader:
    height, width = size if size is not None else (-1, -1)
    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height, num_threads=1)
    except Exception as err:  # decord raises DECORDError / RuntimeError with FFmpeg text
        raise VideoDecodeError(path, _short(err)) from None


_BROKEN_SIZES: set[tuple[int, int]] = set()
"""Target sizes for which decord's decode-time resize failed in this process (PyAV takes over)."""


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


class DecordBackend:
    """Reads frames with decord (the fast default)."""

    name = "decord"

    def probe(self, path: Path) -> VideoInfo:
        reader = _open(path, None)
        count = len(reader)
        if count <= 0:
            raise VideoDecodeError(path, "no video frames")
        try:
            first = reader.get_batch([0]).asnumpy()
            reader.get_batch([count - 1])
        except Exception as err:
            raise VideoDecodeError(path, f"frame index lies about its frames ({_short(err)})") from None
        fps = float(reader.get_avg_fps() or 0.0)
        return VideoInfo(num_frames=count, fps=fps, height=int(first.shape[1]), width=int(first.shape[2]))

    def supports(self, size: Size | None) -> bool:
        """False for target sizes decord (0.6 and decord2 alike) failed to resize to in this process ("size must
        exactly match"): PyAV decodes those."""
        return size not in _BROKEN_SIZES

    def read(self, path: Path, indices: Sequence[int], size: Size | None) -> np.ndarray:
        reader = _open(path, size)
        count = len(reader)
        if indices[-1] >= count:
            raise VideoDecodeError(path, f"frame {indices[-1]} requested but the video has {count}")
        try:
            frames: np.ndarray = reader.get_batch(list(indices)).asnumpy()
        except Exception as err:
            if size is not None and "size must exactly match" in str(err):
                _BROKEN_SIZES.add(size)
                warnings.warn(
                    f"decord cannot resize to {size[0]}x{size[1]}; PyAV decodes at that size instead (slower). "
                    "A slightly different --resize avoids this.",
                    stacklevel=2,
                )
            raise VideoDecodeError(path, _short(err)) from None
        return frames


BACKEND = DecordBackend()
