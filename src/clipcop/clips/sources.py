"""Where a dataset's frames come from, behind one interface: videos decoded on the fly, or frames stored once
by ``clipcop data cache`` (with decoding for the videos the store does not hold).

A source answers one question, "the frames ``rows`` of this video at this size", so datasets, extraction and
the workflows never need to know which decoder or store serves them; a new store is one more class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from clipcop.clips.frame_cache import CachedFrames
from clipcop.clips.jpeg_store import JpegStore
from clipcop.config import check_backend
from clipcop.errors import VideoDecodeError
from clipcop.videos.decoder import read_frames

Size = tuple[int, int]


@runtime_checkable
class FrameSource(Protocol):
    """Frames of a video at a size: ``read`` returns an array of frames ``(N, H, W, 3)`` uint8 and the
    ``rows`` re-indexed into it (a store returns the whole video and the rows unchanged; a decoder returns
    just the asked frames)."""

    def read(self, path: Path, rows: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray]: ...

    def holds(self, path: Path, size: Size) -> bool:
        """Whether ``path`` is served without decoding (loaders then use threads, not processes)."""
        ...


class DecodedVideos:
    """Decode the asked frames of each video with ``backend`` (``auto``: decord, then PyAV)."""

    def __init__(self, backend: str = "auto") -> None:
        check_backend(backend)  # here, not first in a loader's worker process
        self.backend = backend

    def read(self, path: Path, rows: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray]:
        frames = read_frames(path, rows.reshape(-1), size=size, backend=self.backend)
        return frames, np.arange(rows.size).reshape(rows.shape)

    def holds(self, path: Path, size: Size) -> bool:
        return False

    def __repr__(self) -> str:
        return f"DecodedVideos(backend={self.backend!r})"


class StoredFrames:
    """Frames stored once, uncompressed, by ``clipcop data cache`` (memory-mapped; only the windows a tuple
    needs are copied); videos the store does not hold come from ``fallback``."""

    def __init__(self, store: CachedFrames, fallback: FrameSource) -> None:
        self.store = store
        self.fallback = fallback

    def read(self, path: Path, rows: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray]:
        frames = self.store.open(path, size)
        if frames is None:
            return self.fallback.read(path, rows, size)
        if rows.max() >= len(frames):
            raise VideoDecodeError(path, f"frame {int(rows.max())} requested but the cache holds {len(frames)}")
        return frames, rows

    def holds(self, path: Path, size: Size) -> bool:
        return self.store.contains(path, size) or self.fallback.holds(path, size)

    def __repr__(self) -> str:
        return f"StoredFrames({self.store.root}, fallback={self.fallback!r})"


class JpegFrames:
    """Frames stored once as JPEG by ``clipcop data cache --format jpeg``: a tuple reads its frames' bytes
    with a few ``pread`` calls and decodes just those (:mod:`clipcop.clips.jpeg_store`); videos the store
    does not hold come from ``fallback``."""

    def __init__(self, store: JpegStore, fallback: FrameSource) -> None:
        self.store = store
        self.fallback = fallback

    def read(self, path: Path, rows: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray]:
        found = self.store.read(path, rows, size)
        return self.fallback.read(path, rows, size) if found is None else found

    def holds(self, path: Path, size: Size) -> bool:
        return self.store.contains(path, size) or self.fallback.holds(path, size)

    def __repr__(self) -> str:
        return f"JpegFrames({self.store.root}, decode_on={self.store.decode_on!r}, fallback={self.fallback!r})"


__all__ = ["DecodedVideos", "FrameSource", "JpegFrames", "StoredFrames"]
