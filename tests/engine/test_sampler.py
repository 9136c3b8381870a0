"""The epoch sampler: every rank gets as many keys as the others (DDP steps in lockstep), the shards
cover the data, an epoch's order is fixed by its seed, and a resumed epoch skips what was done."""

from __future__ import annotations

import pytest

from clipcop.engine.sampler import EpochSampler


@pytest.mark.parametrize(("items", "world"), [(10, 1), (10, 3), (7, 2), (3, 8), (1, 4)])
def test_ranks_get_equal_shards_that_cover_every_item(items: int, world: int) -> None:
    shards = []
    for rank in range(world):
        sampler = EpochSampler(items, shuffle=True, seed=5, rank=rank, world_size=world)
        sampler.set_epoch(2)
        shards.append([index for _, index in sampler])
        assert len(sampler) == len(shards[-1])
    assert len({len(shard) for shard in shards}) == 1  # unequal shards would hang a DDP step
    assert set().union(*shards) == set(range(items))
    assert sum(map(len, shards)) == -(-items // world) * world  # padding repeats as few items as it must


def test_an_epoch_order_is_fixed_by_seed_and_epoch_and_skipping_resumes_it() -> None:
    def keys(epoch: int, *, seed: int = 0, skip: int = 0) -> list[tuple[int, int]]:
        sampler = EpochSampler(12, shuffle=True, seed=seed)
        sampler.set_epoch(epoch, skip=skip)
        return list(sampler)

    assert keys(3) == keys(3) and keys(3) != keys(4) and keys(3) != keys(3, seed=1)
    assert keys(3, skip=5) == keys(3)[5:]
    assert all(epoch == 3 for epoch, _ in keys(3))
    ordered = EpochSampler([4, 2, 9], shuffle=False)
    assert [index for _, index in ordered] == [4, 2, 9]
