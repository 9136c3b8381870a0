"""Curriculum learning: stages carry weights over; hard-sample mining keeps exactly the hard samples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from clipcop.engine.checkpoint import load_checkpoint
from clipcop.engine.reporting import Reporter
from clipcop.errors import VideoDecodeError
from clipcop.workflows.curriculum import TrainingPredictions, WindowScores
from clipcop.workflows.pretrain import PretrainConfig, build_vcop_model
from tests.cli.run import one_error_line, run_cli

TINY = [
    "--width",
    4,
    "--cl",
    4,
    "--it",
    1,
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


def test_task_curriculum_stages_start_from_the_previous_stage(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "curriculum",
        "task",
        "--tl-schedule",
        "2,3,4",
        "--stage-epochs",
        "2,1,1",
        "--data",
        tiny_synth,
        *TINY,
        "--out",
        "cur",
    ]
    result = run_cli(capsys, *args, "--json")
    assert result.code == 0, result.err
    stages = json.loads(result.out)["stages"]
    assert [s["tuple_len"] for s in stages] == [2, 3, 4]
    assert "Task-based curriculum" in result.err
    for tl in (2, 3, 4):
        meta = load_checkpoint(workdir / "cur" / f"tl{tl}" / "best.safetensors", kind="vcop").meta
        assert meta["tuple_len"] == tl
        assert run_cli(capsys, "info", workdir / "cur" / f"tl{tl}" / "best.safetensors").code == 0
    assert load_checkpoint(workdir / "cur" / "tl3" / "best.safetensors").meta["init"] == str(
        Path("cur") / "tl2" / "best.safetensors"
    )
    # What a stage starts from: the previous backbone and pair layer, a new tl!-way layer.
    previous = load_checkpoint(workdir / "cur" / "tl2" / "best.safetensors")
    config = PretrainConfig.from_options(
        arch="r3d",
        width=4,
        clip_len=4,
        interval=1,
        tuple_len=3,
        crop=16,
        resize=(24, 32),
        init=str(workdir / "cur" / "tl2" / "best.safetensors"),
    )
    model = build_vcop_model(config, Reporter(quiet=True))
    for key, value in previous.section("backbone").items():
        assert torch.equal(model.backbone.state_dict()[key], value)
    assert torch.equal(model.head.pair_fc.weight, previous.tensors["head.pair_fc.weight"])
    assert model.head.order_fc.out_features == 6 and previous.tensors["head.order_fc.weight"].shape[0] == 2
    again = run_cli(capsys, *args, "--resume")
    assert again.code == 0 and again.err.count("already finished") == 3
    wider = [*args[: args.index("--width")], "--width", 8, *args[args.index("--width") + 2 :]]
    line = one_error_line(run_cli(capsys, *wider, "--resume"))  # never reuse a stage of another model
    assert "trained otherwise" in line and "width 4 (asked 8)" in line
    line = one_error_line(run_cli(capsys, *args, "--seed", 1, "--resume"))  # nor one of another experiment
    assert "trained otherwise: seed 0 (asked 1)" in line
    longer = [*args[: args.index("2,1,1")], "2,3,1", *args[args.index("2,1,1") + 1 :]]
    assert "tl3 holds a finished stage trained otherwise: epochs 1 (asked 3)" in one_error_line(
        run_cli(capsys, *longer)
    )


def test_task_curriculum_rejects_bad_schedules(tiny_synth: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for schedule in ("3", "4,3", "3,6", "x"):
        assert "--tl-schedule" in one_error_line(run_cli(capsys, "curriculum", "task", "--tl-schedule", schedule))


def test_sample_curriculum_drops_exactly_the_easy_samples(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 2, "--out", "base")
    assert first.code == 0, first.err
    sample = ["curriculum", "sample", "--checkpoint", "base/best.safetensors", "--data", tiny_synth]
    sample += [*TINY[10:], "--steps-per-epoch", 2]  # width, cl/it, resize and crop come from the checkpoint
    sample += ["--window", 2, "--threshold", 0.12, "--epochs", 1, "--out", "hard", "--compare-plain", "--json"]
    result = run_cli(capsys, *sample)
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    scores = json.loads((workdir / "hard" / "scores.json").read_text())
    easy = _easy(scores, 0.12)
    listed = (workdir / "hard" / "hard_samples.txt").read_text().splitlines()
    assert listed == [v for v, e in zip(scores["videos"], easy, strict=True) if not e]
    assert summary["kept"] == len(listed) and summary["dropped"] == int(easy.sum())
    assert sum(summary["dropped_per_class"].values()) == summary["dropped"]
    assert sum(summary["kept_per_class"].values()) == summary["kept"]
    assert "Sample-based curriculum" in result.err and "plain (all samples)" in result.err
    # Two steps of 4 tuples score 8 videos per window epoch; the rest have no score there and stay hard.
    unscored = np.isnan(_p_true(scores)).any(axis=0)
    assert scores["scoring"] == "training" and 0 < int(unscored.sum()) < len(easy) and not easy[unscored].any()
    assert f"{int(unscored.sum())} training videos have no score" in result.err and "--steps-per-epoch" in result.err
    assert f"training on the {len(listed)} of {len(easy)} training videos" in result.err
    assert "plain_test_order_accuracy" in summary and "test_order_accuracy" in summary
    meta = load_checkpoint(workdir / "hard" / "hard" / "best.safetensors").meta
    assert meta["config"]["train_list"] == str(Path("hard") / "hard_samples.txt")
    # Both continued runs start where the window's training ended, not from the original checkpoint.
    windowed = load_checkpoint(workdir / "hard" / "window.safetensors")
    base = load_checkpoint(workdir / "base" / "best.safetensors")
    assert windowed.meta["epoch"] == base.meta["epoch"] + 2 and windowed.meta["window"]["epochs"] == 2
    assert windowed.meta["step"] == base.meta["step"] + 2 * 2  # the window's epochs obey --steps-per-epoch
    assert windowed.meta["init"] == "base/best.safetensors" and windowed.meta["metrics"] == {}
    assert any(not torch.equal(windowed.tensors[k], base.tensors[k]) for k in base.tensors)
    plain = load_checkpoint(workdir / "hard" / "plain" / "best.safetensors").meta
    assert meta["config"]["init"] == plain["config"]["init"] == str(Path("hard") / "window.safetensors")
    # --resume reuses the scores and the window model; scored with other settings, it refuses.
    again = run_cli(capsys, *sample, "--resume")
    assert again.code == 0 and "reusing the hard samples" in again.err and "window epoch" not in again.err
    assert (workdir / "hard" / "hard_samples.txt").read_text().splitlines() == listed
    at = sample.index("--threshold") + 1
    other = [*sample[:at], 0.5, *sample[at + 1 :], "--resume"]
    assert "scored with --threshold 0.12, now --threshold 0.5" in one_error_line(run_cli(capsys, *other))
    fixed = [*sample, "--scoring", "fixed", "--resume"]
    assert "scored with --scoring training, now --scoring fixed" in one_error_line(run_cli(capsys, *fixed))
    # Without --resume it refuses before the window trains again, and the earlier run stays as it was.
    before = (workdir / "hard" / "window.safetensors").stat().st_mtime_ns
    line = one_error_line(run_cli(capsys, *sample))
    assert "already holds a sample curriculum" in line and "--resume" in line
    assert (workdir / "hard" / "window.safetensors").stat().st_mtime_ns == before


def _p_true(scores: dict[str, Any]) -> np.ndarray:
    """``scores.json``'s softmax of the right order, window epochs x videos, NaN where unscored."""
    return np.array([[np.nan if p is None else p for p in row] for row in scores["p_true"]], dtype=float)


def _easy(scores: dict[str, Any], threshold: float) -> np.ndarray:
    """The paper's rule recomputed from ``scores.json``: right, above ``threshold``, in every epoch."""
    return np.asarray((np.array(scores["correct"], dtype=bool) & (_p_true(scores) > threshold)).all(axis=0))


def test_training_scoring_scores_each_video_by_the_predictions_made_while_it_trains(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whole window epochs: every video is scored once per epoch by its training prediction (Sec. IV-A),
    so an epoch's share of right scores is the training accuracy the window reports for that epoch."""
    assert run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", "base").code == 0
    sample = ["curriculum", "sample", "--checkpoint", "base/best.safetensors", "--data", tiny_synth, *TINY[10:]]
    result = run_cli(capsys, *sample, "--window", 3, "--threshold", 0.3, "--epochs", 1, "--out", "scored")
    assert result.code == 0, result.err
    scores = json.loads((workdir / "scored" / "scores.json").read_text())
    p_true = _p_true(scores)
    assert scores["scoring"] == "training" and p_true.shape == (3, len(scores["videos"]))
    assert not np.isnan(p_true).any() and "have no score" not in result.err
    reported = [float(m) for m in re.findall(r"training tuples ordered right ([\d.]+)%", result.err)]
    shares = [100 * float(np.mean(row)) for row in scores["correct"]]
    assert len(reported) == 3 and np.allclose(reported, shares, atol=0.06)
    # A fresh tuple and crops every epoch: one video's scores differ from epoch to epoch.
    assert (np.ptp(p_true, axis=0) > 1e-4).mean() > 0.9
    listed = (workdir / "scored" / "hard_samples.txt").read_text().splitlines()
    assert listed == [v for v, e in zip(scores["videos"], _easy(scores, 0.3), strict=True) if not e]


@pytest.mark.parametrize("scoring", ["training", "fixed"])
def test_a_video_unreadable_while_scoring_is_kept_and_named_by_its_own_row(
    scoring: str,
    tiny_synth: Path,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scores go to each video's own row: one that fails to decode (the dataset then substitutes the
    next video) is unscored, kept as hard and warned about, and no other video takes its scores."""
    from clipcop.clips.datasets import _VideoDataset

    assert run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", "base").code == 0
    sample = ["curriculum", "sample", "--checkpoint", "base/best.safetensors", "--data", tiny_synth, *TINY[10:]]
    sample += ["--scoring", scoring, "--window", 2, "--threshold", 0.12, "--epochs", 1, "--steps-per-epoch", 1]
    if scoring == "training":  # whole window epochs, so every readable video has a training prediction
        sample[-2:] = []
    assert run_cli(capsys, *sample, "--out", "clean").code == 0
    clean = json.loads((workdir / "clean" / "scores.json").read_text())
    broken = clean["videos"][1]
    real_clips = _VideoDataset._clips

    def failing(self: _VideoDataset, path: Path, *args: object) -> object:
        if path.as_posix().endswith(broken):
            raise VideoDecodeError(path, "simulated damage")
        return real_clips(self, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_VideoDataset, "_clips", failing)
    result = run_cli(capsys, *sample, "--out", "damaged")
    assert result.code == 0, result.err
    assert "1 training videos have no score in some window epoch (they failed to decode)" in result.err
    scores = json.loads((workdir / "damaged" / "scores.json").read_text())
    assert scores["videos"] == clean["videos"] and scores["scoring"] == scoring
    assert [row[1] for row in scores["p_true"]] == [None, None] and not scores["easy"][1]
    assert broken in (workdir / "damaged" / "hard_samples.txt").read_text().splitlines()
    assert all(p is not None for row in scores["p_true"] for i, p in enumerate(row) if i != 1)


def test_sample_curriculum_errors(tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(run_cli(capsys, "curriculum", "sample", "--checkpoint", "none.safetensors", "--threshold", 2))
    assert "--threshold" in line
    assert "does not exist" in one_error_line(
        run_cli(capsys, "curriculum", "sample", "--checkpoint", "none.safetensors", "--data", tiny_synth)
    )
    # The architecture is the checkpoint's: sample has no --arch to be silently ignored.
    for flag, value in (("--arch", "c3d"), ("--resize", "24x32")):
        assert flag in one_error_line(
            run_cli(capsys, "curriculum", "sample", "--checkpoint", "none.safetensors", flag, value)
        )


def test_sample_window_refuses_a_batch_that_does_not_divide_over_the_processes(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked before the window trains (as pretraining checks it), here with 3 processes faked."""
    from clipcop.workflows import curriculum_window as curriculum

    assert run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", "base").code == 0
    monkeypatch.setattr(curriculum, "world_size", lambda: 3)
    sample = ["curriculum", "sample", "--checkpoint", "base/best.safetensors", "--data", tiny_synth, *TINY[10:]]
    line = one_error_line(run_cli(capsys, *sample, "--out", "hard"))
    assert line == "clipcop: error: batch size 4 must divide evenly over 3 processes"
    assert not (workdir / "hard" / "window.safetensors").exists()


def test_window_scores_keep_the_lowest_softmax_and_need_every_prediction_right() -> None:
    """A video seen twice in an epoch (a stand-in for a failed read, torchrun padding) must be right both
    times and counts its lower softmax; one never seen in an epoch is unscored there and never easy."""
    scores = WindowScores(2, 3)
    scores.add(1, np.array([0, 1, 1]), np.array([0.9, 0.95, 0.6]), np.array([True, True, True]))
    scores.add(2, np.array([0, 1, 2]), np.array([0.85, 0.9, 0.99]), np.array([True, True, False]))
    scores.merge_processes()  # one process: unchanged
    assert np.allclose(scores.p_true, [[0.9, 0.6, np.nan], [0.85, 0.9, 0.99]], equal_nan=True)
    assert scores.correct.tolist() == [[True, True, False], [True, True, False]]
    assert scores.easy(0.8).tolist() == [True, False, False]
    assert scores.easy(0.5).tolist() == [True, True, False]


def test_training_predictions_are_scored_against_their_own_videos() -> None:
    """Each prediction lands on the row of the video in its batch, in any batch order."""
    predictions, scores = TrainingPredictions(), WindowScores(1, 4)
    logits = torch.log(torch.tensor([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]]))
    predictions({"index": torch.tensor([3, 0, 2])}, logits, torch.tensor([0, 0, 1]))
    predictions.flush(scores, 1)
    assert np.allclose(scores.p_true[0], [0.2, np.nan, 0.4, 0.7], equal_nan=True)
    assert scores.correct[0].tolist() == [False, False, False, True]
    assert predictions.parts == []
