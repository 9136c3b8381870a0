"""Running a backbone over evenly spaced clips of every video and streaming the pooled features to a file.

Sec. IV-B: 10 clips per video (20 for video QA, Sec. IV-D), centre crops, features from any tap. Under
torchrun every process extracts its share of the videos and writes its rows into the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clipcop.backbones.base import VideoBackbone
from clipcop.clips.datasets import EvalClipsDataset, VideoRef
from clipcop.clips.sources import FrameSource
from clipcop.config import ClipGeometry
from clipcop.engine.device import Runtime
from clipcop.engine.distributed import barrier, broadcast_object, is_main, rank, world_size
from clipcop.engine.loading import make_loader
from clipcop.engine.lock import locked
from clipcop.engine.reporting import Reporter
from clipcop.engine.sampler import EpochSampler
from clipcop.errors import FeatureFileError
from clipcop.features.pooling import conv5_grid, pool_tap, pooled_dim, uses_strided
from clipcop.features.store import FeatureWriter, new_partial
from clipcop.processes import interrupts
from clipcop.results import ExtractRecord


@dataclass(frozen=True)
class ExtractionStats:
    """What an extraction produced."""

    path: Path
    videos: int
    clips: int
    dim: int
    failed: list[str]
    skipped: dict[str, int] = field(default_factory=dict)
    """Videos of the dataset split (train and test alike) left out before extraction: ``missing``,
    ``unreadable``, ``too_short``."""

    def record(self) -> ExtractRecord:
        """What ``clipcop extract`` prints (:mod:`clipcop.results`)."""
        return ExtractRecord(
            features=str(self.path),
            videos=self.videos,
            clips=self.clips,
            dim=self.dim,
            failed=len(self.failed),
            failed_videos=list(self.failed),
            skipped=dict(self.skipped),
        )


def _gather_failed(local: list[int]) -> list[int]:
    if world_size() == 1:
        return local
    import torch.distributed as dist

    holder: list[list[int] | None] = [None] * world_size()
    dist.all_gather_object(holder, local)
    return sorted({i for part in holder if part for i in part})


@torch.no_grad()
def extract_to_file(
    backbone: VideoBackbone,
    videos: Sequence[VideoRef],
    video_ids: Sequence[str],
    out: Path,
    *,
    clip_len: int,
    num_clips: int,
    geometry: ClipGeometry,
    layer: str,
    pool: str,
    runtime: Runtime,
    meta: dict[str, Any],
    pool5: str = "adaptive",
    batch_size: int = 8,
    workers: int = 2,
    dtype: str = "float32",
    source: FrameSource | None = None,
    reporter: Reporter | None = None,
) -> ExtractionStats:
    """Extract ``num_clips`` features per video into the feature file ``out`` (see :mod:`.store`).

    ``source``: where frames come from (:mod:`clipcop.clips.sources`; default: decoded videos).
    ``pool5``: ``adaptive`` or ``strided`` (the official layer) for ``spatiotemporal`` pooling of conv5.
    """
    reporter = reporter or Reporter()
    backbone.eval()
    deepest = backbone.num_features
    strided = uses_strided(pool, layer, pool5)
    grid = conv5_grid(clip_len, geometry.crop) if strided else None
    dim = pooled_dim(pool, backbone.tap_channels(layer), deepest, strided_grid=grid)
    rows = len(videos) * num_clips
    full_meta = {
        **meta,
        "video_ids": list(video_ids),
        "layer": layer,
        "pool": pool,
        "pool5": pool5,
        "clips": num_clips,
        "clip_len": clip_len,
        "resize": list(geometry.resize),
        "crop": geometry.crop,
    }
    # Rank 0 holds the file's lock: a second job extracting to the same file is refused, naming this one.
    with locked(out, folder=False, what=f"feature file {out}", enabled=is_main()):
        partial = Path(str(broadcast_object(str(new_partial(Path(out))) if is_main() else None)))
        try:
            writer = FeatureWriter(
                out, rows=rows, dim=dim, videos=len(videos), meta=full_meta, dtype=dtype, create=is_main(), tmp=partial
            )
            barrier()
            dataset = EvalClipsDataset(videos, clip_len=clip_len, num_clips=num_clips, geometry=geometry, source=source)
            sampler = EpochSampler(len(videos), shuffle=False, rank=rank(), world_size=world_size())
            loader = make_loader(dataset, sampler, batch_size=batch_size, workers=workers, runtime=runtime)
            with reporter.progress(len(videos), f"extracting {layer}/{pool} x{num_clips} clips", "videos") as bar:
                failed = _write_rows(
                    writer,
                    loader,
                    backbone,
                    layer=layer,
                    pool=pool,
                    strided=strided,
                    runtime=runtime,
                    advance=bar.advance,
                )
            failed_all = _gather_failed(failed)
            barrier()
            failed_ids = [video_ids[i] for i in failed_all]
            if is_main():
                writer.write_labels(np.array([v.label for v in videos], dtype=np.int64))
                writer.finish({"failed": failed_ids})
                if failed_ids:
                    reporter.warn(f"{len(failed_ids)} videos failed to decode and were left out, e.g. {failed_ids[0]}")
            barrier()
        except BaseException:
            if is_main():
                partial.unlink(missing_ok=True)  # a failed or interrupted extraction leaves no half-written file
            raise
        return ExtractionStats(out, len(videos), num_clips, dim, failed_ids)


def check_finite_features(feats: np.ndarray, writer: FeatureWriter, indices: list[int]) -> None:
    """Refuse a batch whose features hold NaN or infinity (a model with broken weights, or half precision
    overflowing), naming the model; the half-written file is removed by the caller."""
    finite = np.isfinite(feats.reshape(len(feats), -1)).all(axis=1)
    if finite.all():
        return
    source = writer.meta.get("source")
    model = source.get("identity", source.get("kind")) if isinstance(source, dict) else "the model"
    ids = writer.meta.get("video_ids", [])
    first = indices[int(np.argmin(finite))]
    video = ids[first] if first < len(ids) else f"video {first}"
    raise FeatureFileError(
        f"{model} gives non-finite features (NaN or infinity) for {int((~finite).sum())} of {len(feats)} videos "
        f"of a batch, e.g. {video}: its weights are broken or --precision overflows; no feature file was written"
    )


def _write_rows(
    writer: FeatureWriter,
    loader: Any,
    backbone: VideoBackbone,
    *,
    layer: str,
    pool: str,
    strided: bool,
    runtime: Runtime,
    advance: Any,
) -> list[int]:
    """Write this process's videos' features into ``writer``; returns the numbers of those that failed
    to decode (their rows are zeros)."""
    dim = writer.layout["features"]["shape"][1]
    failed: list[int] = []
    done: set[int] = set()
    for batch in loader:
        interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
        clips = batch["clips"]  # (B, N, T, H, W, 3) uint8
        num_clips = clips.shape[1]
        x = runtime.clips(clips.flatten(0, 1))
        with runtime.autocast():
            tap = backbone.forward_intermediates(x, [layer])[layer]
        pooled = pool_tap(tap, pool, backbone.num_features, strided=strided)
        feats = pooled.view(len(clips), num_clips, dim).cpu().numpy()
        check_finite_features(feats, writer, batch["index"].tolist())
        for k, index in enumerate(batch["index"].tolist()):
            if index in done:  # padding repeats a few videos when sharding unevenly
                continue
            done.add(index)
            if int(batch["failed_reads"][k]):
                failed.append(index)
                feats[k] = 0.0
            writer.write_rows(index * num_clips, feats[k], np.full(num_clips, index), batch["starts"][k].numpy())
        advance(len(clips) * world_size())
    return failed
