"""Where to cut clips: pure, seeded functions of (frame count, spec, generator) -> frame indices."""

from clipcop.sampling.clips import clip_indices, evenly_spaced_starts
from clipcop.sampling.permutations import order_of, orders, permutation_of
from clipcop.sampling.tuples import TupleSample, sample_tuple

__all__ = [
    "TupleSample",
    "clip_indices",
    "evenly_spaced_starts",
    "order_of",
    "orders",
    "permutation_of",
    "sample_tuple",
]
