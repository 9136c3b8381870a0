"""Questions and answers as ids: the tokenizer, the word and answer vocabularies, GloVe vectors (Sec. IV-D).

ActivityNet-QA questions are lower-case English without punctuation, so a token is a lower-case run of
letters and digits (inner ``-`` and ``'`` kept: ``t-shirt``, ``what's``). The word vocabulary comes from
the training questions; the answer vocabulary is the K most frequent training answers (the E-SA setup),
with id 0 the "unknown" class for every other answer. Word vectors come from a GloVe text file
(``word v1 .. vD`` per line, as in ``glove.6B.300d.txt``); words it lacks get the mean of all its vectors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clipcop.errors import DataError

PAD, UNK = "<pad>", "<unk>"
UNKNOWN_ANSWER = "<unk>"
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of a question (``"Is the man's T-shirt red?"`` -> ``is the man's t-shirt red``)."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """Question words by id: 0 is padding, 1 unknown words, then the training words by frequency."""

    words: tuple[str, ...]
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.words[:2] != (PAD, UNK):
            raise ValueError(f"a vocabulary starts with {PAD!r} and {UNK!r}")
        object.__setattr__(self, "_ids", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def build(cls, questions: Iterable[str], *, min_count: int = 1) -> Vocabulary:
        """Words seen at least ``min_count`` times in ``questions``, most frequent first (ties by spelling)."""
        counts = Counter(token for q in questions for token in tokenize(q))
        kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls((PAD, UNK, *kept))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def encode(self, question: str) -> list[int]:
        """Token ids of ``question`` (at least one: an empty question is one unknown word)."""
        ids = [self._ids.get(token, 1) for token in tokenize(question)]
        return ids or [1]

    def extended(self, words: Sequence[str]) -> Vocabulary:
        """This vocabulary with ``words`` appended (those not already in it)."""
        return Vocabulary((*self.words, *(w for w in dict.fromkeys(words) if w not in self._ids)))


@dataclass(frozen=True)
class AnswerVocabulary:
    """Answer classes: id 0 is "unknown" (always wrong), then the K most frequent training answers."""

    answers: tuple[str, ...]
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.answers or self.answers[0] != UNKNOWN_ANSWER:
            raise ValueError(f"answer class 0 is {UNKNOWN_ANSWER!r}")
        object.__setattr__(self, "_ids", {a: i for i, a in enumerate(self.answers) if i})

    @classmethod
    def top(cls, answers: Iterable[str], k: int = 1000) -> AnswerVocabulary:
        """The ``k`` most frequent of ``answers`` (ties by spelling, so the choice is deterministic)."""
        counts = Counter(answers)
        kept = sorted(counts, key=lambda a: (-counts[a], a))[:k]
        return cls((UNKNOWN_ANSWER, *kept))

    def __len__(self) -> int:
        return len(self.answers)

    def id(self, answer: str | None) -> int:
        """The class of ``answer`` (0 when it is not one of the K answers)."""
        return self._ids.get(answer, 0) if answer is not None else 0


@dataclass(frozen=True)
class GloveVectors:
    """Vectors for a word list ``(words, D)``, which words were found, and what the file held."""

    matrix: np.ndarray
    found: np.ndarray
    dim: int
    file_words: int
    malformed: int


def _header(parts: list[str]) -> int | None:
    """The dimension given by a word2vec-style ``COUNT DIM`` first line, else None."""
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[1])
    return None


def _vector(parts: list[str], dim: int) -> np.ndarray | None:
    """The ``dim`` numbers that end a line's fields as a vector, or None when the line does not parse or
    holds NaN or infinity (one such vector would make the mean, every unknown word's vector, NaN)."""
    try:
        vector = np.asarray(parts[-dim:], dtype=np.float64) if len(parts) > dim > 0 else None
    except ValueError:
        return None
    return vector if vector is not None and bool(np.isfinite(vector).all()) else None


def load_glove(path: str | Path, words: Sequence[str]) -> GloveVectors:
    """GloVe vectors for ``words`` read from a text file; missing words get the mean of all vectors.

    The padding word (``<pad>``) gets zeros. Exact matches win over case-insensitive ones (for cased files
    such as glove.840B). Lines that do not parse are counted and skipped.

    >>> vectors = load_glove("glove.6B.300d.txt", vocab.words)  # doctest: +SKIP
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"GloVe file {path} does not exist")
    wanted = {w: i for i, w in enumerate(words)}
    lower = {w.lower(): i for w, i in reversed(wanted.items())}
    rows: dict[int, np.ndarray] = {}
    exact: set[int] = set()
    total: np.ndarray | None = None
    count = malformed = 0
    dim = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n\r ").split(" ")
            if number == 0 and (header := _header(parts)) is not None:
                dim = header
                continue
            dim = dim or len(parts) - 1
            vector = _vector(parts, dim)
            if vector is None:
                malformed += 1
                continue
            word = " ".join(parts[:-dim])
            total = vector if total is None else total + vector
            count += 1
            if word in wanted:
                rows[wanted[word]] = vector
                exact.add(wanted[word])
            elif word.lower() in lower and lower[word.lower()] not in exact:
                rows.setdefault(lower[word.lower()], vector)
    if total is None:
        raise DataError(f"{path} holds no word vectors (expected lines 'word v1 v2 ... vD')")
    mean = total / count
    matrix = np.tile(mean, (len(words), 1))
    found = np.zeros(len(words), dtype=bool)
    for index, vector in rows.items():
        matrix[index] = vector
        found[index] = True
    if PAD in wanted:
        matrix[wanted[PAD]] = 0.0
    return GloveVectors(matrix.astype(np.float32), found, dim, count, malformed)


__all__ = [
    "PAD",
    "UNK",
    "UNKNOWN_ANSWER",
    "AnswerVocabulary",
    "GloveVectors",
    "Vocabulary",
    "load_glove",
    "tokenize",
]
