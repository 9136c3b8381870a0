"""What each query retrieved: its nearest gallery items by name, class and similarity (Figs. 8-9).

Used when accuracy cannot be scored (gallery and queries with different class lists, e.g. HMDB51 queries
against a UCF101 gallery: the paper's Fig. 9) and, with ``--neighbours FILE``, to keep every query's
neighbours as CSV for inspection.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from clipcop.engine.atomic import write_text_atomic
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
        names, label = self.features.classes, int(self.features.labels[int(self.video[row])])
        return names[label] if names and 0 <= label < len(names) else ""


def neighbour_rows(
    level: str, gallery: Side, queries: Side, ids: np.ndarray, sims: np.ndarray, *, limit: int | None = None
) -> list[dict[str, str | int | float]]:
    """One row per (query, rank) for the first ``limit`` queries (all when None)."""
    rows: list[dict[str, str | int | float]] = []
    for q in range(len(ids) if limit is None else min(limit, len(ids))):
        for rank, (g, sim) in enumerate(zip(ids[q], sims[q], strict=True), start=1):
            if g < 0:  # fewer gallery items than k
                break
            rows.append(
                {
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
            )
    return rows


def write_neighbours_csv(path: str | Path, rows: list[dict[str, str | int | float]]) -> Path:
    """All rows as CSV, written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, buffer.getvalue())
    return out


def render_neighbours(rows: list[dict[str, str | int | float]], title: str) -> Table:
    """A table: each query (file name) with its class, then its neighbours with theirs (the CSV has paths)."""
    table = Table(title=title)
    for column in ("query", "query class", "rank", "neighbour", "class", "similarity"):
        table.add_column(column, justify="right" if column in ("rank", "similarity") else "left", overflow="fold")
    for row in rows:
        first = row["rank"] == 1
        table.add_row(
            Path(str(row["query"])).name if first else "",
            str(row["query_class"]) if first else "",
            str(row["rank"]),
            Path(str(row["video"])).name,
            str(row["class"]),
            f"{float(row['similarity']):.3f}",
        )
    return table
