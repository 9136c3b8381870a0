"""Checkpoints: safetensors with metadata, atomic, and clear errors for pickles and damaged files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from clipcop.engine.checkpoint import load_checkpoint, read_meta, save_checkpoint
from clipcop.engine.state import load_state, save_state
from clipcop.errors import CheckpointError
from clipcop.features.store import FeatureWriter


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    tensors = {"backbone.w": torch.randn(3, 4), "head.b": torch.arange(5)}
    path = save_checkpoint(
        tmp_path / "c.safetensors", tensors, {"kind": "vcop", "arch": "r3d", "metrics": {"val_loss": 1.5}}
    )
    ckpt = load_checkpoint(path, kind="vcop")
    assert torch.equal(ckpt.tensors["backbone.w"], tensors["backbone.w"])
    assert ckpt.section("head") == {"b": ckpt.tensors["head.b"]}
    assert ckpt.meta["arch"] == "r3d" and ckpt.meta["metrics"]["val_loss"] == 1.5 and "version" in ckpt.meta
    assert not list(tmp_path.glob(".*tmp"))


def test_pickles_are_refused_without_unpickling(tmp_path: Path) -> None:
    pt = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pt)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(pt)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        read_meta(raw)


def test_truncated_wrong_kind_and_foreign_files(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.safetensors", {"w": torch.randn(100, 100)}, {"kind": "vcop"})
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(cut)
    with pytest.raises(CheckpointError, match="not 'finetune'"):
        load_checkpoint(path, kind="finetune")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a clipcop checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="is a folder, not a file"):
        load_checkpoint(tmp_path)
    save_file({"w": torch.zeros(1)}, str(tmp_path / "last.state.e00002.safetensors"))
    with pytest.raises(CheckpointError, match=r"training state .* for --resume, not a checkpoint"):
        read_meta(tmp_path / "last.state.e00002.safetensors")
    features = FeatureWriter(tmp_path / "f.safetensors", rows=2, dim=3, videos=1, meta={"video_ids": ["v"]})
    with pytest.raises(CheckpointError, match=r"is a feature file \(written by clipcop extract\), not a model"):
        load_checkpoint(features.finish({}))


def test_training_state_round_trip_restores_optimizer_and_rng(tmp_path: Path) -> None:
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    save_state(tmp_path / "s.safetensors", optimizer=optimizer, scheduler=None, counters={"epoch": 3})
    expected = torch.rand(3)
    fresh = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.0)
    torch.rand(10)
    counters = load_state(tmp_path / "s.safetensors", optimizer=fresh, scheduler=None)
    assert counters == {"epoch": 3}
    assert torch.equal(torch.rand(3), expected)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0]["momentum"] == 0.9
    key = next(iter(optimizer.state))
    assert torch.equal(fresh.state[key]["momentum_buffer"], optimizer.state[key]["momentum_buffer"])


def test_the_gpu_generator_saved_is_this_process_s_and_restores_into_its_own_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under torchrun rank 0 saves and every rank restores: the state must go to each process's current
    GPU (LOCAL_RANK), not to GPU r as rank 0's process saw it (seeded there, never advanced)."""
    advanced = torch.arange(16, dtype=torch.uint8)
    restored: list[torch.Tensor] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": advanced)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": restored.append(state))
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    save_state(tmp_path / "s.safetensors", optimizer=optimizer, scheduler=None, counters={})
    load_state(tmp_path / "s.safetensors", optimizer=optimizer, scheduler=None)
    assert len(restored) == 1 and torch.equal(restored[0], advanced)


def test_a_state_that_does_not_fit_the_optimiser_is_one_clear_error(tmp_path: Path) -> None:
    one_group = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    save_state(tmp_path / "s.safetensors", optimizer=one_group, scheduler=None, counters={})
    other = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.ones(2))]}, {"params": [torch.nn.Parameter(torch.ones(3))]}], lr=0.1
    )
    with pytest.raises(CheckpointError, match="does not fit this run"):
        load_state(tmp_path / "s.safetensors", optimizer=other, scheduler=None)
