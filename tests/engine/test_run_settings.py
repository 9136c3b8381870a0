"""What a ``--resume`` compares: settings, with paths equal however spelled and nested ones key by key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clipcop.engine.run_dir import changed_settings


def test_paths_are_compared_as_the_files_they_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    saved = {"init": "runs/best.safetensors", "data": "~/UCF101", "lr": 0.001, "resize": [128, 171]}
    home = os.path.expanduser("~/UCF101")
    same = {"init": str(tmp_path / "runs" / "best.safetensors"), "data": home, "lr": 0.001, "resize": (128, 171)}
    assert changed_settings(saved, same, ("init", "data", "lr", "resize")) == []
    other = {**same, "init": "./other.safetensors", "lr": 0.01}
    assert changed_settings(saved, other, ("init", "lr")) == [
        ("init", "runs/best.safetensors", "./other.safetensors"),
        ("lr", 0.001, 0.01),
    ]


def test_a_nested_source_is_compared_key_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    saved = {"source": {"checkpoint": "a/best.safetensors", "width": None, "random": False}}
    spelled = {"source": {"checkpoint": str(tmp_path / "a" / "best.safetensors"), "width": None, "random": False}}
    assert changed_settings(saved, spelled, ("source",)) == []
    wider = {"source": {**spelled["source"], "width": 32}}
    assert changed_settings(saved, wider, ("source",)) == [("source.width", None, 32)]
