"""The frame cache serves exactly the pixels the decoder gives, reads only crop windows, and reports bad entries."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from clipcop.clips.datasets import EvalClipsDataset, TrainClipDataset, VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import CachedFrames, cache_entry, cache_video
from clipcop.clips.sources import DecodedVideos, FrameSource, StoredFrames
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.sampler import EpochSampler
from tests.conftest import write_moving_video

GEOMETRY = ClipGeometry(resize=(32, 44), crop=24)
SPEC = TupleSpec(clip_len=4, interval=2, tuple_len=3)


def _cached_videos(tmp_path: Path, lengths: list[int]) -> tuple[list[VideoRef], CachedFrames]:
    videos = [VideoRef(write_moving_video(tmp_path / f"v{i}.avi", n, seed=i), n, i) for i, n in enumerate(lengths)]
    root = tmp_path / "cache"
    for video in videos:
        assert cache_video(root, video.path, video.num_frames, GEOMETRY.resize, backend="pyav") > 0
    return videos, CachedFrames(root)


def _source(cache: CachedFrames | None) -> FrameSource:
    """The decoder alone, or the cache in front of it."""
    return DecodedVideos("pyav") if cache is None else StoredFrames(cache, DecodedVideos("pyav"))


def test_cached_items_equal_decoded_items(tmp_path: Path) -> None:
    videos, cache = _cached_videos(tmp_path, [30, 37])
    pairs = [
        (VCOPTupleDataset(videos, SPEC, GEOMETRY, train=train, seed=3, source=_source(frames)), keys)
        for train in (True, False)
        for frames, keys in ((None, [(1, 0), (2, 1)]), (cache, [(1, 0), (2, 1)]))
    ]
    for (decoded, keys), (cached, _) in zip(pairs[::2], pairs[1::2], strict=True):
        for key in keys:
            assert torch.equal(decoded[key]["clips"], cached[key]["clips"])
    for make in (
        lambda f: EvalClipsDataset(videos, clip_len=8, num_clips=3, geometry=GEOMETRY, source=_source(f)),
        lambda f: TrainClipDataset(videos, clip_len=8, geometry=GEOMETRY, seed=1, source=_source(f)),
    ):
        assert torch.equal(make(None)[(4, 1)]["clips"], make(cache)[(4, 1)]["clips"])


def test_a_missing_entry_is_decoded_and_workers_open_their_own_maps(tmp_path: Path) -> None:
    videos, cache = _cached_videos(tmp_path, [30, 31, 32])
    extra = VideoRef(write_moving_video(tmp_path / "new.avi", 33, seed=9), 33, 3)  # not in the cache
    assert cache.open(extra.path, GEOMETRY.resize) is None
    assert cache.open(videos[0].path, GEOMETRY.resize) is not None
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.root == cache.root and not clone._open
    data = VCOPTupleDataset(
        [*videos, extra], SPEC, GEOMETRY, train=True, seed=2, source=StoredFrames(cache, DecodedVideos("pyav"))
    )
    plain = VCOPTupleDataset([*videos, extra], SPEC, GEOMETRY, train=True, seed=2, source=DecodedVideos("pyav"))
    sampler = EpochSampler(4, shuffle=True, seed=2)
    sampler.set_epoch(1)
    spawned = DataLoader(data, batch_size=2, sampler=sampler, num_workers=2, multiprocessing_context="spawn")
    batches = [b["clips"] for b in spawned]  # spawned workers receive the cache pickled
    expected = [b["clips"] for b in DataLoader(plain, batch_size=2, sampler=sampler, num_workers=0)]
    assert all(torch.equal(a, b) for a, b in zip(batches, expected, strict=True))


def test_a_truncated_entry_counts_as_a_failed_read(tmp_path: Path) -> None:
    videos, cache = _cached_videos(tmp_path, [30, 30])
    entry = cache_entry(cache.root, videos[0].path, GEOMETRY.resize)
    np.save(entry, np.load(entry)[:5])  # a cache that lost frames: frames past 5 do not exist
    data = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=True, seed=0, source=StoredFrames(cache, DecodedVideos()))
    item = data[(0, 0)]
    assert int(item["failed_reads"]) == 1 and int(item["index"]) == 1
