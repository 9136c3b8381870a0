"""``clipcop data cache --format jpeg``: encode every frame of every video into the JPEG store.

The store's format is :mod:`clipcop.clips.jpeg_store`; the writing rules :mod:`clipcop.clips.jpeg_writer`.
Shards are planned from the videos the store lacks, in key order, so every process plans the same shards:
helper processes split the shards between them, and under ``torchrun`` each rank writes every
``world``-th shard (over nodes too, when the folder is on a shared file system); rank 0 then rebuilds the
index from every whole shard, under the index lock. A second run writes only what the first did not finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from clipcop.clips.datasets import VideoRef
from clipcop.clips.jpeg_store import load_index, store_folder
from clipcop.clips.jpeg_writer import (
    ShardResult,
    ShardVideo,
    check_quality,
    plan_shards,
    rebuild_index,
    scan_shards,
    write_shard,
)
from clipcop.engine.distributed import barrier, broadcast_object, gather_objects, is_main, rank, world_size
from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError
from clipcop.processes.children import spawned_map
from clipcop.videos.decoder import Size


@dataclass(frozen=True)
class JpegOutcome:
    """What writing the JPEG store did: videos and bytes written, failed videos, and the bytes the store
    holds for the dataset's videos."""

    written: int
    bytes_written: int
    failed: tuple[str, ...]
    store_bytes: int


def _write(task: tuple[str, list[ShardVideo], Size, int, str]) -> ShardResult:
    folder, videos, size, quality, backend = task
    try:
        return write_shard(Path(folder), videos, size, quality, backend)
    except OSError as err:  # a full disk, a lost mount: the shard's temporary file is gone, the store whole
        raise DataError(f"cannot write a JPEG store shard in {folder}: {err.strerror or err}") from None


def _write_shards(
    tasks: Sequence[tuple[str, list[ShardVideo], Size, int, str]], workers: int, reporter: Reporter
) -> list[ShardResult]:
    """Write this process's shards, over ``workers`` helper processes when there are several."""
    done: list[ShardResult] = []
    with reporter.progress(sum(len(t[1]) for t in tasks), "encoding JPEG frames", "videos") as bar:
        results: Iterable[ShardResult] = map(_write, tasks)
        if workers > 1 and len(tasks) > 1:
            results = spawned_map(_write, tasks, workers=min(workers, len(tasks)), what="writing the JPEG store")
        for task, result in zip(tasks, results, strict=True):
            for path, reason in result.failed:
                reporter.warn(f"skipped {path}: {reason}")
            done.append(result)
            bar.advance(len(task[1]))
    return done


def _stored_bytes(store: Path, keys: Iterable[str]) -> int:
    """Bytes the store at ``store`` holds for the videos ``keys``."""
    index = load_index(store)
    if index is None:
        return 0
    total = 0
    for key in keys:
        entry = index.videos.get(key)
        if entry is not None:
            total += int(index.table["length"][entry[1] : entry[1] + entry[2]].sum())
    return total


Plan = tuple[list[list[ShardVideo]], dict[str, str]]
"""The shards to write, and the videos (key: path) an earlier run found undecodable."""


def _plan(shards: Path, videos: dict[str, VideoRef], quality: int, shard_frames: int, reporter: Reporter) -> Plan:
    """Scan the store (naming and deleting torn shards) and plan the shards of the videos it lacks."""
    scan = scan_shards(shards)
    for torn in scan.torn:
        reporter.warn(f"JPEG store shard {torn} was torn (a write that did not finish): deleted, rewritten now")
    check_quality(scan.shards, quality, shards.parent)
    held = {key for table in scan.shards.values() for key, _, _ in table.videos}
    failed_before = {key: path for table in scan.shards.values() for key, path, _ in table.failed if key in videos}
    if failed_before:
        reporter.warn(f"{len(failed_before)} videos failed to decode in an earlier run and are left out again")
    held |= failed_before.keys()
    missing = [ShardVideo(key, str(v.path), v.num_frames) for key, v in videos.items() if key not in held]
    plan = plan_shards(missing, shard_frames)
    reporter.info(
        f"JPEG store {shards.parent}: {len(missing)} of {len(videos)} videos to write at quality {quality} "
        f"in {len(plan)} shards"
        + (f", every {world_size()}th by each of {world_size()} processes" if world_size() > 1 else "")
    )
    return plan, failed_before


def cache_jpeg(
    root: Path,
    videos: dict[str, VideoRef],
    *,
    resize: Size,
    quality: int,
    shard_frames: int,
    workers: int,
    backend: str,
    reporter: Reporter,
) -> JpegOutcome:
    """Write the videos (by store key) the JPEG store under ``root`` lacks at ``resize``, then its index.

    Under torchrun rank 0 scans and plans, and every rank writes every ``world``-th shard of that plan.
    """
    store = store_folder(root, resize)
    shards = store / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    planned = _plan(shards, videos, quality, shard_frames, reporter) if is_main() else None
    plan, failed_before = cast(Plan, broadcast_object(planned))  # one plan, made before any rank writes
    tasks = [(str(shards), group, resize, quality, backend) for group in plan[rank() :: world_size()]]
    mine = _write_shards(tasks, workers, reporter)
    everyone = [r for part in cast(list[list[ShardResult]], gather_objects(mine)) for r in part]
    if is_main():
        rebuild_index(store, resize, quality)
    barrier()
    failed = sorted({path for result in everyone for path, _ in result.failed} | set(failed_before.values()))
    written = sum(r.videos for r in everyone)
    return JpegOutcome(written, sum(r.bytes for r in everyone), tuple(failed), _stored_bytes(store, videos))
