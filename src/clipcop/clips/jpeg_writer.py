"""Writing the JPEG frame store (:mod:`clipcop.clips.jpeg_store`): shards, their tables, and the index.

Safe to run from several processes at once (parallel helpers, ``torchrun`` ranks, or two users' commands):
a shard is named by a digest of the videos it holds, written under an exclusive lock on ``NAME.lock`` to a
temporary file renamed into place, and its table is written after it; the index is rebuilt under a lock of
its own from a scan, made under that lock, that waits for shards being written, and replaced in one rename,
so the last writer's index lists every whole shard. A process killed mid-write leaves a temporary file or a
shard without a table, which the next scan names as torn and deletes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.clips.jpeg_store import ROW, SHARD_FORMAT, STORE_FORMAT, VERSION, file_crc
from clipcop.engine.atomic import atomic_path
from clipcop.errors import MalformedDataError, UsageError, VideoDecodeError
from clipcop.validation import read_json
from clipcop.videos.decoder import Size, read_frames

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; writes still land by atomic renames
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class ShardVideo:
    """A video planned into a shard: its store key, path and frame count."""

    key: str
    path: str
    num_frames: int


@dataclass(frozen=True)
class ShardTable:
    """A complete shard: its name, byte size, quality, per video ``(key, lengths, crcs)``, and the planned
    videos that failed to decode as ``(key, path, reason)`` (not tried again while the file is unchanged)."""

    name: str
    bytes: int
    quality: int
    videos: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    failed: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ShardResult:
    """What writing one shard did: bytes and videos written (0 when it was complete already) and the
    videos that failed to decode, as ``(path, reason)``."""

    name: str
    bytes: int = 0
    videos: int = 0
    failed: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class Scan:
    """The complete shards of a store folder, and the torn ones found (and deleted) by the scan."""

    shards: dict[str, ShardTable]
    torn: tuple[str, ...]


def shard_name(keys: Sequence[str], quality: int) -> str:
    """A shard's name: a digest of its videos' keys and the quality (the same plan, the same names)."""
    digest = hashlib.sha1(f"q{quality}|{'|'.join(keys)}".encode()).hexdigest()
    return digest[:20]


def plan_shards(videos: Sequence[ShardVideo], shard_frames: int) -> list[list[ShardVideo]]:
    """Group ``videos`` (in key order, so every process plans the same shards) into shards of about
    ``shard_frames`` frames each (a video is never split)."""
    shards: list[list[ShardVideo]] = []
    current: list[ShardVideo] = []
    frames = 0
    for video in sorted(videos, key=lambda v: v.key):
        current.append(video)
        frames += video.num_frames
        if frames >= shard_frames:
            shards.append(current)
            current, frames = [], 0
    if current:
        shards.append(current)
    return shards


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed); yields False when ``wait`` is off
    and another process holds it. On a file system (or a system) without locks it goes on unlocked: every file still
    lands by an atomic rename and only whole shards with a whole table are indexed, so a race costs
    repeated work, never a corrupt store."""
    if fcntl is None:
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        except OSError:  # ENOLCK, EOPNOTSUPP: no locks here
            pass
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def read_table(folder: Path, name: str) -> ShardTable | None:
    """The table of shard ``name`` when it and its shard are whole, else None."""
    try:
        meta = read_json(folder / f"{name}.json", "JPEG shard table", error=MalformedDataError)
        size = (folder / f"{name}.jpegs").stat().st_size
    except (OSError, MalformedDataError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != SHARD_FORMAT or meta.get("version") != VERSION:
        return None
    try:  # a table of the wrong shape is a torn shard too: rewritten, never read
        videos = tuple((str(k), tuple(map(int, lengths)), tuple(map(int, crcs))) for k, lengths, crcs in meta["videos"])
        if size != meta["bytes"] or size != sum(sum(lengths) for _, lengths, _ in videos):
            return None
        failed = tuple((str(key), str(path), str(reason)) for key, path, reason in meta.get("failed", []))
        return ShardTable(name, int(meta["bytes"]), int(meta["quality"]), videos, failed)
    except (KeyError, TypeError, ValueError):
        return None


def scan_shards(folder: Path, *, wait: bool = False) -> Scan:
    """The complete shards in ``folder``; shards without a whole table or of the wrong length (a write
    killed midway, a truncated copy) are deleted and named as torn, and temporary files of killed writes
    deleted. Shards another process is writing right now are left alone (and not counted), or with
    ``wait`` waited for and counted (a scan for the index must not miss them)."""
    complete: dict[str, ShardTable] = {}
    torn: list[str] = []
    names = sorted({p.name.split(".")[0] for p in folder.glob("*.jpegs")} | {p.stem for p in folder.glob("*.json")})
    for name in names:
        with locked(folder / f"{name}.lock", wait=wait) as mine:
            if not mine:
                continue
            table = read_table(folder, name)
            if table is not None:
                complete[name] = table
                continue
            torn.append(str(folder / f"{name}.jpegs"))
            (folder / f"{name}.json").unlink(missing_ok=True)
            (folder / f"{name}.jpegs").unlink(missing_ok=True)
    for stale in folder.glob(".*.tmp"):  # what a killed write left: deleted unless its writer still holds the lock
        with locked(folder / f"{stale.name[1:].split('.')[0]}.lock", wait=False) as mine:
            if mine:
                stale.unlink(missing_ok=True)
    return Scan(complete, tuple(torn))


def encode_video(path: str, num_frames: int, size: Size, quality: int, backend: str) -> list[bytes]:
    """Every frame of ``path`` at ``size`` as JPEG bytes (torchvision's libjpeg-turbo encoder)."""
    import torch
    from torchvision.io import encode_jpeg

    frames = read_frames(path, list(range(num_frames)), size=size, backend=backend)
    images = [image.contiguous() for image in torch.from_numpy(frames).permute(0, 3, 1, 2)]
    return [bytes(blob.numpy()) for blob in encode_jpeg(images, quality=quality)]


def write_shard(
    folder: Path, videos: Sequence[ShardVideo], size: Size, quality: int, backend: str = "auto"
) -> ShardResult:
    """Encode ``videos`` into one shard of ``folder`` (a shard another process finished is skipped)."""
    name = shard_name([v.key for v in videos], quality)
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f"{name}.lock"):
        done = read_table(folder, name)
        if done is not None:
            return ShardResult(name, failed=tuple((path, reason) for _, path, reason in done.failed))
        held: list[tuple[str, list[int], list[int]]] = []
        failed: list[tuple[str, str, str]] = []
        total = 0
        with atomic_path(folder / f"{name}.jpegs") as tmp, open(tmp, "wb") as out:
            for video in videos:
                try:
                    blobs = encode_video(video.path, video.num_frames, size, quality, backend)
                except VideoDecodeError as err:
                    failed.append((video.key, video.path, err.reason))
                    continue
                out.writelines(blobs)
                held.append((video.key, [len(b) for b in blobs], [zlib.crc32(b) for b in blobs]))
                total += sum(held[-1][1])
        meta = {"format": SHARD_FORMAT, "version": VERSION, "size": list(size), "quality": quality}
        with atomic_path(folder / f"{name}.json") as tmp:
            tmp.write_text(json.dumps({**meta, "bytes": total, "videos": held, "failed": failed}))
    return ShardResult(name, total, len(held), tuple((path, reason) for _, path, reason in failed))


def check_quality(shards: dict[str, ShardTable], quality: int, folder: Path) -> None:
    """Refuse to add shards of another JPEG quality to a store (one store, one quality)."""
    other = {t.quality for t in shards.values()} - {quality}
    if other:
        raise UsageError(
            f"the JPEG store {folder} holds quality {min(other)}, not {quality}: "
            f"use --quality {min(other)} or another --out"
        )


def rebuild_index(store: Path, size: Size, quality: int) -> Scan:
    """Rebuild the index of ``store`` from every whole shard, under the index lock: the scan is made
    under that lock and waits for shards other processes are writing, so of several writers the last to
    take the lock lists every shard any of them wrote (a scan taken before the lock could be stale)."""
    with locked(store / "index.lock"):
        scan = scan_shards(store / "shards", wait=True)
        check_quality(scan.shards, quality, store)
        _write_index(store, size, quality, scan.shards)
    return scan


def _write_index(store: Path, size: Size, quality: int, shards: dict[str, ShardTable]) -> Path:
    """Write the index of ``store`` for its complete ``shards`` (in name order), atomically; the caller
    holds the index lock."""
    names = sorted(shards)
    rows: list[np.ndarray] = []
    videos: dict[str, list[int]] = {}
    first = 0
    for number, name in enumerate(names):
        offset = 0
        for key, lengths, crcs in shards[name].videos:
            table = np.zeros(len(lengths), dtype=ROW)
            table["length"], table["crc"] = lengths, crcs
            table["offset"] = offset + np.concatenate([[0], np.cumsum(lengths[:-1], dtype=np.int64)])
            offset += sum(lengths)
            videos.setdefault(key, [number, first, len(lengths)])  # a video in two shards: the first
            rows.append(table)
            first += len(lengths)
    table = np.concatenate(rows) if rows else np.zeros(0, dtype=ROW)
    staged = store / ".index-table.tmp"
    with open(staged, "wb") as handle:
        np.save(handle, table)
    crc = file_crc(staged)
    table_name = f"index-{crc:08x}.npy"
    os.replace(staged, store / table_name)
    meta: dict[str, Any] = {"format": STORE_FORMAT, "version": VERSION, "size": list(size), "quality": quality}
    meta |= {"table": table_name, "table_bytes": (store / table_name).stat().st_size, "table_crc": crc}
    meta |= {"shards": [{"name": n, "bytes": shards[n].bytes} for n in names], "videos": videos}
    with atomic_path(store / "index.json") as tmp:
        tmp.write_text(json.dumps(meta, sort_keys=True))
    for old in store.glob("index-*.npy"):  # readers that opened an old table keep it until they close
        if old.name != table_name:
            old.unlink(missing_ok=True)
    return store / "index.json"
