"""``clipcop data cache``: decode every video once at the training size into the frame cache.

See :mod:`clipcop.clips.frame_cache` for the format and its disk cost. Later runs with the same
``--resize`` read frames from the cache (``--frame-cache auto``, the default) instead of decoding.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

from clipcop.clips.frame_cache import CachedFrames, cache_video
from clipcop.engine.reporting import Reporter
from clipcop.errors import UsageError
from clipcop.paths import cache_dir
from clipcop.videos.decoder import Size
from clipcop.workflows.data import prepare_videos


def default_frame_cache() -> Path:
    """The frame cache folder used unless one is named."""
    return cache_dir() / "frames"


def frame_reader(option: str | None, backend: str = "auto") -> CachedFrames | None:
    """The reader for ``--frame-cache``: ``auto`` (default folder), ``off``/None, or a folder."""
    if option is None or option == "off":
        return None
    root = default_frame_cache() if option == "auto" else Path(option)
    if option != "auto" and not root.is_dir():
        raise UsageError(f"frame cache {root} does not exist (build it with clipcop data cache)")
    return CachedFrames(root, backend=backend)


@dataclass(frozen=True)
class CacheReport:
    """What ``data cache`` did."""

    root: Path
    videos: int
    written: int
    bytes_written: int


def _cache_one(task: tuple[str, str, int, tuple[int, int], str]) -> int:
    root, path, frames, size, backend = task
    return cache_video(Path(root), Path(path), frames, size, backend)


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
    """Decode every readable video of ``data`` at ``resize`` into the frame cache."""
    reporter = reporter or Reporter()
    root = Path(out) if out else default_frame_cache()
    prepared = prepare_videos(data, split=split, dataset=dataset, workers=workers, backend=backend, reporter=reporter)
    videos = prepared.train + prepared.test
    tasks = [(str(root), str(v.path), v.num_frames, resize, backend) for v in videos]
    written = total = 0
    with reporter.progress(len(tasks), f"caching frames at {resize[0]}x{resize[1]}", "videos") as bar:
        if workers > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for nbytes in pool.imap_unordered(_cache_one, tasks, chunksize=8):
                    written, total = written + (nbytes > 0), total + nbytes
                    bar.advance(1)
        else:
            for task in tasks:
                nbytes = _cache_one(task)
                written, total = written + (nbytes > 0), total + nbytes
                bar.advance(1)
    reporter.info(
        f"frame cache {root}: {written} videos written ({total / 2**20:.1f} MiB), {len(tasks) - written} already there"
    )
    return CacheReport(root, len(tasks), written, total)
