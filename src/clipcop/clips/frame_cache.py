"""A one-time cache of decoded, resized frames: raw uint8 arrays read back memory-mapped.

Decoding is the bottleneck of the published pipeline (issue "Speed and scale"). After ``clipcop data
cache`` every video's frames at the training size sit in one ``.npy`` file; a tuple is then a few slices
of a memory map, with no decoder in the loop. Cost: ``frames x H x W x 3`` bytes per video (a 180-frame
UCF101 video at 128x171 takes 11.8 MB, all of UCF101 ~160 GB; the built-in synthetic set at 40x52 takes
~0.5 MB a video). Entries are keyed by the file's path, size, modification time and the frame size, so a
changed video is never served stale.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import cast

import numpy as np

from clipcop.engine.atomic import guarded_write
from clipcop.engine.lock import locked
from clipcop.errors import InUseError, VideoDecodeError
from clipcop.videos.decoder import Size, read_frames


def _resolved(video: Path) -> str:
    """``video``'s absolute, symlink-free path; an absolute one is resolved once per process (resolving
    took 30 of a lookup's 59 us on our CPU), a relative one each time (the working folder may change)."""
    return _resolved_absolute(video) if video.is_absolute() else str(video.resolve())


@functools.lru_cache(maxsize=1 << 16)
def _resolved_absolute(video: Path) -> str:
    return str(video.resolve())


def video_key(video: Path, size: Size) -> str:
    """The key of ``video``'s frames at ``size`` in a frame store: a digest of the file's path, size,
    modification time and the frame size (raises OSError when the video is gone)."""
    stat = video.stat()  # every lookup: a changed video is never served stale
    key = f"{_resolved(video)}|{stat.st_size}|{stat.st_mtime_ns}|{size[0]}x{size[1]}"
    return hashlib.sha1(key.encode()).hexdigest()


def cache_entry(root: Path, video: Path, size: Size) -> Path:
    """Where the frames of ``video`` at ``size`` are cached under ``root``."""
    digest = video_key(video, size)
    return root / f"{size[0]}x{size[1]}" / digest[:2] / f"{digest}.npy"


class CachedFrames:
    """The frame cache as a frame source: :meth:`open` gives a video's frames as a read-only memory map.

    Videos missing from the cache give None (the dataset then decodes them; building is explicit). The
    last few maps stay open per process, so a tuple costs a few window copies and no file system call
    beyond the ``stat`` that keys the entry.
    """

    def __init__(self, root: str | Path, *, keep_open: int = 64) -> None:
        self.root = Path(root)
        self.keep_open = keep_open
        self._open: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # loader threads share the open maps
        self._pid = os.getpid()

    def contains(self, path: Path, size: Size) -> bool:
        """Whether the cache holds ``path`` at ``size``."""
        try:
            return cache_entry(self.root, path, size).is_file()
        except OSError:
            return False

    def open(self, path: Path, size: Size) -> np.ndarray | None:
        """``(frames, H, W, 3)`` uint8 memory map of ``path`` at ``size``, or None when not cached."""
        try:
            entry = cache_entry(self.root, path, size)
        except OSError:  # the video itself is gone: let the decoder report it
            return None
        if self._pid != os.getpid():  # a forked worker: its own maps, and a lock no thread can hold
            self._open, self._lock, self._pid = OrderedDict(), threading.Lock(), os.getpid()
        with self._lock:
            frames = self._open.get(entry)
            if frames is not None:
                self._open.move_to_end(entry)
                return frames
        try:
            frames = cast(np.ndarray, np.load(entry, mmap_mode="r"))
        except (OSError, ValueError):
            return None
        if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[1:3] != tuple(size):
            raise VideoDecodeError(path, f"frame cache entry {entry} holds {frames.dtype} {frames.shape}")
        with self._lock:
            self._open[entry] = frames
            if len(self._open) > self.keep_open:
                self._open.popitem(last=False)
        return frames

    def __getstate__(self) -> dict[str, object]:
        # Memory maps are per process: a DataLoader worker started by pickling opens its own.
        state = dict(self.__dict__)
        state["_open"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._pid = os.getpid()


def cache_video(root: Path, path: Path, num_frames: int, size: Size, backend: str = "auto") -> int:
    """Decode every frame of ``path`` at ``size`` into the cache (atomic); returns bytes written."""
    entry = cache_entry(root, path, size)
    if entry.is_file():
        return 0
    try:
        with locked(entry, folder=False, what=f"frame cache entry {entry}"):
            return 0 if entry.is_file() else _write_entry(entry, path, num_frames, size, backend)
    except InUseError:  # another process is writing this very entry: it will be there
        return 0


def _write_entry(entry: Path, path: Path, num_frames: int, size: Size, backend: str) -> int:
    frames = read_frames(path, list(range(num_frames)), size=size, backend=backend)
    with guarded_write(entry):  # a full disk: one line naming the entry and the space left
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=entry.parent, prefix=f".{entry.name}.", suffix=".tmp")
        tmp = Path(name)
        try:
            with open(fd, "wb") as handle:
                np.save(handle, frames)
            os.replace(tmp, entry)
        finally:
            tmp.unlink(missing_ok=True)  # an error (a full disk) leaves no temp file; a kill may, never an entry
    return int(frames.nbytes)
