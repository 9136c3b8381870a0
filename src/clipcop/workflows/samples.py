"""Retrieval samples picture (the paper's Fig. 8): query videos and their top neighbours, correct in green.

Each video is shown as a few frames across it (the synthetic classes differ only by motion, which one
frame cannot show) and labelled with its rank, its class in its own feature file's class list and its
similarity to the query; across datasets (Fig. 9) neighbours are framed grey, since right and wrong are
not defined there. Drawn with matplotlib (``pip install "clipcop[plot]"``) as PNG, SVG or PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipcop.engine.distributed import is_main
from clipcop.engine.reporting import Reporter
from clipcop.errors import UsageError, VideoDecodeError
from clipcop.features.store import FeatureFile, read_features
from clipcop.report.figures import GridCell, require_matplotlib, retrieval_grid
from clipcop.videos.decoder import probe_video, read_frames
from clipcop.workflows.retrieve import RetrievalResult, level_vectors

TILE = (72, 96)
FRAMES = 4
"""Frames shown per video, evenly spaced across it."""
GREEN, RED, GREY = (40, 160, 60), (210, 40, 40), (150, 150, 150)


def _frames(features: FeatureFile, number: int) -> list[np.ndarray]:
    """``FRAMES`` frames evenly spread over the video (black when it cannot be decoded)."""
    root = Path(features.meta.get("dataset", {}).get("video_root", "."))
    path = root / features.video_ids[number]
    try:
        count = probe_video(path).num_frames
        picks = np.linspace(0, count - 1, FRAMES + 2)[1:-1].round().astype(int).tolist()
        return list(read_frames(path, picks, size=TILE))
    except (VideoDecodeError, UsageError):
        return [np.zeros((*TILE, 3), dtype=np.uint8)] * FRAMES


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
        found = zip(result.neighbours["video"][row][:top], result.similarities["video"][row][:top], strict=True)
        for rank, (g_row, similarity) in enumerate(found, start=1):
            number, label = int(g.video[g_row]), int(g.labels[g_row])
            colour = (GREEN if label == q_label else RED) if comparable else GREY
            tiles.append(Tile(gallery, number, f"{rank}. {_name(gallery, label, number)} ({similarity:.2f})", colour))
    return tiles


def write_samples_grid(
    result: RetrievalResult,
    out: str | Path,
    *,
    queries: int = 4,
    top: int = 3,
    dpi: int = 100,
    reporter: Reporter | None = None,
) -> Path:
    """A picture (format from the suffix: .png, .svg or .pdf) with one row per query video: a few of its
    frames, then its ``top`` nearest gallery videos by rank.

    Written by rank 0 alone under torchrun (the others' results hold no neighbours), atomically.
    """
    out = Path(out)
    if not is_main():
        return out
    tiles = sample_tiles(result, queries=queries, top=top)
    cells = [GridCell(_frames(t.features, t.number), t.caption, _hex(t.colour)) for t in tiles]
    rows = [cells[i : i + top + 1] for i in range(0, len(cells), top + 1)]
    title = "Video retrieval: test queries and their nearest training videos (green: same class, red: other)"
    if not read_features(result.gallery_file).same_classes(read_features(result.query_file)):
        title = "Video retrieval: queries and their nearest gallery videos (classes of two datasets)"
    retrieval_grid(rows, title, out, dpi=dpi)
    if reporter is not None:
        reporter.info(f"retrieval samples picture: {out}")
    return out


def check_grid_out(out: str | Path) -> None:
    """Before any extraction: the samples picture needs matplotlib and a .png, .svg or .pdf name."""
    require_matplotlib()
    if Path(out).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--grid {out}: name a .png, .svg or .pdf file")


def _hex(colour: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in colour)
