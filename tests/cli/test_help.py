"""What people see of the command line: choices and panels in --help, examples as written, shell completion,
--quiet everywhere, one-line usage errors naming the command, and ``info`` as a table or as lines."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import typer

from clipcop.cli import info_cmd
from clipcop.cli.main import app
from clipcop.cli.settings import given_flags
from clipcop.config import ARCH_NAMES, ModelSpec
from clipcop.engine.checkpoint import save_checkpoint
from clipcop.errors import UsageError
from tests.cli.run import one_error_line, run_cli

PANELS = ("Data", "Model", "Training", "Run", "Output")


def _commands(prefix: str = "clipcop", command: Any = None) -> Iterator[tuple[str, Any]]:
    """Every command that runs something (not a group), with its path."""
    command = command or typer.main.get_command(app)
    for name, sub in getattr(command, "commands", {}).items():
        if getattr(sub, "commands", None):
            yield from _commands(f"{prefix} {name}", sub)
        else:
            yield f"{prefix} {name}", sub


def test_help_shows_choices_panels_and_completion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = run_cli(capsys, "--help")
    assert root.code == 0 and "--install-completion" in root.out and "--show-completion" in root.out
    shown = run_cli(capsys, "pretrain", "--help").out
    assert "|".join(ARCH_NAMES) == "c3d|r3d|r21d" and "c3d|r3d|r21d" in shown
    for choices in ("sgd|adam", "constant|cosine|plateau", "auto|bf16|fp32", "auto|decord|pyav", "clipcop|official"):
        assert choices in shown, choices
    for title in PANELS:
        assert f"─ {title} ─" in shown, title
    assert "raw|jpeg" in run_cli(capsys, "data", "cache", "--help").out
    assert "flat|ivf|hnsw" in run_cli(capsys, "retrieve", "--help").out
    monkeypatch.setenv("COLUMNS", "200")  # choices unbroken by wrapping
    taps = "conv1|conv2|conv3|conv4|conv5"
    assert taps in run_cli(capsys, "finetune", "--help").out and taps in run_cli(capsys, "extract", "--help").out
    assert "'conv9' is not one of 'conv1'" in one_error_line(run_cli(capsys, "finetune", "--freeze-until", "conv9"))


def test_every_option_sits_in_a_panel_and_every_command_has_quiet() -> None:
    for path, command in _commands():
        options = [p for p in command.params if p.param_type_name == "option" and p.name != "help"]
        assert [p.name for p in options if not getattr(p, "rich_help_panel", None)] == [], path
        quiet = [p for p in options if p.name == "quiet"]
        assert quiet and set(quiet[0].opts) == {"--quiet", "-q"}, path


def test_a_wrong_choice_is_one_line_naming_the_choices_and_the_library_still_refuses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = one_error_line(run_cli(capsys, "pretrain", "--arch", "vgg"))
    assert (
        line
        == "clipcop pretrain: error: Invalid value for '--arch': 'vgg' is not one of 'c3d', 'r3d', 'r21d'. (see --help)"
    )
    assert "'png' is not one of 'raw', 'jpeg'" in one_error_line(
        run_cli(capsys, "data", "cache", "x", "--format", "png")
    )
    with pytest.raises(UsageError, match="--arch must be one of c3d, r3d, r21d, not 'vgg'"):
        ModelSpec(arch="vgg")


def test_chosen_values_reach_the_library_as_plain_strings() -> None:
    command = typer.main.get_command(app).commands["pretrain"]  # type: ignore[attr-defined]
    ctx = command.make_context("pretrain", ["--arch", "c3d", "--optimizer", "adam", "--log", "tensorboard"])
    given = given_flags(ctx)
    assert given == {"arch": "c3d", "optimizer": "adam", "log": "tensorboard"}
    assert {type(value) for value in given.values()} == {str}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--bogus"], "clipcop: error: No such option: --bogus (see --help)"),
        (["nosuchcmd"], "clipcop: error: No such command 'nosuchcmd'. (see --help)"),
        (["data", "--bogus"], "clipcop data: error: No such option: --bogus (see --help)"),
        (["vqa", "train", "--zzz"], "clipcop vqa train: error: No such option: --zzz"),
    ],
)
def test_usage_errors_name_the_command_without_a_stray_space(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert one_error_line(run_cli(capsys, *args)).startswith(line)


def test_examples_print_as_written(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every indented docstring line (examples) shows in --help whole and indented, even in an 80-column pipe."""
    monkeypatch.setenv("COLUMNS", "80")
    checked = 0
    for path, command in _commands():
        examples = [line for line in inspect.cleandoc(command.callback.__doc__).splitlines() if line.startswith("  ")]
        shown = [line.rstrip() for line in run_cli(capsys, *path.split()[1:], "--help").out.splitlines()]
        for example in examples:
            assert f" {example}" in shown, f"{path}: {example!r} not printed as written"
            checked += 1
    assert checked >= 20


def _checkpoint(tmp_path: Path) -> Path:
    meta = {"kind": "vcop", "arch": "r3d", "width": 4, "clip_len": 4, "interval": 2, "tuple_len": 3}
    meta |= {"resize": [24, 32], "crop": 16, "seed": 7, "epoch": 2, "step": 10, "metrics": {"val_acc": 0.25}}
    return save_checkpoint(tmp_path / "best.safetensors", {"w": torch.zeros(1)}, meta)


def test_info_prints_lines_in_a_pipe_and_a_table_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = _checkpoint(tmp_path)
    piped = run_cli(capsys, "info", checkpoint)
    assert piped.code == 0 and "arch: r3d" in piped.out.splitlines() and "metrics.val_acc: 0.2500" in piped.out
    assert "│" not in piped.out + piped.err and piped.err == ""
    monkeypatch.setattr(info_cmd, "_on_terminal", lambda: True)
    table = run_cli(capsys, "info", checkpoint)
    assert table.code == 0 and "│" in table.out and "metrics.val_acc" in table.out
    assert "arch: r3d" not in table.out and table.err == ""
    quiet = run_cli(capsys, "info", checkpoint, "-q")  # scripts on a terminal: lines, no table
    assert "arch: r3d" in quiet.out.splitlines() and "│" not in quiet.out
