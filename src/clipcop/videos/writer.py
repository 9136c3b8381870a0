"""Writing real video files with PyAV: AVI/XviD (MPEG-4 Part 2, as UCF101 ships) or MP4/H.264."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from clipcop.engine.atomic import guarded_write
from clipcop.errors import UsageError

CODECS = {".avi": ("mpeg4", "XVID"), ".mp4": ("libx264", None), ".mkv": ("libx264", None)}


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: float = 25.0,
    quality: int = 2,
) -> Path:
    """Encode RGB uint8 frames ``(H, W, 3)`` to ``path`` (codec from the suffix); written atomically.

    ``quality`` is the MPEG-4 quantiser (1 best .. 31 worst) or, for H.264, a CRF of ``quality * 4``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CODECS:
        raise UsageError(f"cannot write {path.name}: use one of {', '.join(CODECS)}")
    codec, tag = CODECS[suffix]
    options = {"qmin": str(quality), "qmax": str(quality)} if tag else {"crf": str(quality * 4), "preset": "veryfast"}
    tmp = path.with_name(f".{path.name}.tmp{suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    with guarded_write(path):  # a full disk: one line naming the video and the space left, the temp gone
        try:
            with av.open(str(tmp), mode="w") as container:
                stream: av.VideoStream | None = None
                for frame in frames:
                    if stream is None:
                        height, width = frame.shape[:2]
                        if height % 2 or width % 2:
                            raise UsageError(f"frame size {height}x{width} must be even for yuv420p video")
                        stream = cast(av.VideoStream, container.add_stream(codec, rate=rate, options=options))
                        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                        if tag is not None:
                            stream.codec_tag = tag
                    video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                    for packet in stream.encode(video_frame):
                        container.mux(packet)
                if stream is None:
                    raise UsageError(f"no frames to write to {path}")
                for packet in stream.encode():
                    container.mux(packet)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # a failed encode leaves no temporary file
    return path
