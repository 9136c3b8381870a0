"""``clipcop data cache``: decode every video once at the training size into the frame cache.

See :mod:`clipcop.clips.frame_cache` for the format and its disk cost. Later runs with the same
``--resize`` read frames from the cache (``--frame-cache auto``, the default) instead of decoding.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clipcop.clips.frame_cache import CachedFrames, cache_entry, cache_video
from clipcop.clips.sources import DecodedVideos, FrameSource, StoredFrames
from clipcop.config import check_backend
from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError, UsageError, VideoDecodeError
from clipcop.paths import cache_dir, human_size, is_writable_dir, why_not
from clipcop.processes.children import spawned_map
from clipcop.results import CacheRecord
from clipcop.videos.decoder import Size
from clipcop.workflows.data import prepare_videos

if TYPE_CHECKING:
    from clipcop.clips.datasets import VideoRef


def default_frame_cache() -> Path:
    """The frame cache folder used unless one is named."""
    return cache_dir() / "frames"


def frame_source(frame_cache: str | None = "auto", backend: str = "auto") -> FrameSource:
    """The frame source for ``--frame-cache`` and ``--backend``: frames stored by ``clipcop data cache``
    (``auto``: the default folder; or a folder) in front of the decoder, or the decoder alone (``off``)."""
    decoded = DecodedVideos(backend)
    if frame_cache is None or frame_cache == "off":
        return decoded
    root = default_frame_cache() if frame_cache == "auto" else Path(frame_cache)
    if frame_cache != "auto" and not root.is_dir():
        raise UsageError(f"frame cache {root} {why_not(root, 'folder')} (build it with clipcop data cache)")
    return StoredFrames(CachedFrames(root), decoded)


@dataclass(frozen=True)
class CacheReport:
    """What ``data cache`` did: videos seen, written, bytes written, and videos that failed to decode."""

    root: Path
    videos: int
    written: int
    bytes_written: int
    failed: tuple[str, ...] = ()

    def record(self) -> CacheRecord:
        """What ``clipcop data cache`` prints (:mod:`clipcop.results`)."""
        return CacheRecord(
            cache_dir=str(self.root),
            videos=self.videos,
            written=self.written,
            mib_written=round(self.bytes_written / 2**20, 1),
            failed=len(self.failed),
            failed_videos=list(self.failed),
        )


def _cache_one(task: tuple[str, str, int, tuple[int, int], str]) -> tuple[int, str | None]:
    root, path, frames, size, backend = task
    try:
        return cache_video(Path(root), Path(path), frames, size, backend), None
    except VideoDecodeError as err:
        return 0, err.reason


def _free_bytes(root: Path) -> int:
    """Free space on the file system that holds (or will hold) ``root``."""
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def _check_writable(root: Path, named: bool) -> None:
    """Create ``root`` and make sure files can be written there, before any video is probed."""
    hint = "" if named else " (name another folder with --out)"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create the frame cache folder {root}: {err.strerror or err}{hint}") from None
    if not is_writable_dir(root):
        raise UsageError(f"cannot write the frame cache in {root}: permission denied{hint}")


def cache_frames(
    data: str | Path | None,
    *,
    resize: Size,
    split: int = 1,
    dataset: str | None = None,
    out: str | Path | None = None,
    workers: int = 2,
    backend: str = "auto",
    reporter: Reporter | None = None,
) -> CacheReport:
    """Decode every readable video of ``data`` at ``resize`` into the frame cache.

    The space the missing entries need (``frames x H x W x 3`` bytes each) is checked against the free
    space first: a cache that cannot fit stops before writing anything. Videos that fail to decode
    are skipped, counted and named; training decodes them (or substitutes) as without a cache.
    """
    check_backend(backend)  # before the cache folder is made or any video probed
    reporter = reporter or Reporter()
    root = Path(out) if out else default_frame_cache()
    _check_writable(root, named=out is not None)
    prepared = prepare_videos(data, split=split, dataset=dataset, workers=workers, backend=backend, reporter=reporter)
    videos = prepared.train + prepared.test
    unique: dict[Path, VideoRef] = {}
    for video in videos:  # two paths to one file (a link) share one entry
        unique.setdefault(cache_entry(root, video.path, resize), video)
    if len(unique) < len(videos):
        reporter.note(f"{len(videos) - len(unique)} videos are links to another listed video: cached once")
    missing = [v for entry, v in unique.items() if not entry.is_file()]
    needed = sum(v.num_frames * resize[0] * resize[1] * 3 + 128 for v in missing)
    free = _free_bytes(root)
    if needed > free:
        raise DataError(
            f"the frame cache needs {human_size(needed)} at {resize[0]}x{resize[1]} for {len(missing)} videos "
            f"but {root} has {human_size(free)} free: use --out on a larger disk or a smaller --resize"
        )
    reporter.info(
        f"frame cache {root}: {len(missing)} of {len(unique)} videos to write, {human_size(needed)} "
        f"({human_size(free)} free)"
    )
    tasks = [(str(root), str(v.path), v.num_frames, resize, backend) for v in missing]
    written = total = 0
    failed: list[str] = []
    with reporter.progress(len(tasks), f"caching frames at {resize[0]}x{resize[1]}", "videos") as bar:
        results: Iterable[tuple[int, str | None]] = map(_cache_one, tasks)
        if workers > 1 and len(tasks) > 1:
            results = spawned_map(_cache_one, tasks, workers=min(workers, len(tasks)), what="caching frames")
        for task, (nbytes, error) in zip(tasks, results, strict=True):
            if error is not None:
                failed.append(task[1])
                reporter.warn(f"skipped {task[1]}: {error}")
            written, total = written + (nbytes > 0), total + nbytes
            bar.advance(1)
    if failed:
        reporter.warn(f"{len(failed)} of {len(tasks)} videos could not be cached (named above); runs decode them")
    reporter.info(
        f"frame cache {root}: {written} videos written ({total / 2**20:.1f} MiB), "
        f"{len(unique) - len(missing)} already there"
    )
    return CacheReport(root, len(videos), written, total, tuple(failed))
