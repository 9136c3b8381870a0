"""PyAV backend: decodes forward from the first frame, keeping the requested ones.

Slower than decord for late frames but exact and robust; used when decord is missing or fails on a file.
Frames are counted by decoding, so a header that lies about its length does not matter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np

from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import Size, VideoInfo

av.logging.set_level(None)


def _frames(path: Path) -> Iterator[av.VideoFrame]:
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            yield from container.decode(stream)
    except VideoDecodeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
        raise VideoDecodeError(path, str(err).splitlines()[0][:200] if str(err) else type(err).__name__) from None


def _frame_rate(path: Path) -> float:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            return float(rate) if rate else 0.0
    except (av.error.FFmpegError, IndexError):
        return 0.0


def _to_rgb(frame: av.VideoFrame, size: Size | None) -> np.ndarray:
    if size is None:
        return frame.to_ndarray(format="rgb24")
    height, width = size
    return frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="BILINEAR")


class PyAVBackend:
    """Reads frames with PyAV (FFmpeg inside its wheels)."""

    name = "pyav"

    def probe(self, path: Path) -> VideoInfo:
        count, height, width = 0, 0, 0
        for frame in _frames(path):
            if count == 0:
                height, width = frame.height, frame.width
            count += 1
        if count == 0:
            raise VideoDecodeError(path, "no decodable video frames")
        return VideoInfo(num_frames=count, fps=_frame_rate(path), height=height, width=width)

    def read(self, path: Path, indices: Sequence[int], size: Size | None) -> np.ndarray:
        wanted = {int(i): k for k, i in enumerate(indices)}
        last = max(wanted)
        out: list[np.ndarray | None] = [None] * len(indices)
        count = 0
        for count, frame in enumerate(_frames(path)):
            slot = wanted.get(count)
            if slot is not None:
                out[slot] = _to_rgb(frame, size)
            if count >= last:
                break
        missing = [i for i, k in wanted.items() if out[k] is None]
        if missing:
            raise VideoDecodeError(path, f"frame {min(missing)} requested but only {count + 1} decoded")
        return np.stack([f for f in out if f is not None])


BACKEND = PyAVBackend()
