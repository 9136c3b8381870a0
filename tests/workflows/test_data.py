"""Choosing the validation videos: the same held-out set whatever the clip span leaves usable."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipcop.clips.datasets import VideoRef
from clipcop.engine.checkpoint import read_meta
from clipcop.engine.reporting import Reporter
from clipcop.workflows.data import hold_out, listed_training, prepare_videos
from tests.cli.run import one_error_line, run_cli
from tests.conftest import write_index_video


def test_validation_never_takes_in_videos_a_shorter_span_trained_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A longer tuple (a later task-curriculum stage) makes a held-out video too short: validation
    shrinks instead of drawing a replacement from the videos the earlier stage trained on."""
    root = tmp_path / "videos"
    for k in range(40):
        write_index_video(root / f"class{k % 2}" / f"v{k:02d}.avi", 30, 16, 16)
    everything = prepare_videos(root, dataset="folder", workers=0, reporter=Reporter(quiet=True))
    trained, validated = hold_out(everything.train, 800, listed=listed_training(everything))
    assert len(validated) == len(everything.train) // 10 >= 2
    write_index_video(validated[0].path, 10, 16, 16)  # now too short for a 20-frame span
    longer = prepare_videos(
        root, dataset="folder", min_frames=20, workers=0, reprobe=True, reporter=Reporter(quiet=True)
    )
    assert validated[0].path.relative_to(longer.dataset.video_root).as_posix() in longer.too_short
    train, validation = hold_out(longer.train, 800, Reporter(), listed=listed_training(longer))
    assert [v.path for v in validation] == [v.path for v in validated[1:]]
    assert {v.path for v in train} == {v.path for v in trained}
    said = f"1 of the {len(validated)} held-out validation videos are unreadable or too short here"
    assert f"{said}: validating on {len(validated) - 1}" in capsys.readouterr().err
    # Ranking only the usable videos (as before) would have validated on a video the first stage trained on.
    _, drawn_again = hold_out(longer.train, 800)
    assert {v.path for v in drawn_again} & {v.path for v in trained}


def test_validation_falls_back_to_the_best_ranked_usable_video(tmp_path: Path) -> None:
    """When every held-out video is unusable, one usable video still validates (the run can go on)."""
    root = tmp_path / "videos"
    for k in range(24):
        write_index_video(root / f"class{k % 2}" / f"v{k:02d}.avi", 30, 16, 16)
    everything = prepare_videos(root, dataset="folder", workers=0, reporter=Reporter(quiet=True))
    _, validated = hold_out(everything.train, 800, listed=listed_training(everything))
    for video in validated:
        write_index_video(video.path, 10, 16, 16)
    longer = prepare_videos(
        root, dataset="folder", min_frames=20, workers=0, reprobe=True, reporter=Reporter(quiet=True)
    )
    train, validation = hold_out(longer.train, 800, listed=listed_training(longer))
    assert len(validation) == 1 and validation[0] not in train
    assert len(train) + 1 == len(longer.train) == len(everything.train) - len(validated)


def test_validation_leaves_videos_to_train_on_when_the_held_out_ones_are_all_there_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """20 listed, only 2 usable and both held out: one validates, one trains (an empty training set made
    zero steps and a NaN loss)."""
    listed = [Path(f"/data/c/v{k:02d}.avi") for k in range(20)]
    held = [v.path for v in hold_out([_ref(p) for p in listed], 800, listed=listed)[1]]
    assert len(held) == 2
    train, validation = hold_out([_ref(p) for p in held], 800, Reporter(), listed=listed)
    assert len(train) == len(validation) == 1 and {v.path for v in train + validation} == set(held)
    assert "every usable training video is a held-out one: validating on 1 of them" in capsys.readouterr().err


def _ref(path: Path) -> VideoRef:
    return VideoRef(path, 30, 0)


def test_resume_refuses_a_run_whose_validation_videos_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings all equal, but a held-out video became too short: "best" would compare different sets."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "videos"
    for k in range(30):
        write_index_video(root / f"class{k % 2}" / f"v{k:02d}.avi", 24, 16, 16)
    args = ["pretrain", "--data", root, "--dataset", "folder", "--width", 4, "--cl", 4, "--it", 1, "--tl", 3]
    args += ["--resize", "16x20", "--crop", 16, "--batch-size", 4, "--workers", 0, "--out", "run"]
    assert run_cli(capsys, *args, "--epochs", 1).code == 0
    recorded = read_meta(tmp_path / "run" / "last.safetensors")["validation"]
    prepared = prepare_videos(root, dataset="folder", workers=0, reporter=Reporter(quiet=True))
    _, validated = hold_out(prepared.train, 800, listed=listed_training(prepared))
    assert recorded["videos"] == len(validated) >= 2
    write_index_video(validated[0].path, 10, 16, 16)  # shorter than the 14-frame tuple span now
    line = one_error_line(run_cli(capsys, *args, "--epochs", 2, "--resume"))
    assert f"validated on other videos ({len(validated)} then, {len(validated) - 1} now" in line
