"""Temporary files a killed run left (checkpoint-sized ``.NAME.xxxxxxxx.tmp``) are removed when the run
starts again; nothing else in the folder is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipcop.engine.atomic import remove_leftovers
from tests.cli.run import run_cli
from tests.workflows.test_pretrain import TINY

LEFTOVERS = (".last.safetensors.k3j_x9a2.tmp", ".best.safetensors.0a1b2c3d.tmp", ".f.safetensors.ab12cd34.partial")
KEPT = ("notes.tmp", ".my.file.tmp", ".x.ABCDEFGH.tmp", "last.safetensors.k3j_x9a2.tmp", ".x.abcdefgh.tmp.bak")


def _plant(folder: Path) -> None:
    for name in LEFTOVERS:
        (folder / name).write_bytes(b"\0" * (1 << 20))
    for name in KEPT:
        (folder / name).write_text("somebody's")


def test_only_clipcop_temporary_names_are_removed(tmp_path: Path) -> None:
    _plant(tmp_path)
    (tmp_path / ".sub.abcdefgh.tmp").mkdir()  # a folder of that name: not a file clipcop wrote
    removed = remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == sorted(LEFTOVERS)
    assert all((tmp_path / name).read_text() == "somebody's" for name in KEPT)
    assert (tmp_path / ".sub.abcdefgh.tmp").is_dir()


def test_a_resumed_run_clears_what_the_killed_one_left(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = workdir / "run"
    first = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", run)
    assert first.code == 0, first.err
    _plant(run)
    resumed = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 2, "--out", run, "--resume")
    assert resumed.code == 0, resumed.err
    assert f"{run}: removed {len(LEFTOVERS)} temporary files left by a killed run" in " ".join(resumed.err.split())
    assert not any((run / name).exists() for name in LEFTOVERS)
    assert all((run / name).read_text() == "somebody's" for name in KEPT)
    assert not list(run.glob(".*.tmp")) or all(p.name in KEPT for p in run.glob(".*.tmp"))
