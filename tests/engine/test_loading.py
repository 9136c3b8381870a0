"""Loader threads over the frame cache give the batches worker processes give, and training does not notice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import CachedFrames, cache_video
from clipcop.clips.sources import DecodedVideos, StoredFrames
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.loading import ThreadLoader, make_loader
from clipcop.engine.sampler import EpochSampler
from clipcop.workflows.cache import cache_frames
from clipcop.workflows.pretrain import pretrain
from tests.conftest import write_moving_video

GEOMETRY = ClipGeometry(resize=(32, 44), crop=24)
SPEC = TupleSpec(clip_len=4, interval=2, tuple_len=3)


def _dataset(tmp_path: Path, count: int, *, cached: int) -> VCOPTupleDataset:
    videos = [VideoRef(write_moving_video(tmp_path / f"v{i}.avi", 30 + i, seed=i), 30 + i, i) for i in range(count)]
    for video in videos[:cached]:
        cache_video(tmp_path / "cache", video.path, video.num_frames, GEOMETRY.resize, backend="pyav")
    return VCOPTupleDataset(
        videos,
        SPEC,
        GEOMETRY,
        train=True,
        seed=5,
        source=StoredFrames(CachedFrames(tmp_path / "cache"), DecodedVideos("pyav")),
    )


def test_threads_serve_a_fully_cached_dataset_with_the_same_batches(tmp_path: Path) -> None:
    data = _dataset(tmp_path, 7, cached=7)
    runtime = resolve_runtime("cpu")
    sampler = EpochSampler(len(data), shuffle=True, seed=5)
    loader = make_loader(data, sampler, batch_size=3, workers=2, runtime=runtime)
    assert isinstance(loader, ThreadLoader) and len(loader) == 3
    forced = make_loader(data, sampler, batch_size=3, workers=2, runtime=runtime, threads=False)
    assert isinstance(forced, DataLoader)
    reference = DataLoader(data, batch_size=3, sampler=sampler, num_workers=0)
    for epoch in (1, 2):
        sampler.set_epoch(epoch)
        ours, theirs = list(loader), list(reference)
        assert [len(b["clips"]) for b in ours] == [3, 3, 1]
        for a, b in zip(ours, theirs, strict=True):
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_decoding_keeps_worker_processes(tmp_path: Path) -> None:
    data = _dataset(tmp_path, 3, cached=2)  # one video would need the decoder
    sampler = EpochSampler(len(data), shuffle=False)
    loader = make_loader(data, sampler, batch_size=2, workers=2, runtime=resolve_runtime("cpu"))
    assert isinstance(loader, DataLoader)
    assert not isinstance(
        make_loader(data, sampler, batch_size=2, workers=0, runtime=resolve_runtime("cpu")), ThreadLoader
    )


class _Failing(Dataset[dict[str, torch.Tensor]]):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        if key[1] == 4:
            raise RuntimeError("item 4 is broken")
        return {"x": torch.tensor(key[1])}


def test_an_item_error_surfaces_at_its_batch_and_threads_end_on_break() -> None:
    sampler = EpochSampler(6, shuffle=False)
    loader = ThreadLoader(_Failing(), sampler, batch_size=2, threads=2)
    batches = iter(loader)
    assert [next(batches)["x"].tolist(), next(batches)["x"].tolist()] == [[0, 1], [2, 3]]
    with pytest.raises(RuntimeError, match="item 4 is broken"):
        next(batches)
    for _ in ThreadLoader(_Failing(), sampler, batch_size=2, threads=2):
        break
    assert not [t for t in threading.enumerate() if t.name.startswith("clipcop-load")]


def test_training_is_the_same_with_threads_processes_or_in_process_decoding(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same weights whatever the loader: no loader may move the global RNG that dropout draws from."""
    from clipcop.engine import fit

    made: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        loader = make_loader(*args, **kwargs)
        made.append(type(loader).__name__)
        return loader

    monkeypatch.setattr(fit, "make_loader", spy)
    cache_frames(tiny_synth, resize=(24, 32), out=tmp_path / "frames", workers=1)
    common = {"data": str(tiny_synth), "arch": "r3d", "width": 4, "clip_len": 4, "interval": 2, "crop": 16}
    common |= {"resize": (24, 32), "epochs": 2, "batch_size": 4, "optimizer": "adam", "seed": 3}
    runs = {
        "threads": {"workers": 2, "frame_cache": str(tmp_path / "frames")},
        "processes": {"workers": 2, "frame_cache": "off"},
        "in_process": {"workers": 0, "frame_cache": "off"},
    }
    weights = {}
    for name, options in runs.items():
        made.clear()
        result = pretrain(**common, **options, out=str(tmp_path / name))  # type: ignore[arg-type]
        assert made == ["ThreadLoader" if name == "threads" else "DataLoader"], name  # the training loader
        weights[name] = load_checkpoint(result.run_dir / "last.safetensors").tensors
    reference = weights.pop("in_process")
    for name, other in weights.items():
        assert all(torch.equal(other[k], reference[k]) for k in reference), name
