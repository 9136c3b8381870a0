"""Permutation <-> order class id, in one place (Sec. III-A: targets are all ``tl!`` permutations).

Orders are the permutations of ``range(tl)`` in lexicographic order; the class id of a shuffle is the
position of its permutation in that list. A permutation ``p`` means: shuffled position ``k`` holds the
chronological clip ``p[k]``.
"""

from __future__ import annotations

import itertools
from functools import cache


@cache
def orders(tuple_len: int) -> tuple[tuple[int, ...], ...]:
    """All permutations of ``range(tuple_len)``, lexicographically; index = order class id."""
    return tuple(itertools.permutations(range(tuple_len)))


@cache
def _index(tuple_len: int) -> dict[tuple[int, ...], int]:
    return {perm: i for i, perm in enumerate(orders(tuple_len))}


def order_of(permutation: tuple[int, ...]) -> int:
    """The class id of ``permutation``.

    >>> order_of((0, 1, 2)), order_of((1, 2, 0))
    (0, 3)
    """
    return _index(len(permutation))[tuple(permutation)]


def permutation_of(order: int, tuple_len: int) -> tuple[int, ...]:
    """The permutation with class id ``order``."""
    return orders(tuple_len)[order]
