"""A one-time cache of decoded, resized frames: raw uint8 arrays read back memory-mapped.

Decoding is the bottleneck of the published pipeline (issue "Speed and scale"). After ``clipcop data
cache`` every video's frames at the training size sit in one ``.npy`` file; a tuple is then a few slices
of a memory map, with no decoder in the loop. Cost: ``frames x H x W x 3`` bytes per video (a 180-frame
UCF101 video at 128x171 takes 11.8 MB, all of UCF101 ~160 GB; the built-in synthetic set at 40x52 takes
~0.5 MB a video). Entries are keyed by the file's path, size, modification time and the frame size, so a
changed video is never served stale.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import Indices, Size, read_frames


def cache_entry(root: Path, video: Path, size: Size) -> Path:
    """Where the frames of ``video`` at ``size`` are cached under ``root``."""
    stat = video.stat()
    key = f"{video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{size[0]}x{size[1]}"
    digest = hashlib.sha1(key.encode()).hexdigest()
    return root / f"{size[0]}x{size[1]}" / digest[:2] / f"{digest}.npy"


class CachedFrames:
    """A frame reader over the cache: ``reader(path, indices, size)`` like :func:`read_frames`.

    Videos missing from the cache are decoded normally (and not written: building is explicit).
    """

    def __init__(self, root: str | Path, *, backend: str = "auto") -> None:
        self.root = Path(root)
        self.backend = backend

    def __call__(self, path: Path, indices: Indices, size: Size) -> np.ndarray:
        entry = cache_entry(self.root, path, size)
        try:
            frames = np.load(entry, mmap_mode="r")
        except (OSError, ValueError):
            return read_frames(path, indices, size=size, backend=self.backend)
        idx = np.asarray(indices)
        if idx.max() >= len(frames):
            raise VideoDecodeError(path, f"frame {int(idx.max())} requested but the cache holds {len(frames)}")
        return np.ascontiguousarray(frames[idx])


def cache_video(root: Path, path: Path, num_frames: int, size: Size, backend: str = "auto") -> int:
    """Decode every frame of ``path`` at ``size`` into the cache (atomic); returns bytes written."""
    entry = cache_entry(root, path, size)
    if entry.is_file():
        return 0
    frames = read_frames(path, list(range(num_frames)), size=size, backend=backend)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, frames)
    os.replace(tmp, entry)
    return int(frames.nbytes)


FrameReader = Callable[[Path, Indices, Size], np.ndarray]
"""``(path, indices, size) -> (len(indices), H, W, 3) uint8``: the decoder, or a cache in front of it."""
