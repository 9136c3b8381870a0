"""Benchmark inputs: UCF101-like AVI files (320x240, 25 fps, MPEG-4/XviD) written once into a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clipcop.synth.video import render_video
from clipcop.videos.writer import write_video


def ucf_like_videos(folder: Path, count: int, frames: int = 150, size: tuple[int, int] = (240, 320)) -> list[Path]:
    """``count`` synthetic videos at UCF101's size, reused when already written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"v{i:03d}_{size[0]}x{size[1]}_{frames}.avi"
        if not path.is_file():
            video, _ = render_video(
                "MoveHorizontal", np.random.default_rng(i), frames=frames, height=size[0], width=size[1]
            )
            write_video(path, video)
        paths.append(path)
    return paths
