"""VCOP tuple sampling (Sec. III-A): ``tl`` clips of ``cl`` frames, ``it`` apart, then shuffled.

The start is uniform over every position where the whole span fits; the shuffle is uniform over all
``tl!`` permutations, so every order class is equally likely. Given a seeded generator the result is
fixed, which makes validation/test tuples deterministic per sample index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipcop.config import TupleSpec
from clipcop.errors import DataError
from clipcop.sampling.permutations import order_of


@dataclass(frozen=True)
class TupleSample:
    """Where to cut one tuple.

    ``starts[k]`` is the first frame of chronological clip ``k``; ``permutation[p]`` is the
    chronological clip shown at shuffled position ``p``; ``target`` is the order class id.
    """

    starts: tuple[int, ...]
    permutation: tuple[int, ...]
    target: int
    clip_len: int

    def shuffled_indices(self) -> np.ndarray:
        """Frame indices ``(tl, cl)`` in shuffled order: row ``p`` is clip ``permutation[p]``."""
        offsets = np.arange(self.clip_len)
        return np.stack([self.starts[c] + offsets for c in self.permutation])


def sample_tuple(num_frames: int, spec: TupleSpec, rng: np.random.Generator) -> TupleSample:
    """Cut one shuffled tuple from a video of ``num_frames`` frames.

    Raises :class:`DataError` when the video is shorter than ``spec.span`` (such videos are not
    eligible; datasets filter them out and report them beforehand).
    """
    if num_frames < spec.span:
        raise DataError(f"video of {num_frames} frames is shorter than the tuple span {spec.span}")
    first = int(rng.integers(0, num_frames - spec.span + 1))
    step = spec.clip_len + spec.interval
    starts = tuple(first + k * step for k in range(spec.tuple_len))
    permutation = tuple(int(p) for p in rng.permutation(spec.tuple_len))
    return TupleSample(starts, permutation, order_of(permutation), spec.clip_len)
