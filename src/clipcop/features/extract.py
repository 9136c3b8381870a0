"""Running a backbone over evenly spaced clips of every video and streaming the pooled features to a file.

Sec. IV-B: 10 clips per video (20 for video QA, Sec. IV-D), centre crops, features from any tap. Under
torchrun every process extracts its share of the videos and writes its rows into the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
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
    layer: str,
    meta: dict[str, Any],
    **options: Any,
) -> ExtractionStats:
    """Extract ``num_clips`` features per video of one ``layer`` into the feature file ``out`` (see
    :mod:`.store`); ``options`` as for :func:`extract_to_files`."""
    return extract_to_files(backbone, videos, video_ids, {layer: (Path(out), meta)}, **options)[layer]


@torch.no_grad()
def extract_to_files(
    backbone: VideoBackbone,
    videos: Sequence[VideoRef],
    video_ids: Sequence[str],
    outs: Mapping[str, tuple[Path, dict[str, Any]]],
    *,
    clip_len: int,
    num_clips: int,
    geometry: ClipGeometry,
    pool: str,
    runtime: Runtime,
    pool5: str = "adaptive",
    batch_size: int = 8,
    workers: int = 2,
    dtype: str = "float32",
    source: FrameSource | None = None,
    reporter: Reporter | None = None,
) -> dict[str, ExtractionStats]:
    """Extract ``num_clips`` features per video at every tap of ``outs`` (layer -> feature file and its
    metadata) in one pass: each batch runs through the backbone once, as deep as the deepest tap, and
    each tap's pooled rows go to its own file (Table IV compares layers on the same clips).

    ``source``: where frames come from (:mod:`clipcop.clips.sources`; default: decoded videos).
    ``pool5``: ``adaptive`` or ``strided`` (the official layer) for ``spatiotemporal`` pooling of conv5.
    """
    reporter = reporter or Reporter()
    backbone.eval()
    layers = list(outs)
    rows = len(videos) * num_clips
    strided = {layer: uses_strided(pool, layer, pool5) for layer in layers}
    grid = conv5_grid(clip_len, geometry.crop) if any(strided.values()) else None
    shared = {"video_ids": list(video_ids), "pool": pool, "pool5": pool5, "clips": num_clips, "clip_len": clip_len}
    shared |= {"resize": list(geometry.resize), "crop": geometry.crop}
    with ExitStack() as held:
        # Rank 0 holds each file's lock: a second job extracting to the same file is refused, naming this one.
        for out, _ in outs.values():
            held.enter_context(locked(out, folder=False, what=f"feature file {out}", enabled=is_main()))
        partials = {
            layer: Path(str(broadcast_object(str(new_partial(Path(out))) if is_main() else None)))
            for layer, (out, _) in outs.items()
        }
        try:
            writers = {
                layer: FeatureWriter(
                    out,
                    rows=rows,
                    dim=pooled_dim(
                        pool,
                        backbone.tap_channels(layer),
                        backbone.num_features,
                        strided_grid=grid if strided[layer] else None,
                    ),
                    videos=len(videos),
                    meta={**meta, **shared, "layer": layer},
                    dtype=dtype,
                    create=is_main(),
                    tmp=partials[layer],
                )
                for layer, (out, meta) in outs.items()
            }
            barrier()
            dataset = EvalClipsDataset(videos, clip_len=clip_len, num_clips=num_clips, geometry=geometry, source=source)
            sampler = EpochSampler(len(videos), shuffle=False, rank=rank(), world_size=world_size())
            loader = make_loader(dataset, sampler, batch_size=batch_size, workers=workers, runtime=runtime)
            label = f"extracting {','.join(layers)}/{pool} x{num_clips} clips"
            with reporter.progress(len(videos), label, "videos") as bar:
                failed = _write_rows(
                    writers, loader, backbone, pool=pool, strided=strided, runtime=runtime, advance=bar.advance
                )
            failed_all = _gather_failed(failed)
            barrier()
            failed_ids = [video_ids[i] for i in failed_all]
            if is_main():
                labels = np.array([v.label for v in videos], dtype=np.int64)
                for writer in writers.values():
                    writer.write_labels(labels)
                    writer.finish({"failed": failed_ids})
                if failed_ids:
                    reporter.warn(f"{len(failed_ids)} videos failed to decode and were left out, e.g. {failed_ids[0]}")
            barrier()
        except BaseException:
            if is_main():
                for partial in partials.values():
                    partial.unlink(missing_ok=True)  # a failed or interrupted extraction leaves no half-written file
            raise
    return {
        layer: ExtractionStats(out, len(videos), num_clips, writers[layer].layout["features"]["shape"][1], failed_ids)
        for layer, (out, _) in outs.items()
    }


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
    writers: Mapping[str, FeatureWriter],
    loader: Any,
    backbone: VideoBackbone,
    *,
    pool: str,
    strided: Mapping[str, bool],
    runtime: Runtime,
    advance: Any,
) -> list[int]:
    """Write this process's videos' features into each tap's writer; returns the numbers of those that
    failed to decode (their rows are zeros)."""
    failed: list[int] = []
    done: set[int] = set()
    for batch in loader:
        interrupts.check()  # a Ctrl-C swallowed by a finalizer still stops the loop
        clips = batch["clips"]  # (B, N, T, H, W, 3) uint8
        num_clips = clips.shape[1]
        x = runtime.clips(clips.flatten(0, 1))
        with runtime.autocast():
            taps = backbone.forward_intermediates(x, list(writers))
        feats = {
            layer: pool_tap(taps[layer], pool, backbone.num_features, strided=strided[layer])
            .view(len(clips), num_clips, -1)
            .cpu()
            .numpy()
            for layer in writers
        }
        for layer, writer in writers.items():
            check_finite_features(feats[layer], writer, batch["index"].tolist())
        for k, index in enumerate(batch["index"].tolist()):
            if index in done:  # padding repeats a few videos when sharding unevenly
                continue
            done.add(index)
            bad = bool(int(batch["failed_reads"][k]))
            if bad:
                failed.append(index)
            for layer, writer in writers.items():
                rows = np.zeros_like(feats[layer][k]) if bad else feats[layer][k]
                writer.write_rows(index * num_clips, rows, np.full(num_clips, index), batch["starts"][k].numpy())
        advance(len(clips) * world_size())
    return failed
