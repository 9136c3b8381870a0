"""Tuples per second of the data path, against the published code's way in the same run.

Baseline (the published VCOP code): decode the whole video with PyAV, convert each frame to a PIL image,
resize it to 128x171, then cut the tuple and crop. clipcop: decord fetches only the tuple's frames,
resized at decode time (``VCOPTupleDataset``), and the raw frame cache (``clipcop data cache``) serves
the same tuples from a memory map. All run through a ``DataLoader`` with the same worker count.

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
from torch.utils.data import DataLoader, Dataset

from _videos import ucf_like_videos
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import CachedFrames, cache_video
from clipcop.clips.transforms import crop_clip, random_crop_origin
from clipcop.config import ClipGeometry, TupleSpec
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
        resized = np.stack([np.asarray(img.resize((width, height), Image.BILINEAR)) for img in frames])
        sample = sample_tuple(len(resized), self.spec, rng)
        clips = []
        for rows in sample.shuffled_indices():
            origin = random_crop_origin(height, width, self.geometry.crop, rng)
            clips.append(crop_clip(resized[rows], origin, self.geometry.crop))
        return {"clips": torch.from_numpy(np.stack(clips)), "target": torch.tensor(sample.target)}


def tuples_per_second(dataset: Dataset[dict[str, torch.Tensor]], workers: int, seconds: float, batch: int = 8) -> float:
    count, epoch, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sampler = EpochSampler(len(dataset), shuffle=True, seed=1)  # type: ignore[arg-type]
        sampler.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers)
        for item in loader:
            count += len(item["clips"])
            if time.perf_counter() - started >= seconds:
                break
        epoch += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "clipcop-bench-videos")
    args = parser.parse_args()
    torch.set_num_threads(1)
    paths = ucf_like_videos(args.folder, args.videos, args.frames)
    videos = [VideoRef(p, probe_video(p).num_frames) for p in paths]
    spec, geometry = TupleSpec(clip_len=16, interval=8, tuple_len=3), ClipGeometry()
    cache_root = args.folder / "frame-cache"
    for v in videos:
        cache_video(cache_root, v.path, v.num_frames, geometry.resize)
    per_video = 128 * 171 * 3 * args.frames / 2**20
    results = {
        "published: whole video + PIL per frame": tuples_per_second(
            WholeVideoPIL(videos, spec, geometry), args.workers, args.seconds
        ),
        "clipcop: decord, needed frames, resize at decode": tuples_per_second(
            VCOPTupleDataset(videos, spec, geometry, train=True), args.workers, args.seconds
        ),
        "clipcop: raw frame cache (memory-mapped)": tuples_per_second(
            VCOPTupleDataset(videos, spec, geometry, train=True, frames=CachedFrames(cache_root)),
            args.workers,
            args.seconds,
        ),
    }
    base = next(iter(results.values()))
    print(
        f"{args.videos} videos of 320x240, {args.frames} frames, MPEG-4 AVI; tuples 16-8-3 at 128x171 crop 112;"
        f" {args.workers} workers; cache {per_video:.1f} MiB per video"
    )
    for name, rate in results.items():
        print(f"{name:52s} {rate:8.1f} tuples/s  {rate / base:6.1f}x")


if __name__ == "__main__":
    main()
