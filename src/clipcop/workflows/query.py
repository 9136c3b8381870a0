"""``clipcop retrieve --query VIDEO``: the nearest gallery videos to any video file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from rich.table import Table

from clipcop.backbones.base import VideoBackbone
from clipcop.clips.datasets import EvalClipsDataset, VideoRef
from clipcop.clips.sources import DecodedVideos
from clipcop.config import ClipGeometry
from clipcop.engine.device import resolve_runtime
from clipcop.engine.reporting import Reporter
from clipcop.errors import FeatureFileError, UsageError
from clipcop.features.pooling import pool_tap, uses_strided
from clipcop.features.store import FeatureFile, read_features
from clipcop.index.faiss_index import build_index, l2_normalize, search
from clipcop.paths import why_not
from clipcop.results import Neighbour, QueryRecord
from clipcop.videos.decoder import probe_video
from clipcop.videos.layouts import Subset
from clipcop.workflows.extract import ExtractConfig, ModelSource, extract
from clipcop.workflows.retrieve import MODEL_WITH_DATA, RetrieveConfig, level_vectors


def _gallery(config: RetrieveConfig, reporter: Reporter) -> FeatureFile:
    if config.gallery is not None:
        return read_features(config.gallery)
    if config.source is None:
        raise UsageError(f"--query needs a gallery: --gallery F, or {MODEL_WITH_DATA}")
    subset = "train" if config.query_split == "test" else "test"
    stats = extract(
        ExtractConfig(
            source=config.source,
            data=config.data,
            subset=cast(Subset, subset),
            clips=config.clips,
            layer=config.layer,
            pool=config.pool,
            pool5=config.pool5,
            device=config.device,
            precision=config.precision,
        ),
        reporter=reporter,
    )
    return read_features(stats.path)


def _source_for(gallery: FeatureFile, config: RetrieveConfig) -> ModelSource:
    if config.source is not None:
        return config.source
    card = gallery.model
    if card is not None and card.kind == "random":
        chosen = card.choices()
        return ModelSource(
            random=True,
            arch=card.arch,
            width=card.width,
            seed=card.seed or 0,
            weight_init=chosen.weight_init,
            pixels=chosen.pixels,
            shortcut=chosen.shortcut,
        )
    if card is not None and card.kind == "torchvision" and card.weights:
        return ModelSource(arch=card.arch, weights=card.weights)
    checkpoint = card.source if card is not None else None
    if not checkpoint or not Path(checkpoint).is_file():
        raise UsageError(f"the gallery was made from {checkpoint!r}, which is not here: pass --checkpoint")
    return ModelSource(checkpoint=checkpoint)


def query_video(
    config: RetrieveConfig, video: str | Path, *, reporter: Reporter | None = None, top: int | None = None
) -> list[dict[str, Any]]:
    """Rank gallery videos by cosine similarity to ``video`` (video level: mean of its clip features)."""
    reporter = reporter or Reporter()
    video = Path(video)
    if not video.is_file():
        raise UsageError(f"query video {video} {why_not(video, 'file')}")
    gallery = _gallery(config, reporter)
    meta = gallery.meta
    source = _source_for(gallery, config)
    source = replace(source, clip_len=int(meta["clip_len"]), resize=tuple(meta["resize"]), crop=int(meta["crop"]))  # type: ignore[arg-type]
    backbone, card, clip_len, geometry = source.build()
    runtime = resolve_runtime(config.device, config.precision).with_pixels(card.choices().pixels)
    backbone = cast(VideoBackbone, runtime.prepare(backbone).eval())
    info = probe_video(video, backend=config.data.backend)
    clips = EvalClipsDataset(
        [VideoRef(video, info.num_frames)],
        clip_len=clip_len,
        num_clips=int(meta["clips"]),
        geometry=ClipGeometry(resize=geometry.resize, crop=geometry.crop),
        source=DecodedVideos(config.data.backend),
    ).read(0)  # an unreadable query is an error, not the zero clips a gallery video would be counted as
    with torch.no_grad(), runtime.autocast():
        tap = backbone.forward_intermediates(runtime.clips(clips["clips"]), [meta["layer"]])[meta["layer"]]
    strided = uses_strided(meta["pool"], meta["layer"], str(meta.get("pool5", "adaptive")))
    pooled = pool_tap(tap, meta["pool"], backbone.num_features, strided=strided)
    feature = pooled.mean(dim=0, keepdim=True).cpu().numpy()
    vectors = level_vectors(gallery, "video")
    if feature.shape[1] != vectors.x.shape[1]:
        raise FeatureFileError(f"query feature is {feature.shape[1]}-d but the gallery is {vectors.x.shape[1]}-d")
    similarity, rows = search(build_index(vectors.x, config.index), l2_normalize(feature), top or max(config.ks))
    classes = gallery.classes
    found = []
    for rank, (sim, row) in enumerate(zip(similarity[0], rows[0], strict=True), start=1):
        number = int(vectors.video[row])
        label = int(np.asarray(gallery.labels)[number])
        found.append(
            {
                "rank": rank,
                "similarity": float(sim),
                "video": gallery.video_ids[number],
                "class": classes[label] if classes and label >= 0 else "",
            }
        )
    table = Table(title=f"Nearest gallery videos to {video.name}")
    for column in ("rank", "similarity", "class", "video"):
        table.add_column(column, justify="right" if column in ("rank", "similarity") else "left")
    for row_ in found:
        table.add_row(str(row_["rank"]), f"{row_['similarity']:.3f}", str(row_["class"]), str(row_["video"]))
    reporter.table(table)
    return found


def query_record(query: str | Path, found: list[dict[str, Any]]) -> QueryRecord:
    """What ``clipcop retrieve --query`` prints (:mod:`clipcop.results`) for :func:`query_video`'s rows."""
    return QueryRecord(
        query=str(query),
        neighbours=[
            Neighbour(rank=r["rank"], similarity=r["similarity"], video=r["video"], class_name=r["class"])
            for r in found
        ],
    )
