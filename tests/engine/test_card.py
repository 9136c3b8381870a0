"""The checkpoint card: written and read in one place, exact round trips, one-line errors naming the field."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from clipcop._version import __version__
from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import FORMAT, load_checkpoint, read_card, read_meta, save_checkpoint
from clipcop.errors import CheckpointError
from tests.cli.run import one_error_line, run_cli

VCOP: dict[str, Any] = {
    "kind": "vcop",
    "arch": "r3d",
    "width": 4,
    "clip_len": 4,
    "interval": 2,
    "tuple_len": 3,
    "resize": [24, 32],
    "crop": 16,
    "seed": 7,
    "epoch": 2,
    "step": 10,
    "metrics": {"val_loss": 1.5, "val_acc": 0.25},
    "config": {"lr": 0.01, "resize": [24, 32]},
    "data": {"path": "/data/ucf", "videos": 12},
    "validation": {"videos": 3, "sha1": "abc"},
    "created": "2024-01-01T00:00:00+00:00",
    "init": None,
}


def _raw(path: Path, meta: object) -> Path:
    """A safetensors file whose clipcop metadata is ``meta``, whatever its shape."""
    save_file({"w": torch.zeros(1)}, str(path), metadata={"clipcop": json.dumps(meta)})
    return path


def test_round_trip_of_a_real_checkpoint(tmp_path: Path) -> None:
    card = CheckpointCard.for_run(**VCOP)  # the keys a VCOP run writes, "init": null included
    path = save_checkpoint(tmp_path / "c.safetensors", {"backbone.w": torch.ones(2)}, card.to_meta())
    read = read_card(path)
    assert read == replace(card, format=read.format, version=read.version, torch=read.torch) and read.path == path
    shape = (read.kind, read.arch, read.width, read.tuple_len, read.resize, read.crop)
    assert shape == ("vcop", "r3d", 4, 3, (24, 32), 16) and read.init is None and read.epoch == 2
    assert (read.format, read.version, read.torch) == (FORMAT, __version__, torch.__version__)
    assert read.to_meta() == read_meta(path)  # exactly the header: "init": null stays null
    assert load_checkpoint(path, kind="vcop").card == read
    assert read.model_only().to_meta() == {
        k: VCOP[k]
        for k in ("kind", "arch", "width", "clip_len", "interval", "tuple_len", "resize", "crop", "seed", "data")
    }
    assert read.with_metrics(test_acc=0.5).metrics == {**VCOP["metrics"], "test_acc": 0.5}


def test_other_kinds_keep_their_own_keys(tmp_path: Path) -> None:
    meta = {"kind": "vqa", "model": {"dim": 8}, "vocabulary": ["a", "b"], "majority": {"0": "yes"}, "seed": 1}
    card = read_card(_raw(tmp_path / "q.safetensors", meta))
    assert card.arch is None and card.entry("vocabulary", list) == ["a", "b"] and card.to_meta() == meta
    assert card.entry("features", dict, {}) == {}
    with pytest.raises(CheckpointError, match=r"q\.safetensors has malformed clipcop metadata: model is"):
        CheckpointCard.from_meta({**meta, "model": [1]}, tmp_path / "q.safetensors").entry("model", dict)


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ([1], "a list [1], not a JSON object"),
        (None, "null, not a JSON object"),
        ("x", 'a string "x", not a JSON object'),
        ({**VCOP, "width": "abc"}, "width is"),
        ({**VCOP, "config": [1, 2]}, "config is a list"),
        ({k: v for k, v in VCOP.items() if k != "arch"}, "needs arch"),
        ({**VCOP, "kind": 3}, "kind is"),
        ({"arch": "r3d"}, "no kind"),
        ({**VCOP, "resize": [24]}, "resize is"),
        ({**VCOP, "epoch": True}, "epoch is"),
        ({**VCOP, "classes": ["a", 1]}, "classes is"),
    ],
)
def test_malformed_metadata_names_the_file_and_the_field(tmp_path: Path, meta: object, field: str) -> None:
    path = _raw(tmp_path / "bad.safetensors", meta)

    def from_meta() -> CheckpointCard:
        return CheckpointCard.from_meta(meta, path)

    def from_file() -> CheckpointCard:
        return read_card(path)

    for read in (from_meta, from_file):
        with pytest.raises(CheckpointError) as caught:
            read()
        message = str(caught.value)
        assert "\n" not in message and message.startswith(f"{path} has malformed clipcop metadata: ")
        assert field in message


def test_info_on_a_malformed_checkpoint_ends_in_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _raw(tmp_path / "bad.safetensors", {**VCOP, "width": "abc"})
    line = one_error_line(run_cli(capsys, "info", path))
    assert line.startswith("clipcop: error: ") and str(path) in line and "width is a string" in line
    line = one_error_line(run_cli(capsys, "info", _raw(tmp_path / "list.safetensors", [1])))
    assert "list.safetensors has malformed clipcop metadata" in line
    good = save_checkpoint(tmp_path / "good.safetensors", {"w": torch.zeros(1)}, VCOP)
    shown = run_cli(capsys, "info", good)
    assert shown.code == 0 and "width: 4" in shown.out and f"torch: {torch.__version__}" in shown.out


SHAPES: list[Any] = [None, True, 0, -3, 2.5, "", "r3d", [], [1], [24, 32], ["a", "b"], [True, 2], {}, {"a": 1}]
"""JSON values of every shape, each tried in every field below."""


@pytest.mark.parametrize("base", [VCOP, {"kind": "vqa"}, {"kind": "finetune", "arch": "c3d", "width": 8}])
def test_any_json_either_reads_back_exactly_or_fails_in_one_line(base: dict[str, Any]) -> None:
    for key in [*VCOP, "classes", "num_classes", "window", "resume_state", "other"]:
        for value in SHAPES:
            meta = {**base, key: value}
            try:
                card = CheckpointCard.from_meta(meta, "any.safetensors")
            except CheckpointError as err:
                message = str(err)
            else:
                assert card.to_meta() == dict(sorted(meta.items())), meta
                continue
            assert message.startswith("any.safetensors has malformed clipcop metadata: ") and "\n" not in message
            assert key in message or value is None, (meta, message)


def test_the_parity_switches_are_recorded_and_old_checkpoints_read_as_clipcops_defaults(tmp_path: Path) -> None:
    from clipcop.config import ModelChoices

    official = ModelChoices.preset("official")
    card = CheckpointCard.for_run(kind="vcop", arch="r21d", width=8, **official.entries())
    path = tmp_path / "official.safetensors"
    save_checkpoint(path, {"backbone.w": torch.zeros(1)}, card.to_meta())
    read = read_card(path)
    assert read.choices() == official and read.protocol == "official" and read.shortcut == "factorised"
    assert read.model_only().choices() == official  # a model trained further from it keeps them
    old = CheckpointCard.for_run(kind="vcop", arch="r3d", width=8)  # written before the switches existed
    assert old.choices() == ModelChoices() and old.protocol is None
    bad = CheckpointCard.for_run(kind="vcop", arch="r3d", width=8, pixels="imagenet")
    with pytest.raises(CheckpointError, match="malformed clipcop metadata: pixels must be one of"):
        bad.choices()
