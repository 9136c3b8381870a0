"""``clipcop data cache``: decode every video once at the training size into the frame cache.

Two formats: ``raw`` (:mod:`clipcop.clips.frame_cache`, uint8 arrays read memory-mapped: fastest, most
disk) and ``jpeg`` (:mod:`clipcop.clips.jpeg_store`, about a tenth of the bytes, decoded per tuple). Later
runs with the same ``--resize`` read frames from the cache folder (``--frame-cache auto``, the default)
instead of decoding the videos, whichever format it holds (raw entries first, then the JPEG store).
Under ``torchrun`` every rank writes its share and rank 0 the JPEG store's index.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from clipcop.clips.frame_cache import CachedFrames, cache_entry, cache_video, video_key
from clipcop.clips.jpeg_store import JpegStore, check_decode_on, holds_jpeg_store
from clipcop.clips.sources import DecodedVideos, FrameSource, JpegFrames, StoredFrames
from clipcop.config import CACHE_FORMATS, check_backend, helper_processes
from clipcop.engine.distributed import (
    broadcast_object,
    gather_objects,
    init_distributed,
    is_main,
    main_process_first,
    rank,
    world_size,
)
from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError, UsageError, VideoDecodeError
from clipcop.paths import cache_dir, human_size, is_writable_dir, why_not
from clipcop.processes.children import spawned_map
from clipcop.results import CacheRecord
from clipcop.videos.decoder import Size
from clipcop.workflows.data import prepare_videos
from clipcop.workflows.jpeg_cache import cache_jpeg

if TYPE_CHECKING:
    from clipcop.clips.datasets import VideoRef


"""``clipcop data cache --format``: raw uint8 arrays, or the JPEG store."""


def default_frame_cache() -> Path:
    """The frame cache folder used unless one is named."""
    return cache_dir() / "frames"


def frame_source(frame_cache: str | None = "auto", backend: str = "auto", decode_on: str = "cpu") -> FrameSource:
    """The frame source for ``--frame-cache``, ``--backend`` and ``--decode-on``: frames stored by
    ``clipcop data cache`` (``auto``: the default folder; or a folder), raw entries first, then the JPEG
    store (decoded on ``decode_on``) when the folder holds one, in front of the decoder; or the decoder
    alone (``off``)."""
    decoded = DecodedVideos(backend)
    check_decode_on(decode_on)
    if frame_cache is None or frame_cache == "off":
        return decoded
    root = default_frame_cache() if frame_cache == "auto" else Path(frame_cache)
    if frame_cache != "auto" and not root.is_dir():
        raise UsageError(f"frame cache {root} {why_not(root, 'folder')} (build it with clipcop data cache)")
    behind: FrameSource = decoded
    if holds_jpeg_store(root):
        behind = JpegFrames(JpegStore(root, decode_on=decode_on), decoded)
    return StoredFrames(CachedFrames(root), behind)


@dataclass(frozen=True)
class CacheReport:
    """What ``data cache`` did: videos seen, written, bytes written, videos that failed to decode, the
    format, the bytes the cache holds for the dataset's videos and the seconds it took."""

    root: Path
    videos: int
    written: int
    bytes_written: int
    failed: tuple[str, ...] = ()
    format: str = "raw"
    stored_bytes: int = 0
    seconds: float = 0.0

    def record(self) -> CacheRecord:
        """What ``clipcop data cache`` prints (:mod:`clipcop.results`)."""
        held = self.videos - len(self.failed)
        return CacheRecord(
            cache_dir=str(self.root),
            format=self.format,
            videos=self.videos,
            written=self.written,
            mib_written=round(self.bytes_written / 2**20, 1),
            mib_total=round(self.stored_bytes / 2**20, 1),
            mib_per_video=round(self.stored_bytes / 2**20 / held, 3) if held > 0 else 0.0,
            seconds=round(self.seconds, 1),
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


def _cache_raw(
    root: Path, unique: dict[Path, VideoRef], resize: Size, workers: int, backend: str, reporter: Reporter
) -> tuple[int, int, list[str]]:
    """Write the raw entries of ``unique`` (this rank's share under torchrun) the cache lacks; returns the
    videos and bytes written and the videos that failed to decode."""
    listed = [v for entry, v in unique.items() if not entry.is_file()] if is_main() else None
    missing = cast("list[VideoRef]", broadcast_object(listed))  # torchrun: one list, made before any rank writes
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
    tasks = [(str(root), str(v.path), v.num_frames, resize, backend) for v in missing[rank() :: world_size()]]
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
    shares = cast(list[tuple[int, int, list[str]]], gather_objects((written, total, failed)))  # torchrun: all ranks
    return sum(s[0] for s in shares), sum(s[1] for s in shares), [path for s in shares for path in s[2]]


def _raw_bytes(unique: dict[Path, VideoRef]) -> int:
    """Bytes the raw cache holds for these entries."""
    return sum(entry.stat().st_size for entry in unique if entry.is_file())


def cache_frames(
    data: str | Path | None,
    *,
    resize: Size,
    split: int = 1,
    dataset: str | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    backend: str = "auto",
    format: str = "raw",
    quality: int = 90,
    shard_frames: int = 20_000,
    reporter: Reporter | None = None,
) -> CacheReport:
    """Decode every readable video of ``data`` at ``resize`` into the frame cache, as raw arrays or JPEG.

    Raw: the space the missing entries need (``frames x H x W x 3`` bytes each) is checked against the free
    space first; a cache that cannot fit stops before writing anything. JPEG (``quality`` 1-100): shards of
    about ``shard_frames`` frames and an index (:mod:`clipcop.clips.jpeg_store`). Videos that fail to decode
    are skipped, counted and named; training decodes them (or substitutes) as without a cache. Under
    ``torchrun`` the ranks share the work. ``workers`` helper processes decode and encode (every core when
    None).
    """
    started = time.perf_counter()
    _check_format(format, quality, shard_frames)
    check_backend(backend)  # before the cache folder is made or any video probed
    workers = helper_processes(workers)
    reporter = reporter or Reporter()
    root = Path(out) if out else default_frame_cache()
    _check_writable(root, named=out is not None)
    import torch

    init_distributed(torch.device("cpu"))
    with main_process_first():  # one process probes and writes the manifest; the others read it
        prepared = prepare_videos(
            data, split=split, dataset=dataset, workers=workers, backend=backend, reporter=reporter
        )
    videos = prepared.train + prepared.test
    unique: dict[Path, VideoRef] = {}
    for video in videos:  # two paths to one file (a link) share one entry
        unique.setdefault(cache_entry(root, video.path, resize), video)
    if len(unique) < len(videos):
        reporter.note(f"{len(videos) - len(unique)} videos are links to another listed video: cached once")
    if format == "jpeg":
        keyed = {video_key(v.path, resize): v for v in unique.values()}
        outcome = cache_jpeg(
            root,
            keyed,
            resize=resize,
            quality=quality,
            shard_frames=shard_frames,
            workers=workers,
            backend=backend,
            reporter=reporter,
        )
        written, total, failed, stored = (
            outcome.written,
            outcome.bytes_written,
            list(outcome.failed),
            outcome.store_bytes,
        )
    else:
        written, total, failed = _cache_raw(root, unique, resize, workers, backend, reporter)
        stored = _raw_bytes(unique)
    if failed:
        reporter.warn(f"{len(failed)} of {len(unique)} videos could not be cached (named above); runs decode them")
    seconds = time.perf_counter() - started
    reporter.info(
        f"frame cache {root} ({format}): {written} videos written ({total / 2**20:.1f} MiB) in {seconds:.1f}s; "
        f"it holds {stored / 2**20:.1f} MiB for the {len(unique) - len(failed)} cached videos of this dataset"
    )
    return CacheReport(root, len(videos), written, total, tuple(failed), format, stored, seconds)


def _check_format(format: str, quality: int, shard_frames: int) -> None:
    """Refuse a ``--format``, ``--quality`` or ``--shard-frames`` that cannot work."""
    if format not in CACHE_FORMATS:
        raise UsageError(f"--format must be raw or jpeg, not {format!r}")
    if not 1 <= quality <= 100:
        raise UsageError(f"--quality must be 1 to 100, not {quality}")
    if shard_frames < 1:
        raise UsageError(f"--shard-frames must be at least 1, not {shard_frames}")
