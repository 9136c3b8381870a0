"""Tuples per second of the data path, against the published code's way in the same run.

Baseline (the published VCOP code): decode the whole video with PyAV, convert each frame to a PIL image,
resize it to 128x171, then cut the tuple and crop. clipcop: decord fetches only the tuple's frames,
resized at decode time (``VCOPTupleDataset``), and the raw frame cache (``clipcop data cache``) serves
the same tuples from memory maps, through worker processes and through clipcop's loader threads (what
``make_loader`` picks when every video is cached). All use the same worker count.

    python benchmarks/load_tuples.py --videos 24 --workers 2 --seconds 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from _videos import ucf_like_videos
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import CachedFrames, cache_video
from clipcop.clips.sources import DecodedVideos, StoredFrames
from clipcop.clips.transforms import random_crop_origin
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.engine.loading import make_loader
from clipcop.engine.sampler import EpochSampler
from clipcop.sampling.tuples import sample_tuple
from clipcop.videos.decoder import probe_video


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=8, help="Tuples per batch (the paper's 8).")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "clipcop-bench-videos")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runtime = resolve_runtime("auto")  # pinned memory when a GPU is there, as in training
    paths = ucf_like_videos(args.folder, args.videos, args.frames, workers=args.workers)
    videos = [VideoRef(p, probe_video(p).num_frames) for p in paths]
    spec, geometry = TupleSpec(clip_len=16, interval=8, tuple_len=3), ClipGeometry()
    cache_root = args.folder / "frame-cache"
    for v in videos:
        cache_video(cache_root, v.path, v.num_frames, geometry.resize)
    per_video = 128 * 171 * 3 * args.frames / 2**20
    results = {
        "published: whole video + PIL per frame": tuples_per_second(
            WholeVideoPIL(videos, spec, geometry), args, runtime
        ),
        "clipcop: decord, needed frames, resize at decode": tuples_per_second(
            VCOPTupleDataset(videos, spec, geometry, train=True), args, runtime
        ),
        "clipcop: frame cache, worker processes": tuples_per_second(
            VCOPTupleDataset(
                videos, spec, geometry, train=True, source=StoredFrames(CachedFrames(cache_root), DecodedVideos())
            ),
            args,
            runtime,
            processes=True,
        ),
        "clipcop: frame cache, loader threads (default)": tuples_per_second(
            VCOPTupleDataset(
                videos, spec, geometry, train=True, source=StoredFrames(CachedFrames(cache_root), DecodedVideos())
            ),
            args,
            runtime,
        ),
    }
    base = next(iter(results.values()))
    print(
        f"{args.videos} videos of 320x240, {args.frames} frames, MPEG-4 AVI; tuples 16-8-3 at 128x171 crop 112;"
        f" {args.workers} workers, {args.batch} per batch, {runtime.device.type}; cache {per_video:.1f} MiB per video"
    )
    for name, rate in results.items():
        print(f"{name:52s} {rate:8.1f} tuples/s  {rate / base:6.1f}x")


if __name__ == "__main__":
    main()
