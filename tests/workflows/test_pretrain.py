"""``clipcop pretrain`` end to end on real video files: outputs, checkpoints, resume, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from clipcop.engine.checkpoint import load_checkpoint
from tests.cli.run import one_error_line, run_cli

TINY = [
    "--width",
    4,
    "--cl",
    4,
    "--it",
    2,
    "--tl",
    3,
    "--resize",
    "24x32",
    "--crop",
    16,
    "--batch-size",
    4,
    "--workers",
    0,
    "--optimizer",
    "adam",
    "--lr",
    3e-3,
]


def test_pretrain_writes_checkpoints_metrics_and_per_class_test(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 2, "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    run = Path(summary["run_dir"])
    assert run == Path("runs/vcop-r3d-4-2-3")
    assert summary["skipped"] == {"missing": 0, "unreadable": 0, "too_short": 0}
    for name in (
        "best.safetensors",
        "last.safetensors",
        "last.state.e00002.safetensors",
        "metrics.jsonl",
        "test_order_accuracy.json",
        "test_order_accuracy.csv",
    ):
        assert (run / name).is_file(), name
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "throughput", "data_wait_s"} <= set(epochs[0])
    test = json.loads((run / "test_order_accuracy.json").read_text())
    assert {row["class"] for row in test["per_class"]} == {
        "MoveHorizontal",
        "MoveVertical",
        "MoveDiagonal",
        "Rotate",
    }
    assert "Test order accuracy" in result.err and "MoveDiagonal" in result.err
    meta = load_checkpoint(run / "best.safetensors", kind="vcop").meta
    assert (meta["arch"], meta["width"], meta["clip_len"], meta["interval"], meta["tuple_len"]) == (
        "r3d",
        4,
        4,
        2,
        3,
    )
    assert "test_acc" in meta["metrics"] and meta["config"]["lr"] == 3e-3
    info = run_cli(capsys, "info", run / "best.safetensors")
    assert info.code == 0 and "arch: r3d" in info.out and "tuple_len: 3" in info.out
    lines = info.out.splitlines()  # nested metadata flattened onto stdout, not only in the stderr table
    assert f"metrics.test_acc: {meta['metrics']['test_acc']:.4f}" in lines and "resize: [24, 32]" in lines
    assert any(line.startswith("data.path: ") for line in lines)
    again = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 2)
    assert "--resume" in one_error_line(again)


@pytest.mark.parametrize(("arch", "tl"), [("c3d", 2), ("r21d", 4), ("r3d", 5)])
def test_every_arch_and_tuple_length_trains(
    arch: str, tl: int, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a if a != 3 else tl for a in TINY]
    result = run_cli(
        capsys,
        "pretrain",
        "--data",
        tiny_synth,
        *args,
        "--arch",
        arch,
        "--it",
        1,
        "--epochs",
        1,
        "--steps-per-epoch",
        2,
        "--val-size",
        2,
        "--json",
    )
    assert result.code == 0, result.err
    meta = load_checkpoint(Path(json.loads(result.out)["checkpoint"])).meta
    assert meta["arch"] == arch and meta["tuple_len"] == tl


def test_user_errors_are_one_line(tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "tl=6" in one_error_line(run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--tl", 6))
    assert "tl=1" in one_error_line(run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--tl", 1))
    long = one_error_line(run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--cl", 30))
    assert "long enough" in long and "span" in long
    assert "does not exist" in one_error_line(run_cli(capsys, "pretrain", "--data", workdir / "missing", *TINY))
    assert "crop" in one_error_line(run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--crop", 64))
    assert "arch" in one_error_line(run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--arch", "vgg"))
    empty = workdir / "empty-split"
    shutil.copytree(tiny_synth, empty)
    (empty / "ucfTrainTestlist" / "trainlist01.txt").write_text("")
    assert "has no training videos" in one_error_line(run_cli(capsys, "pretrain", "--data", empty, *TINY))


def _run(args: list[object], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "clipcop", "pretrain", *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _comparable(metrics: Path) -> list[dict[str, object]]:
    timing = {"seconds", "throughput", "data_wait_s", "compute_s"}
    return [{k: v for k, v in json.loads(line).items() if k not in timing} for line in metrics.read_text().splitlines()]


def test_killed_run_resumes_to_the_same_result(tiny_synth: Path, workdir: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["--data", tiny_synth, *TINY, "--epochs", 5, "--seed", 11]
    straight = _run([*args, "--out", "straight"], env)
    assert straight.wait(timeout=300) == 0, straight.stderr.read().decode() if straight.stderr else ""
    victim = _run([*args, "--out", "resumed"], env)
    metrics = workdir / "resumed" / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and victim.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = len(metrics.read_text().splitlines())
    assert killed_at < 5
    resumed = _run([*args, "--out", "resumed", "--resume"], env)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode() if resumed.stderr else ""
    a = load_checkpoint(workdir / "straight" / "last.safetensors").tensors
    b = load_checkpoint(workdir / "resumed" / "last.safetensors").tensors
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _comparable(workdir / "straight" / "metrics.jsonl") == _comparable(metrics)
    test_a = json.loads((workdir / "straight" / "test_order_accuracy.json").read_text())
    test_b = json.loads((workdir / "resumed" / "test_order_accuracy.json").read_text())
    assert test_a == test_b


def test_resume_refuses_changed_settings(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", "r").code == 0
    line = one_error_line(
        run_cli(
            capsys,
            "pretrain",
            "--data",
            tiny_synth,
            *TINY,
            "--epochs",
            2,
            "--out",
            "r",
            "--resume",
            "--width",
            8,
        )
    )
    assert "width" in line
    resumed = ["pretrain", *TINY, "--epochs", 2, "--out", "r", "--resume"]
    line = one_error_line(run_cli(capsys, *resumed, "--data", tiny_synth, "--momentum", 0.5))
    assert "it was run with momentum=0.9, now momentum=0.5" in line
    # The same folder spelled another way is the same data: the run continues.
    again = run_cli(capsys, *resumed, "--data", os.path.relpath(tiny_synth))
    assert again.code == 0 and "resuming r after epoch 1" in again.err, again.err
    assert load_checkpoint(workdir / "r" / "last.safetensors").meta["config"]["data"] == str(tiny_synth)
    # The same relative --data typed in another folder names another folder: refused.
    (workdir / "sub").mkdir()
    monkeypatch.chdir(workdir / "sub")
    elsewhere = ["pretrain", *TINY, "--epochs", 3, "--out", workdir / "r", "--resume"]
    line = one_error_line(run_cli(capsys, *elsewhere, "--data", os.path.relpath(tiny_synth, workdir)))
    assert f"it was run with data={tiny_synth}, now data=" in line
    monkeypatch.chdir(workdir)
    # A run folder whose last checkpoint is gone is not started over, with or without --resume; nor is a
    # folder holding a file of a name a run writes.
    (workdir / "r" / "last.safetensors").unlink()
    for extra in ([], ["--resume"]):
        line = one_error_line(
            run_cli(capsys, "pretrain", *TINY, "--epochs", 2, "--out", "r", "--data", tiny_synth, *extra)
        )
        assert "r already holds best.safetensors, metrics.jsonl" in line and "no last.safetensors" in line
    # What a kill while the first epoch was being saved leaves (no last checkpoint yet) is started over.
    assert run_cli(capsys, "pretrain", *TINY, "--epochs", 1, "--out", "cut", "--data", tiny_synth).code == 0
    for name in ("last.safetensors", "test_order_accuracy.json", "test_order_accuracy.csv"):
        (workdir / "cut" / name).unlink()
    with open(workdir / "cut" / "metrics.jsonl", "a") as metrics:
        metrics.write('{"epoch": 2, "train_lo')  # the next line, cut off
    restarted = run_cli(capsys, "pretrain", *TINY, "--epochs", 1, "--out", "cut", "--data", tiny_synth, "--resume")
    assert restarted.code == 0 and "first epoch was cut short while saving; starting the run over" in restarted.err
    assert len((workdir / "cut" / "metrics.jsonl").read_text().splitlines()) == 1
    (workdir / "mine").mkdir()
    (workdir / "mine" / "test_order_accuracy.csv").write_text("my own table\n")
    line = one_error_line(run_cli(capsys, "pretrain", *TINY, "--epochs", 1, "--out", "mine", "--data", tiny_synth))
    assert "mine already holds test_order_accuracy.csv" in line
    assert (workdir / "mine" / "test_order_accuracy.csv").read_text() == "my own table\n"


def test_a_train_list_takes_absolute_paths_and_names_what_it_cannot_use(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split = (tiny_synth / "ucfTrainTestlist" / "trainlist01.txt").read_text().splitlines()
    train = [line.split()[0] for line in split if line.strip()][:6]
    lines = [str(tiny_synth / "UCF-101" / rel) for rel in train] + ["Rotate/v_Rotate_g99_c09.avi"]  # none exists
    (workdir / "list.txt").write_text("\n".join(lines) + "\n")
    args = ["--epochs", 1, "--steps-per-epoch", 1, "--train-list", "list.txt"]
    relative = os.path.relpath(tiny_synth)  # the listed paths are absolute, --data is not
    result = run_cli(capsys, "pretrain", "--data", relative, *TINY, *args)
    assert result.code == 0, result.err  # absolute paths under the data folder are understood
    used = int(result.err.split("training on the ")[1].split(" ")[0])
    assert 1 <= used <= 6  # some of the six may be held out for validation
    assert f"{7 - used} videos listed in list.txt are not usable training videos here" in result.err
