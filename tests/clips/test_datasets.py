"""Datasets decode the frames the sampler asked for: checked on videos whose pixels encode the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from clipcop.clips.datasets import EvalClipsDataset, TrainClipDataset, VCOPTupleDataset, VideoRef
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.sampler import EpochSampler
from clipcop.sampling import permutation_of
from tests.conftest import frame_index, write_index_video

GEOMETRY = ClipGeometry(resize=(30, 40), crop=24)


def _videos(tmp_path: Path, lengths: list[int]) -> list[VideoRef]:
    return [VideoRef(write_index_video(tmp_path / f"v{i}.avi", n), n, i) for i, n in enumerate(lengths)]


def _indices(clips: torch.Tensor) -> np.ndarray:
    """``(..., T, H, W, 3)`` uint8 -> frame index per frame ``(..., T)``."""
    return frame_index(clips.float().mean(dim=(-3, -2, -1)).numpy())


def test_vcop_items_hold_the_shuffled_clips_of_the_target(tmp_path: Path) -> None:
    spec = TupleSpec(clip_len=4, interval=3, tuple_len=3)
    data = VCOPTupleDataset(_videos(tmp_path, [30, 45]), spec, GEOMETRY, train=True, seed=0)
    for key in [(1, 0), (1, 1), (2, 0), (3, 1)]:
        item = data[key]
        assert item["clips"].shape == (3, 4, 24, 24, 3) and item["clips"].dtype == torch.uint8
        frames = _indices(item["clips"])  # (tl, cl)
        assert (np.diff(frames, axis=1) == 1).all()
        perm = permutation_of(int(item["target"]), 3)
        chronological = frames[np.argsort(perm)]
        assert (np.diff(chronological[:, 0]) == spec.clip_len + spec.interval).all()
        assert int(item["failed_reads"]) == 0


def test_training_items_change_with_epoch_evaluation_items_do_not(tmp_path: Path) -> None:
    spec = TupleSpec(clip_len=4, interval=2, tuple_len=2)
    videos = _videos(tmp_path, [60])
    train = VCOPTupleDataset(videos, spec, GEOMETRY, train=True, seed=0)
    firsts = {int(_indices(train[(e, 0)]["clips"])[0, 0]) for e in range(8)}
    assert len(firsts) > 1
    assert torch.equal(train[(3, 0)]["clips"], train[(3, 0)]["clips"])
    evaluation = VCOPTupleDataset(videos, spec, GEOMETRY, train=False, seed=0)
    assert torch.equal(evaluation[(1, 0)]["clips"], evaluation[(7, 0)]["clips"])


def test_evaluation_tuples_are_fixed_by_index_whatever_the_seed(tmp_path: Path) -> None:
    spec = TupleSpec(clip_len=4, interval=2, tuple_len=3)
    videos = _videos(tmp_path, [40, 50, 55, 62])
    seed0 = VCOPTupleDataset(videos, spec, GEOMETRY, train=False, seed=0)
    seed1 = VCOPTupleDataset(videos, spec, GEOMETRY, train=False, seed=1)
    for index in range(len(videos)):
        a, b = seed0[index], seed1[index]
        assert torch.equal(a["clips"], b["clips"]) and int(a["target"]) == int(b["target"])
    # training tuples still follow the seed
    train0 = VCOPTupleDataset(videos, spec, GEOMETRY, train=True, seed=0)
    train1 = VCOPTupleDataset(videos, spec, GEOMETRY, train=True, seed=1)
    draws = [
        (_indices(t[(0, i)]["clips"]).tolist(), int(t[(0, i)]["target"])) for t in (train0, train1) for i in range(4)
    ]
    assert draws[:4] != draws[4:]


def test_eval_clips_are_evenly_spaced_and_centre_cropped(tmp_path: Path) -> None:
    data = EvalClipsDataset(_videos(tmp_path, [50, 6]), clip_len=8, num_clips=4, geometry=GEOMETRY)
    item = data[0]
    assert item["clips"].shape == (4, 8, 24, 24, 3)
    assert _indices(item["clips"])[:, 0].tolist() == item["starts"].tolist() == [0, 14, 28, 42]
    short = data[1]  # shorter than a clip: the last frame repeats
    assert _indices(short["clips"])[0].tolist() == [0, 1, 2, 3, 4, 5, 5, 5]


def test_bad_file_in_evaluation_is_flagged_not_replaced(tmp_path: Path) -> None:
    videos = _videos(tmp_path, [20])
    bad = tmp_path / "bad.avi"
    bad.write_text("garbage")
    data = EvalClipsDataset([*videos, VideoRef(bad, 20, 1)], clip_len=4, num_clips=2, geometry=GEOMETRY)
    assert int(data[1]["failed_reads"]) == 1 and int(data[0]["failed_reads"]) == 0


def test_bad_file_in_training_is_replaced_and_counted(tmp_path: Path) -> None:
    videos = _videos(tmp_path, [20])
    bad = tmp_path / "bad.avi"
    bad.write_text("garbage")
    data = TrainClipDataset([VideoRef(bad, 20, 1), *videos], clip_len=4, geometry=GEOMETRY)
    item = data[(0, 0)]
    assert int(item["failed_reads"]) == 1 and int(item["index"]) == 1


def test_dataloader_workers_give_the_same_batches(tmp_path: Path) -> None:
    spec = TupleSpec(clip_len=4, interval=2, tuple_len=3)
    data = VCOPTupleDataset(_videos(tmp_path, [30, 31, 32, 33]), spec, GEOMETRY, train=True, seed=4)
    batches = []
    for workers in (0, 2):
        sampler = EpochSampler(4, shuffle=True, seed=4)
        sampler.set_epoch(2)
        loader = DataLoader(data, batch_size=2, sampler=sampler, num_workers=workers)
        batches.append([b["clips"] for b in loader])
    assert all(torch.equal(a, b) for a, b in zip(*batches, strict=True))
