"""Top-k retrieval accuracy (Sec. IV-B): a query counts as a hit at k when any of its k nearest gallery
items has the query's class. Written over FAISS's ``(D, I)`` result arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10, 20, 50)

NO_HIT = np.iinfo(np.int64).max
"""Rank of a query with no same-class item among its neighbours: larger than any ``k``, so never a hit
(FAISS returns fewer than ``k`` neighbours when the gallery is smaller than ``k``)."""


def first_hit_rank(neighbours: np.ndarray, gallery_labels: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    """0-based rank of the first neighbour with the query's class, or :data:`NO_HIT`, per query."""
    matches = gallery_labels[neighbours] == query_labels[:, None]  # (nq, k)
    matches &= neighbours >= 0  # FAISS marks missing neighbours with -1
    return np.where(matches.any(axis=1), matches.argmax(axis=1), NO_HIT)


def topk_accuracy(
    neighbours: np.ndarray,
    gallery_labels: np.ndarray,
    query_labels: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[int, float]:
    """``{k: fraction of queries with a same-class item among their k nearest}`` for each ``k``."""
    ranks = first_hit_rank(neighbours, gallery_labels, query_labels)
    return {int(k): float((ranks < k).mean()) if len(ranks) else float("nan") for k in ks}
