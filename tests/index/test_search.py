"""FAISS search and top-k accuracy agree with a brute-force numpy computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipcop.errors import FeatureFileError
from clipcop.index.faiss_index import IndexSpec, build_index, l2_normalize, load_index, save_index, search
from clipcop.metrics.retrieval import topk_accuracy


def brute_force(xb: np.ndarray, xq: np.ndarray, k: int) -> np.ndarray:
    sim = l2_normalize(xq) @ l2_normalize(xb).T
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def brute_force_accuracy(order: np.ndarray, gl: np.ndarray, ql: np.ndarray, k: int) -> float:
    return float(np.mean([ql[i] in gl[order[i, :k]] for i in range(len(ql))]))


@pytest.mark.parametrize("dim", [8, 512, 1152])
def test_exact_search_matches_brute_force(dim: int) -> None:
    rng = np.random.default_rng(dim)
    xb, xq = rng.normal(size=(700, dim)), rng.normal(size=(130, dim))
    gl, ql = rng.integers(0, 7, 700), rng.integers(0, 7, 130)
    sims, found = search(build_index(l2_normalize(xb)), l2_normalize(xq), 50)
    expected = brute_force(xb, xq, 50)
    assert np.array_equal(found, expected)
    assert np.all(np.diff(sims, axis=1) <= 1e-6)
    acc = topk_accuracy(found, gl, ql, (1, 5, 10, 20, 50))
    for k, value in acc.items():
        assert value == pytest.approx(brute_force_accuracy(expected, gl, ql, k))


def test_a_gallery_smaller_than_k_never_turns_a_miss_into_a_hit() -> None:
    rng = np.random.default_rng(3)
    xb, xq = rng.normal(size=(3, 8)), rng.normal(size=(4, 8))
    gl, ql = np.array([0, 0, 1]), np.array([2, 2, 0, 1])  # class 2 is not in the gallery at all
    _, found = search(build_index(l2_normalize(xb)), l2_normalize(xq), 50)
    assert found.shape == (4, 3)
    acc = topk_accuracy(found, gl, ql, (1, 5, 50))
    assert acc[5] == acc[50] == 0.5  # the two class-2 queries miss at every k
    assert acc[1] == pytest.approx(brute_force_accuracy(brute_force(xb, xq, 3), gl, ql, 1))


def test_approximate_indexes_find_most_true_neighbours() -> None:
    rng = np.random.default_rng(1)
    xb, xq = l2_normalize(rng.normal(size=(4000, 32))), l2_normalize(rng.normal(size=(50, 32)))
    truth = brute_force(xb, xq, 10)
    for spec in (IndexSpec(kind="ivf", nprobe=64), IndexSpec(kind="hnsw")):
        _, found = search(build_index(xb, spec), xq, 10)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
        assert recall > 0.8, spec


def test_save_load_and_dimension_mismatch(tmp_path: Path) -> None:
    xb = l2_normalize(np.random.default_rng(0).normal(size=(20, 6)))
    path = save_index(build_index(xb), tmp_path / "g.faiss", {"level": "video"})
    index, meta = load_index(path)
    assert index.ntotal == 20 and meta["level"] == "video"
    with pytest.raises(FeatureFileError, match="6"):
        search(index, np.zeros((2, 9), dtype=np.float32), 5)
