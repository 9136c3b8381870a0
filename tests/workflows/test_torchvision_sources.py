"""torchvision's video ResNets as model sources: ``--arch mc3_18 --weights FILE|kinetics400`` through
extract (library and CLI), a query against its features, finetune, and a fine-tuned checkpoint read back;
Kinetics weights offline."""

from __future__ import annotations

import json
import math
import shutil
import urllib.error
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import video

from clipcop.backbones.torchvision_video import clipcop_state
from clipcop.backbones.torchvision_weights import kinetics_cache_file
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.features.store import read_features
from clipcop.workflows.extract import ModelSource, extract
from clipcop.workflows.finetune import finetune
from tests.cli.run import one_error_line, run_cli

TINY: dict[str, Any] = {"clip_len": 4, "resize": (24, 32), "crop": 16}
"""Clip geometry small enough for a 11.5M-parameter network on the CPU."""
TINY_FLAGS = ["--cl", 4, "--resize", "24x32", "--crop", 16, "--workers", 0]


@pytest.fixture(scope="module")
def mc3_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One seeded torchvision mc3_18 state dict, saved as .safetensors and as .pth."""
    folder = tmp_path_factory.mktemp("mc3")
    torch.manual_seed(5)
    state = video.mc3_18().state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "mc3.safetensors"))
    torch.save(state, folder / "mc3.pth")
    return {"safetensors": folder / "mc3.safetensors", "pth": folder / "mc3.pth"}


def _no_network(monkeypatch: pytest.MonkeyPatch, torch_home: Path) -> None:
    """An empty TORCH_HOME, and every download refused at once (as on a machine without network)."""

    def refused(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setattr(torch.hub, "urlopen", refused)


def test_extract_cli_with_a_pth_matches_the_library_with_safetensors(
    mc3_weights: dict[str, Path], tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "cli.safetensors"
    result = run_cli(
        capsys, "extract", "--arch", "mc3_18", "--weights", mc3_weights["pth"], "--data", tiny_synth,
        "--subset", "test", "--clips", 1, *TINY_FLAGS, "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["dim"] == 512
    source = ModelSource(arch="mc3_18", weights=str(mc3_weights["safetensors"]), **TINY)
    stats = extract(source=source, data=str(tiny_synth), subset="test", clips=1, workers=0)
    cli, library = read_features(out), read_features(stats.path)
    assert np.array_equal(cli.features, library.features) and cli.video_ids == library.video_ids
    card = cli.model
    assert card is not None and (card.kind, card.arch, card.pixels) == ("torchvision", "mc3_18", "standardised")
    assert card.weights == str(mc3_weights["pth"].resolve())
    # A query video against that gallery is embedded by the same network, rebuilt from the gallery's card.
    query = tiny_synth / "UCF-101" / cli.video_ids[0]
    found = run_cli(capsys, "retrieve", "--gallery", out, "--query", query, "--k", 1, "--json")
    assert found.code == 0, found.err
    nearest = json.loads(found.out)["neighbours"][0]
    assert nearest["video"] == cli.video_ids[0] and nearest["similarity"] == pytest.approx(1.0, abs=1e-4)


def test_finetune_from_a_state_dict_trains_and_its_checkpoint_is_a_normal_source(
    mc3_weights: dict[str, Path], tiny_synth: Path, workdir: Path
) -> None:
    shutil.copy(mc3_weights["safetensors"], workdir / "mc3.safetensors")
    source = ModelSource(arch="mc3_18", weights="mc3.safetensors", **TINY)  # relative to the working folder
    result = finetune(
        source=source, data=str(tiny_synth), epochs=1, steps_per_epoch=1, batch_size=2, val_size=2,
        optimizer="adam", lr=3e-3, test_clips=1, workers=0,
    )  # fmt: skip
    assert result.run_dir == Path("runs/finetune-mc3_18-mc3")
    best = load_checkpoint(result.best_checkpoint, kind="finetune")
    card = best.card
    weights = str((workdir / "mc3.safetensors").resolve())
    assert (card.arch, card.init_kind, card.weights) == ("mc3_18", "torchvision", weights)
    assert dict(card.config or {})["source"]["weights"] == weights  # --config and --resume work from anywhere
    metrics = dict(card.metrics or {})
    assert math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])
    start = clipcop_state(torch.load(mc3_weights["pth"], weights_only=True), "mc3.pth")
    tuned = best.section("backbone")
    assert tuned.keys() == start.keys()
    convs = [k for k in start if k.endswith("conv2.0.weight")]  # each block's second convolution
    assert len(convs) == 8 and all(not torch.equal(tuned[k], start[k]) for k in convs)
    backbone, again, clip_len, _ = ModelSource(checkpoint=str(result.best_checkpoint)).build()
    assert (type(backbone).__name__, again.kind, clip_len) == ("TorchvisionMC318", "finetune", 4)


def test_kinetics400_offline_is_one_line_and_a_cached_file_needs_no_network(
    mc3_weights: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_network(monkeypatch, tmp_path / "torch")
    result = run_cli(capsys, "extract", "--arch", "r3d_18", "--weights", "kinetics400", "--data", tmp_path / "none")
    line = one_error_line(result)
    assert line.startswith("clipcop: error: cannot fetch torchvision's kinetics400 weights for r3d_18 (")
    assert "Connection refused" in line
    assert line.endswith("download them on a machine with network into TORCH_HOME, or pass --weights FILE")
    # Where torchvision keeps its downloads, the file is used as it is.
    cached = kinetics_cache_file("mc3_18")
    assert cached.parent == tmp_path / "torch" / "hub" / "checkpoints" and cached.name.startswith("mc3_18-")
    assert not any(cached.parent.iterdir())  # the failed download left nothing behind
    cached.write_bytes(mc3_weights["pth"].read_bytes())
    source = ModelSource(arch="mc3_18", weights="kinetics400")
    backbone, card, _, _ = source.build()
    assert (card.weights, card.source) == ("kinetics400", "torchvision:MC3_18_Weights.KINETICS400_V1")
    assert source.identity() == {"torchvision": "mc3_18", "weights": "MC3_18_Weights.KINETICS400_V1"}
    expected = clipcop_state(torch.load(mc3_weights["pth"], weights_only=True), "mc3.pth")
    assert all(torch.equal(v, expected[k]) for k, v in backbone.state_dict().items())
