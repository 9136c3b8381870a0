"""Choosing the validation videos: the same held-out set whatever the clip span leaves usable."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipcop.engine.reporting import Reporter
from clipcop.workflows.data import hold_out, listed_training, prepare_videos
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
