"""``clipcop finetune``: trains a classifier from a checkpoint, tests with 10 clips, freezes what it is told."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from clipcop.backbones import build_backbone
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.heads.classifier import ActionClassifier
from clipcop.videos.layouts import load_dataset
from clipcop.workflows.data import hold_out, prepare_videos
from tests.cli.run import one_error_line, run_cli
from tests.videos.test_layouts import make_ucf

GEOMETRY = ["--workers", 0, "--batch-size", 4, "--optimizer", "adam", "--lr", 3e-3]


def test_finetune_reports_video_and_clip_accuracy_and_a_usable_checkpoint(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Also: a test video that no longer decodes (its manifest entry still valid) is named and not counted."""
    data = workdir / "synth"
    shutil.copytree(tiny_synth, data)
    assert run_cli(capsys, "data", "index", data, "--workers", 1).code == 0
    first_test = (data / "ucfTrainTestlist" / "testlist01.txt").read_text().split()[0]
    victim = data / "UCF-101" / first_test
    stat = victim.stat()
    victim.write_bytes(bytes(stat.st_size))  # same size and time: the manifest still lists it as readable
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = run_cli(
        capsys,
        "finetune",
        "--checkpoint",
        vcop_checkpoint,
        "--data",
        data,
        *GEOMETRY,
        "--epochs",
        2,
        "--out",
        "ft",
        "--json",
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["skipped"] == {"missing": 0, "unreadable": 0, "too_short": 0}  # the victim fails later
    assert 0 <= summary["test_video_accuracy"] <= 1 and 0 <= summary["test_clip_accuracy"] <= 1
    report = json.loads((workdir / "ft" / "test_accuracy.json").read_text())
    assert len(report["confusion"]) == 4 and sum(map(sum, report["confusion"])) == report["videos"]
    assert report["unreadable_videos"] == 1 and f"not counted in the test accuracy, e.g. {victim}" in result.err
    assert report["videos"] == len(load_dataset(data).test) - 1
    assert (workdir / "ft" / "confusion_matrix.csv").read_text().startswith("true \\ predicted,MoveHorizontal")
    assert "10 clips per video" in result.err
    meta = load_checkpoint(workdir / "ft" / "best.safetensors", kind="finetune").meta
    assert meta["num_classes"] == 4 and meta["init"] == str(vcop_checkpoint) and meta["clip_len"] == 4
    assert "test_video_acc" in meta["metrics"]
    # A fine-tuned checkpoint is a normal feature extractor (the supervised baseline of Table VI).
    extracted = run_cli(
        capsys,
        "extract",
        "--checkpoint",
        workdir / "ft" / "best.safetensors",
        "--data",
        tiny_synth,
        "--subset",
        "test",
        "--out",
        "ft.safetensors",
        "--workers",
        0,
        "--json",
    )
    assert extracted.code == 0, extracted.err
    assert json.loads(extracted.out)["dim"] == 32
    # --resume continues the same experiment: other layers frozen or another optimiser are refused.
    again = ["finetune", "--checkpoint", vcop_checkpoint, "--data", data, "--epochs", 3, "--out", "ft", "--resume"]
    line = one_error_line(run_cli(capsys, *again, *GEOMETRY, "--freeze-until", "conv3"))
    assert "cannot resume ft: it was run with freeze_until=None, now freeze_until=conv3" in line
    at = GEOMETRY.index("adam")
    line = one_error_line(run_cli(capsys, *again, *GEOMETRY[:at], "sgd", *GEOMETRY[at + 1 :]))
    assert "optimizer=adam, now optimizer=sgd" in line


def test_freeze_until_conv3_leaves_conv1_to_conv3_unchanged(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(
        capsys,
        "finetune",
        "--checkpoint",
        vcop_checkpoint,
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--epochs",
        2,
        "--freeze-until",
        "conv3",
        "--out",
        "frozen",
        "--test-clips",
        2,
    )
    assert result.code == 0, result.err
    before = load_checkpoint(vcop_checkpoint).section("backbone")
    after = load_checkpoint(workdir / "frozen" / "last.safetensors").section("backbone")
    for key, value in before.items():
        stage = key.split(".")[1]
        same = torch.equal(value, after[key])
        if stage in ("conv1", "conv2", "conv3"):
            assert same, f"{key} changed although frozen"  # weights and BN running statistics
    moved = [k for k in before if k.split(".")[1] in ("conv4", "conv5") and not torch.equal(before[k], after[k])]
    assert moved, "the unfrozen stages did not train"


def test_frozen_stages_keep_batch_norm_in_eval_mode() -> None:
    model = ActionClassifier(build_backbone("r3d", width=4), 3, freeze_until="conv2").train()
    assert not model.backbone.stages["conv1"].training and not model.backbone.stages["conv2"].training
    assert model.backbone.stages["conv3"].training
    assert not any(p.requires_grad for p in model.backbone.stages["conv2"].parameters())


def test_random_init_baseline_and_errors(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(
        capsys,
        "finetune",
        "--random",
        "--arch",
        "c3d",
        "--width",
        4,
        "--cl",
        4,
        "--resize",
        "24x32",
        "--crop",
        16,
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--epochs",
        1,
        "--out",
        "rand",
        "--test-clips",
        2,
    )
    assert result.code == 0, result.err
    assert load_checkpoint(workdir / "rand" / "best.safetensors").meta["init_kind"] == "random"
    line = one_error_line(
        run_cli(capsys, "finetune", "--checkpoint", vcop_checkpoint, "--arch", "c3d", "--data", tiny_synth)
    )
    assert "not c3d" in line
    assert "--freeze-until" in one_error_line(
        run_cli(capsys, "finetune", "--checkpoint", vcop_checkpoint, "--data", tiny_synth, "--freeze-until", "fc6")
    )


def test_wrong_label_in_a_split_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_ucf(tmp_path / "UCF101")
    path = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = path.read_text().splitlines()
    path.write_text("\r\n".join([lines[0].rsplit(" ", 1)[0] + " 99", *lines[1:]]) + "\r\n")
    line = one_error_line(run_cli(capsys, "finetune", "--random", "--arch", "r3d", "--data", root))
    assert "label 99" in line


def test_a_last_batch_of_one_clip_is_left_out_not_fatal(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # At 16-pixel crops conv5 is 1x1x1, so batch norm cannot train on a batch of one clip: with
    # train videos = batch + 1 the epoch's last batch would be exactly that, and used to crash.
    prepared = prepare_videos(str(tiny_synth), workers=0)
    train, _ = hold_out(prepared.train, 800)
    result = run_cli(
        capsys,
        "finetune",
        "--checkpoint",
        vcop_checkpoint,
        "--data",
        tiny_synth,
        *GEOMETRY[:2],
        "--batch-size",
        len(train) - 1,
        "--epochs",
        2,
        "--out",
        "lone",
        "--json",
    )
    assert result.code == 0, result.err
    epochs = [json.loads(line) for line in (workdir / "lone" / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in epochs] == [1, 2]  # one full batch per epoch, the lone clip left out
    assert [e["samples"] for e in epochs] == [len(train) - 1] * 2
