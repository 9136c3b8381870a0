"""Retrieval samples picture (the paper's Fig. 8): query videos and their top neighbours, correct in green.

Each video is labelled with its class in its own feature file's class list; across datasets (Fig. 9)
neighbours are framed grey, since right and wrong are not defined there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from torchvision.utils import draw_bounding_boxes, make_grid

from clipcop.engine.atomic import write_atomic
from clipcop.engine.distributed import is_main
from clipcop.engine.reporting import Reporter
from clipcop.errors import UsageError, VideoDecodeError
from clipcop.features.store import FeatureFile, read_features
from clipcop.outputs import PNG_SOFTWARE
from clipcop.videos.decoder import probe_video, read_frames
from clipcop.workflows.retrieve import RetrievalResult, level_vectors

TILE = (96, 128)
GREEN, RED, GREY = (40, 200, 60), (220, 50, 50), (200, 200, 200)


def _middle_frame(features: FeatureFile, number: int) -> torch.Tensor:
    root = Path(features.meta.get("dataset", {}).get("video_root", "."))
    path = root / features.video_ids[number]
    try:
        info = probe_video(path)
        frame = read_frames(path, [info.num_frames // 2], size=TILE)[0]
    except (VideoDecodeError, UsageError):
        frame = np.zeros((*TILE, 3), dtype=np.uint8)
    return torch.from_numpy(frame).permute(2, 0, 1)


def _label(image: torch.Tensor, text: str, colour: tuple[int, int, int]) -> torch.Tensor:
    box = torch.tensor([[1, 1, image.shape[2] - 2, image.shape[1] - 2]])
    return cast(torch.Tensor, draw_bounding_boxes(image, box, labels=[text], colors=[colour], width=3))


def _name(features: FeatureFile, label: int, number: int) -> str:
    """A video's class in its own file's class list, or its number when unlabelled."""
    return features.class_name(label) or str(number)


@dataclass(frozen=True)
class Tile:
    """One picture of the grid: a video of a feature file, its caption and its frame colour."""

    features: FeatureFile
    number: int
    caption: str
    colour: tuple[int, int, int]


def check_grid_level(level: str) -> None:
    """Refuse a samples picture of a search without the video level (checked before any extraction)."""
    if level not in ("video", "both"):
        raise UsageError("the samples picture is built from video-level retrieval: use --level video or both")


def sample_tiles(result: RetrievalResult, *, queries: int = 4, top: int = 2) -> list[Tile]:
    """Row by row: a query video (grey), then its ``top`` nearest gallery videos (green when of the
    query's class, red when not; grey across datasets, where right and wrong are not defined)."""
    if "video" not in result.neighbours:
        check_grid_level("clip")
    gallery, query = read_features(result.gallery_file), read_features(result.query_file)
    g, q = level_vectors(gallery, "video"), level_vectors(query, "video")
    comparable = gallery.same_classes(query)
    step = max(1, len(q.x) // queries)
    tiles = []
    for row in range(0, min(len(q.x), step * queries), step):
        q_number, q_label = int(q.video[row]), int(q.labels[row])
        tiles.append(Tile(query, q_number, f"query: {_name(query, q_label, q_number)}", GREY))
        for g_row in result.neighbours["video"][row][:top]:
            number, label = int(g.video[g_row]), int(g.labels[g_row])
            colour = (GREEN if label == q_label else RED) if comparable else GREY
            tiles.append(Tile(gallery, number, _name(gallery, label, number), colour))
    return tiles


def write_samples_grid(
    result: RetrievalResult,
    out: str | Path,
    *,
    queries: int = 4,
    top: int = 2,
    reporter: Reporter | None = None,
) -> Path:
    """A PNG with one row per query video: its middle frame, then its ``top`` nearest gallery videos.

    Written by rank 0 alone under torchrun (the others' results hold no neighbours), atomically.
    """
    out = Path(out)
    if not is_main():
        return out
    tiles = [
        _label(_middle_frame(t.features, t.number), t.caption, t.colour)
        for t in sample_tiles(result, queries=queries, top=top)
    ]
    grid = make_grid(torch.stack(tiles).float() / 255.0, nrow=top + 1, padding=4, pad_value=1.0)
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()  # as save_image
    text = PngInfo()
    text.add_text("Software", PNG_SOFTWARE)  # how --grid knows the picture as clipcop's when run again
    write_atomic(out, lambda tmp: Image.fromarray(pixels).save(tmp, format="png", pnginfo=text))
    if reporter is not None:
        reporter.info(f"retrieval samples picture: {out}")
    return out
