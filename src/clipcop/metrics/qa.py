"""Video QA accuracy per question type, in the layout of the paper's Table VI (Sec. IV-D).

ActivityNet-QA types: 0 motion, 1 spatial relation, 2 temporal relation, and the "Free" answer types
3 yes/no, 4 color, 5 object, 6 location, 7 number, 8 other. Accuracy is exact match. "Free" is computed
over every question of types 3..8 (the official script divides by a slice of a dict of per-type counts
that keeps the order in which types first appear in the answer file, not types 3..8, so its Free figure
is wrong on Python 3.7+ where dicts keep insertion order). A question whose true answer is outside the
answer vocabulary (the "unknown" class) always counts as wrong, whatever was predicted.

>>> acc = qa_accuracy(np.array([0, 3, 3]), np.array([True, True, False]))
>>> acc.accuracy(0), acc.free, acc.overall
(1.0, 0.5, 0.6666666666666666)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

NUM_TYPES = 9
TYPE_KEYS = (
    "motion",
    "spatial_relation",
    "temporal_relation",
    "yes_no",
    "color",
    "object",
    "location",
    "number",
    "other",
)
"""Machine names of types 0..8 (JSON keys)."""
TYPE_COLUMNS = ("Motion", "Spat. Rel.", "Temp. Rel.", "Y/N", "Color", "Obj.", "Loc.", "Num.", "Other")
"""Table VI column headers of types 0..8."""
FREE_TYPES = (3, 4, 5, 6, 7, 8)


@dataclass(frozen=True)
class QAAccuracy:
    """Correct and total question counts per type ``(9,)``, and the summaries Table VI reports."""

    correct: np.ndarray
    total: np.ndarray

    def accuracy(self, qtype: int) -> float:
        """Exact-match accuracy of one type (NaN when it has no questions)."""
        return _ratio(int(self.correct[qtype]), int(self.total[qtype]))

    @property
    def free(self) -> float:
        """Accuracy over all questions of the free types 3..8 together."""
        free = list(FREE_TYPES)
        return _ratio(int(self.correct[free].sum()), int(self.total[free].sum()))

    @property
    def overall(self) -> float:
        """Accuracy over every question ("All")."""
        return _ratio(int(self.correct.sum()), int(self.total.sum()))

    @property
    def questions(self) -> int:
        """How many questions were scored."""
        return int(self.total.sum())

    def row(self) -> dict[str, float]:
        """Table VI in order: motion .. other, then ``free`` and ``all`` (fractions, NaN for empty types)."""
        values = {key: self.accuracy(t) for t, key in enumerate(TYPE_KEYS)}
        return {**values, "free": self.free, "all": self.overall}

    def counts(self) -> dict[str, int]:
        """Questions per type, plus ``free`` and ``all``."""
        values = {key: int(self.total[t]) for t, key in enumerate(TYPE_KEYS)}
        return {**values, "free": int(self.total[list(FREE_TYPES)].sum()), "all": self.questions}


def _ratio(correct: int, total: int) -> float:
    return correct / total if total else float("nan")


def qa_accuracy(types: np.ndarray, correct: np.ndarray) -> QAAccuracy:
    """Per-type accuracy from each question's type ``(Q,)`` in 0..8 and whether it was answered right ``(Q,)``."""
    types = np.asarray(types, dtype=np.int64)
    correct = np.asarray(correct, dtype=bool)
    if types.shape != correct.shape:
        raise ValueError(f"types {types.shape} and correct {correct.shape} differ in shape")
    if types.size and (types.min() < 0 or types.max() >= NUM_TYPES):
        raise ValueError(f"question types must be 0..{NUM_TYPES - 1}")
    total = np.bincount(types, minlength=NUM_TYPES)
    hits = np.bincount(types[correct], minlength=NUM_TYPES)
    return QAAccuracy(hits.astype(np.int64), total.astype(np.int64))


def answers_correct(predicted: np.ndarray, truth: np.ndarray, unknown: int = 0) -> np.ndarray:
    """Exact match of answer ids ``(Q,)``; a true answer equal to ``unknown`` is always wrong."""
    predicted = np.asarray(predicted)
    truth = np.asarray(truth)
    return cast(np.ndarray, (predicted == truth) & (truth != unknown))


__all__ = [
    "FREE_TYPES",
    "NUM_TYPES",
    "TYPE_COLUMNS",
    "TYPE_KEYS",
    "QAAccuracy",
    "answers_correct",
    "qa_accuracy",
]
