"""VCOP tuple sampling (Sec. III-A): span, gaps, uniform starts and orders, targets that match."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from clipcop.config import TupleSpec
from clipcop.errors import DataError, UsageError
from clipcop.sampling import evenly_spaced_starts, order_of, orders, permutation_of, sample_tuple


@pytest.mark.parametrize("tl", [2, 3, 4, 5])
def test_orders_are_all_permutations_and_ids_round_trip(tl: int) -> None:
    perms = orders(tl)
    assert len(perms) == math.factorial(tl) == len(set(perms))
    for i, perm in enumerate(perms):
        assert order_of(perm) == i and permutation_of(i, tl) == perm


@pytest.mark.parametrize(("cl", "it", "tl"), [(16, 8, 3), (8, 4, 4), (4, 0, 5), (16, 16, 2)])
def test_tuple_geometry_and_target(cl: int, it: int, tl: int) -> None:
    spec = TupleSpec(clip_len=cl, interval=it, tuple_len=tl)
    assert spec.span == cl * tl + it * (tl - 1)
    rng = np.random.default_rng(0)
    for frames in (spec.span, spec.span + 1, 200):
        sample = sample_tuple(frames, spec, rng)
        gaps = np.diff(sample.starts)
        assert (gaps == cl + it).all()
        assert sample.starts[0] >= 0 and sample.starts[-1] + cl <= frames
        shuffled = sample.shuffled_indices()
        assert shuffled.shape == (tl, cl)
        # Row p holds chronological clip permutation[p]; sorting rows by first frame recovers time order.
        chronological = np.argsort(shuffled[:, 0])
        assert tuple(np.argsort(chronological)) == sample.permutation
        assert permutation_of(sample.target, tl) == sample.permutation
        assert (np.diff(shuffled, axis=1) == 1).all()


def test_start_and_order_are_uniform() -> None:
    spec = TupleSpec(clip_len=4, interval=2, tuple_len=3)
    rng = np.random.default_rng(1)
    frames = spec.span + 9  # 10 possible starts
    samples = [sample_tuple(frames, spec, rng) for _ in range(6000)]
    starts = Counter(s.starts[0] for s in samples)
    targets = Counter(s.target for s in samples)
    assert sorted(starts) == list(range(10))
    assert max(starts.values()) / min(starts.values()) < 1.3
    assert sorted(targets) == list(range(6))
    assert max(targets.values()) / min(targets.values()) < 1.2


def test_same_generator_seed_same_tuple() -> None:
    spec = TupleSpec()
    a = sample_tuple(300, spec, np.random.default_rng([5, 7]))
    b = sample_tuple(300, spec, np.random.default_rng([5, 7]))
    assert a == b


def test_too_short_videos_and_bad_specs() -> None:
    spec = TupleSpec(clip_len=16, interval=8, tuple_len=3)
    with pytest.raises(DataError, match="shorter than the tuple span 64"):
        sample_tuple(63, spec, np.random.default_rng(0))
    for tl in (1, 6):
        with pytest.raises(UsageError, match=f"tl={tl}"):
            TupleSpec(tuple_len=tl)
    with pytest.raises(UsageError):
        TupleSpec(clip_len=0)


def test_evenly_spaced_clips_cover_the_video() -> None:
    starts = evenly_spaced_starts(100, 16, 10)
    assert starts[0] == 0 and starts[-1] == 84 and len(starts) == 10
    assert (np.diff(starts) >= 9).all()
    assert evenly_spaced_starts(10, 16, 3).tolist() == [0, 0, 0]
