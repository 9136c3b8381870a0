"""``--config FILE.toml``, the run folder's ``config.toml``, ``clipcop info --config`` and ``--log tensorboard``
through the real command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clipcop.cli.settings import resolve
from clipcop.engine.run_dir import SETTINGS
from clipcop.workflows.pretrain import PretrainConfig
from tests.cli.run import one_error_line, run_cli

if sys.version_info >= (3, 11):
    import tomllib  # novermin: the standard library's TOML parser from 3.11 on
else:
    import tomli as tomllib
from tests.workflows.test_pretrain import TINY

LEARNED = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "best_epoch", "samples", "failed_reads")
"""What a run computes (its timings differ from run to run)."""


def _learned(run_dir: Path) -> list[dict[str, object]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: record[k] for k in LEARNED} for record in map(json.loads, lines)]


@pytest.mark.slow
def test_a_run_folder_s_config_reruns_it_and_tensorboard_logs_it(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_cli(
        capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 2, "--log", "tensorboard", "--out", "a", "--json"
    )
    assert first.code == 0, first.err
    settings = tomllib.loads((workdir / "a" / SETTINGS).read_text())
    assert settings["training"]["epochs"] == 2 and settings["model"]["width"] == 4
    assert settings["run"]["log"] == "tensorboard" and settings["data"]["folder"] == str(tiny_synth)

    again = run_cli(capsys, "pretrain", "--config", workdir / "a" / SETTINGS, "--out", "b", "--json")
    assert again.code == 0, again.err
    assert _learned(workdir / "b") == _learned(workdir / "a")
    assert json.loads(again.out)["test_order_accuracy"] == json.loads(first.out)["test_order_accuracy"]

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(workdir / "a" / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"step/loss", "step/lr", "epoch/val_loss", "epoch/val_acc"} <= set(scalars)
    assert [e.value for e in events.Scalars("epoch/val_loss")] == pytest.approx(
        [r["val_loss"] for r in _learned(workdir / "a")]
    )

    shown = run_cli(capsys, "info", workdir / "a" / "best.safetensors", "--config")
    assert shown.code == 0, shown.err
    recorded = tomllib.loads(shown.out)
    assert recorded["training"] == settings["training"] and recorded["model"] == settings["model"]


def test_a_flag_given_on_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[training]\nepochs = 3\nlr = 0.01\n\n[model]\narch = "c3d"\n')
    config = resolve(PretrainConfig, str(path), {"epochs": 7, "resize": (120, 160)})
    assert config.training.epochs == 7 and config.training.lr == 0.01 and config.model.arch == "c3d"
    assert config.geometry.resize == (120, 160) and config.training.batch_size == 8  # the library's default


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[training]\nepochz = 3\n", "training.epochz"),
        ('[training]\nepochs = "ten"\n', "training.epochs"),
        ("[training]\nepochs = 0\n", "epochs"),
        ('[model]\narch = "vgg"\n', "arch"),
    ],
)
def test_a_bad_key_type_or_value_is_one_line_naming_the_key_and_the_file(
    text: str, named: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "bad.toml").write_text(text)
    line = one_error_line(run_cli(capsys, "pretrain", "--config", "bad.toml", "--out", "run"))
    assert "bad.toml" in line and named in line, line
    assert not (workdir / "run").exists()


def test_info_config_of_a_checkpoint_without_settings_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from clipcop.engine.checkpoint import save_checkpoint

    save_checkpoint(workdir / "w.safetensors", {"x": torch.zeros(1)}, {"kind": "vcop", "arch": "r3d", "width": 4})
    line = one_error_line(run_cli(capsys, "info", "w.safetensors", "--config"))
    assert "records no training settings" in line


def test_log_tensorboard_without_the_extra_says_how_to_install_it(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--log", "tensorboard")
    assert "pip install 'clipcop[tensorboard]'" in one_error_line(result)
