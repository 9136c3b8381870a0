"""Per-type QA accuracy against a brute-force reference; Free over types 3..8; unknown answers always wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clipcop.metrics.qa import FREE_TYPES, TYPE_KEYS, answers_correct, qa_accuracy


def _reference(types: list[int], predicted: list[int], truth: list[int]) -> dict[str, float]:
    """Loop over questions: exact match, and the unknown class (id 0) is never right."""
    hits: dict[str, list[bool]] = {key: [] for key in (*TYPE_KEYS, "free", "all")}
    for t, p, g in zip(types, predicted, truth, strict=True):
        ok = p == g and g != 0
        hits[TYPE_KEYS[t]].append(ok)
        hits["all"].append(ok)
        if t >= 3:
            hits["free"].append(ok)
    return {k: (sum(v) / len(v) if v else math.nan) for k, v in hits.items()}


@pytest.mark.parametrize("seed", range(5))
def test_per_type_accuracy_matches_a_brute_force_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 300))
    types = rng.integers(0, 9, size)
    if seed == 0:
        types[types == 2] = 5  # a type without questions reads NaN
    truth = rng.integers(0, 6, size)
    predicted = np.where(rng.random(size) < 0.5, truth, rng.integers(0, 6, size))
    row = qa_accuracy(types, answers_correct(predicted, truth)).row()
    expected = _reference(types.tolist(), predicted.tolist(), truth.tolist())
    assert list(row) == [*TYPE_KEYS, "free", "all"]
    for key, value in expected.items():
        assert (math.isnan(value) and math.isnan(row[key])) or row[key] == pytest.approx(value), key


def test_free_pools_every_question_of_types_3_to_8_not_the_mean_of_type_accuracies() -> None:
    types = np.array([3, 3, 3, 3, 7, 0])
    correct = np.array([True, True, True, True, False, False])
    acc = qa_accuracy(types, correct)
    assert FREE_TYPES == (3, 4, 5, 6, 7, 8)
    assert acc.free == pytest.approx(4 / 5)  # pooled, not (1.0 + 0.0) / 2
    assert acc.overall == pytest.approx(4 / 6)
    assert acc.counts()["free"] == 5 and acc.counts()["all"] == 6


def test_an_unknown_true_answer_is_wrong_even_when_predicted() -> None:
    assert answers_correct(np.array([0, 2, 3]), np.array([0, 2, 1])).tolist() == [False, True, False]


def test_bad_types_are_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.8"):
        qa_accuracy(np.array([9]), np.array([True]))
