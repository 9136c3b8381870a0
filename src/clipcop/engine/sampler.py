"""An epoch sampler that yields ``(epoch, index)`` keys, shards across ranks and can skip ahead.

Items are pure functions of their key (see :mod:`clipcop.clips.datasets`), so the order below is all the
randomness of the data path: a permutation seeded by ``(seed, epoch)``, padded to a multiple of the
world size like ``DistributedSampler`` and dealt out by rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class EpochSampler(Sampler[tuple[int, int]]):
    """Keys ``(epoch, index)`` over ``indices`` for this rank; call :meth:`set_epoch` each epoch."""

    def __init__(
        self,
        indices: Sequence[int] | int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.indices = np.arange(indices) if isinstance(indices, int) else np.asarray(indices, dtype=np.int64)
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.skip = 0
        self.per_rank = math.ceil(len(self.indices) / world_size) if len(self.indices) else 0

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        """Use the order of ``epoch``, starting after its first ``skip`` keys of this rank."""
        self.epoch = epoch
        self.skip = skip

    def order(self) -> np.ndarray:
        """This rank's indices for the current epoch (before skipping)."""
        order = self.indices
        if self.shuffle:
            order = order[np.random.default_rng([self.seed, self.epoch]).permutation(len(order))]
        total = self.per_rank * self.world_size
        if total > len(order):  # repeat from the start as often as needed: every rank gets per_rank keys
            order = np.resize(order, total)
        return order[self.rank : total : self.world_size]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in self.order()[self.skip :]:
            yield (self.epoch, int(index))

    def __len__(self) -> int:
        return max(self.per_rank - self.skip, 0)
