"""What each query retrieved: its nearest gallery items by name, class and similarity (Figs. 8-9).

Used when accuracy cannot be scored (gallery and queries with different class lists, e.g. HMDB51 queries
against a UCF101 gallery: the paper's Fig. 9) and, with ``--neighbours FILE``, to keep every query's
neighbours as CSV for inspection.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from clipcop.engine.atomic import atomic_path
from clipcop.features.store import FeatureFile

COLUMNS = ("level", "query", "query_start", "query_class", "rank", "video", "start", "class", "similarity")
"""CSV columns; ``*start`` are clip start frames (empty at video level)."""


@dataclass(frozen=True)
class Side:
    """One side of a search at one level: the feature file and, per searched row, its video number and
    clip row in the file (-1 at video level)."""

    features: FeatureFile
    video: np.ndarray
    clip_row: np.ndarray

    def name(self, row: int) -> str:
        """The video's id (its path relative to the video root)."""
        number = int(self.video[row])
        ids = self.features.video_ids
        return ids[number] if number < len(ids) else str(number)

    def start(self, row: int) -> str:
        """The clip's first frame at clip level, empty at video level."""
        clip = int(self.clip_row[row])
        return "" if clip < 0 else str(int(self.features.start[clip]))

    def label(self, row: int) -> str:
        """The video's class name in this file's own class list (empty when unlabelled)."""
        return self.features.class_name(int(self.features.labels[int(self.video[row])]))


Row = dict[str, str | int | float]


def neighbour_rows(
    level: str, gallery: Side, queries: Side, ids: np.ndarray, sims: np.ndarray, *, limit: int | None = None
) -> Iterator[Row]:
    """One row per (query, rank), query by query, for the first ``limit`` queries (all when None)."""
    for q in range(len(ids) if limit is None else min(limit, len(ids))):
        for rank, (g, sim) in enumerate(zip(ids[q], sims[q], strict=True), start=1):
            if g < 0:  # fewer gallery items than k
                break
            yield {
                "level": level,
                "query": queries.name(q),
                "query_start": queries.start(q),
                "query_class": queries.label(q),
                "rank": rank,
                "video": gallery.name(int(g)),
                "start": gallery.start(int(g)),
                "class": gallery.label(int(g)),
                "similarity": round(float(sim), 6),
            }


def write_neighbours_csv(path: str | Path, rows: Iterable[Row]) -> Path:
    """``rows`` as CSV, streamed into a temporary file that replaces ``path`` when complete (clip level on
    UCF101 with k = 50 is about two million rows: they are never all in memory)."""
    out = Path(path)
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return out


def render_neighbours(rows: list[Row], title: str) -> Table:
    """A table: each query (file name) with its class, then its neighbours with theirs (the CSV has paths)."""
    table = Table(title=title)
    for column in ("query", "query class", "rank", "neighbour", "class", "similarity"):
        table.add_column(column, justify="right" if column in ("rank", "similarity") else "left", overflow="fold")
    for row in rows:
        first = row["rank"] == 1
        table.add_row(
            _clip(row["query"], row["query_start"]) if first else "",
            str(row["query_class"]) if first else "",
            str(row["rank"]),
            _clip(row["video"], row["start"]),
            str(row["class"]),
            f"{float(row['similarity']):.3f}",
        )
    return table


def _clip(video: str | int | float, start: str | int | float) -> str:
    """A video's file name, with ``@ frame N`` for a clip."""
    name = Path(str(video)).name
    return f"{name} @ frame {start}" if start != "" else name
