"""Benchmark inputs: UCF101-like AVI files (320x240, 25 fps, MPEG-4/XviD) written once into a folder."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from clipcop.synth.video import render_video
from clipcop.videos.writer import write_video


def _write(task: tuple[Path, int, int, tuple[int, int]]) -> Path:
    path, seed, frames, size = task
    if not path.is_file():
        video, _ = render_video(
            "MoveHorizontal", np.random.default_rng(seed), frames=frames, height=size[0], width=size[1]
        )
        partial = path.with_name(path.name + ".part.avi")
        write_video(partial, video)
        partial.replace(path)
    return path


def ucf_like_videos(
    folder: Path, count: int, frames: int = 150, size: tuple[int, int] = (240, 320), *, workers: int = 1
) -> list[Path]:
    """``count`` synthetic videos at UCF101's size, reused when already written; ``workers`` processes render."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(folder / f"v{i:03d}_{size[0]}x{size[1]}_{frames}.avi", i, frames, size) for i in range(count)]
    if workers <= 1:
        return [_write(task) for task in tasks]
    with ProcessPoolExecutor(min(workers, os.cpu_count() or 1)) as pool:
        return list(pool.map(_write, tasks))


def linked_dataset(folder: Path, sources: list[Path], videos: int, classes: int) -> Path:
    """A ``folder``-layout dataset of ``videos`` files in ``classes`` class folders, hard links to ``sources``.

    Decoding and extraction do the same work per file as with distinct videos (a hard link is a full file
    to every reader), without rendering thousands of them; the files are read from the page cache.
    """
    for i in range(videos):
        target = folder / f"class{i % classes:03d}" / f"video{i:05d}.avi"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(sources[i % len(sources)], target)
            except OSError:  # another file system: a symbolic link reads the same
                target.symlink_to(sources[i % len(sources)].resolve())
    return folder
