"""``--protocol official`` end to end: a model pretrained with it records its switches, and extraction from
the checkpoint (or a random model) uses them without being told; a conflicting switch is refused."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from clipcop.engine.checkpoint import read_card
from clipcop.features.pooling import conv5_grid
from clipcop.features.store import read_features
from tests.cli.run import one_error_line, run_cli

GEOMETRY = ["--width", 4, "--cl", 4, "--resize", "40x52", "--crop", 32, "--workers", 0]


@pytest.mark.slow
def test_official_protocol_is_recorded_and_extraction_follows_it(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    result = run_cli(
        capsys,
        "pretrain",
        "--arch",
        "r21d",
        "--protocol",
        "official",
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--it",
        2,
        "--epochs",
        1,
        "--batch-size",
        4,
        "--optimizer",
        "adam",
        "--out",
        run,
    )
    assert result.code == 0, result.err
    card = read_card(run / "best.safetensors")
    assert (card.protocol, card.pool5, card.weight_init, card.pixels, card.shortcut) == (
        "official",
        "strided",
        "uniform",
        "unit",
        "factorised",
    )
    assert card.config is not None and card.config["protocol"] == "official"

    out = tmp_path / "f.safetensors"
    args = ["--data", tiny_synth, "--subset", "test", "--clips", 2, "--pool", "spatiotemporal", "--workers", 0]
    result = run_cli(capsys, "extract", "--checkpoint", run / "best.safetensors", *args, "--out", out)
    assert result.code == 0, result.err
    features = read_features(out)
    assert features.meta["pool5"] == "strided"  # the model's own choice, not given here
    assert features.dim == 32 * math.prod(conv5_grid(4, 32))  # 32 channels x 1x1x1 at 4x32x32
    assert features.model is not None and features.model.pixels == "unit"

    adaptive = tmp_path / "adaptive.safetensors"
    ckpt = ["--checkpoint", run / "best.safetensors"]
    result = run_cli(capsys, "extract", *ckpt, *args, "--pool5", "adaptive", "--out", adaptive)
    assert result.code == 0, result.err
    assert read_features(adaptive).meta["pool5"] == "adaptive" and read_features(adaptive).dim == 32 * 18

    result = run_cli(capsys, "extract", *ckpt, *args, "--pixels", "standardised", "--out", tmp_path / "x.safetensors")
    assert result.code != 0
    assert "was made with --pixels unit, not standardised" in one_error_line(result)


def test_a_random_model_takes_the_protocol(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "random.safetensors"
    result = run_cli(
        capsys,
        "extract",
        "--random",
        "--arch",
        "c3d",
        "--protocol",
        "official",
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--subset",
        "test",
        "--clips",
        1,
        "--pool",
        "spatiotemporal",
        "--out",
        out,
    )
    assert result.code == 0, result.err
    features = read_features(out)
    assert features.meta["pool5"] == "strided"
    assert features.model is not None and features.model.choices().weight_init == "uniform"
    assert features.model.protocol == "official"


def test_continuing_and_init_keep_the_checkpoints_switches(tmp_path: Path) -> None:
    import torch

    from clipcop.config import ModelChoices
    from clipcop.engine.card import CheckpointCard
    from clipcop.engine.checkpoint import save_checkpoint
    from clipcop.errors import CheckpointError
    from clipcop.workflows.curriculum_window import continuing
    from clipcop.workflows.pretrain import PretrainConfig, check_init

    official = ModelChoices.preset("official")
    shape: dict[str, Any] = {"arch": "r21d", "width": 4, "clip_len": 4, "interval": 2, "tuple_len": 3, "crop": 16}
    card = CheckpointCard.for_run(kind="vcop", resize=[24, 32], **shape, **official.entries())
    path = tmp_path / "official.safetensors"
    save_checkpoint(path, {"backbone.w": torch.zeros(1)}, card.to_meta())
    continued = continuing(PretrainConfig(), path)  # the sample curriculum's window
    assert continued.model.choices() == official and continued.model.arch == "r21d"
    check_init(PretrainConfig.from_options(arch="r21d", width=4, protocol="official", init=str(path)))
    with pytest.raises(CheckpointError, match="was made with --weight-init uniform, not he"):
        check_init(PretrainConfig.from_options(arch="r21d", width=4, init=str(path)))
