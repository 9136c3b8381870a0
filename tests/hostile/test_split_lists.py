"""Split lists as a hostile user writes them: paths that climb out of the data folder, duplicate lines, a
video in both train and test, names with spaces, and listed names that are links, FIFOs or folders.

Each ends in one error naming the file and line, or in a warning with a count; no input file changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clipcop.errors import DataError
from clipcop.videos.layouts import load_dataset
from clipcop.videos.split import describe_unusable
from tests.cli.run import one_error_line, run_cli
from tests.hostile.helpers import snapshot
from tests.videos.test_layouts import make_hmdb, make_ucf

LISTS = "ucfTrainTestlist"


def _edit(path: Path, *, add: list[str] | None = None, first: str | None = None) -> None:
    """Replace the first line of a CRLF split file with ``first`` and/or append ``add`` lines."""
    lines = path.read_text().splitlines()
    if first is not None:
        lines[0] = first
    path.write_bytes("".join(f"{line}\r\n" for line in [*lines, *(add or [])]).encode())


@pytest.mark.parametrize(
    "line",
    [
        "YoYo/../../../etc/passwd 3",  # reaches outside the dataset
        "YoYo/../ApplyEyeMakeup/v_ApplyEyeMakeup_g25_c01.avi 3",  # stays inside, under the wrong label
        "/etc/passwd 3",
        "YoYo\\..\\..\\x.avi 3",  # Windows separators
    ],
)
def test_a_ucf_path_out_of_its_folder_is_refused_naming_the_line(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_ucf(tmp_path / "UCF101")
    _edit(root / LISTS / "trainlist01.txt", add=[line])
    before = snapshot(root)
    number = len((root / LISTS / "trainlist01.txt").read_text().splitlines())
    result = run_cli(capsys, "data", "index", root, "--workers", 0)
    error = one_error_line(result)
    assert result.code == 2
    assert f"trainlist01.txt line {number}:" in error
    assert ("absolute path" in error) if line.startswith("/") else ("climbs out of its folder with '..'" in error)
    assert snapshot(root) == before


def test_folder_and_hmdb_split_lines_are_held_inside_too(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    for rel in ("walk/a.avi", "run/b.avi"):
        (mine / rel).parent.mkdir(parents=True, exist_ok=True)
        (mine / rel).write_bytes(b"\0")
    (mine / "splits").mkdir()
    (mine / "splits" / "train.txt").write_text("walk/a.avi\nwalk/../../outside.avi\n")
    (mine / "splits" / "test.txt").write_text("run/b.avi\n")
    with pytest.raises(DataError, match=r"train.txt line 2: 'walk/../../outside.avi' climbs out"):
        load_dataset(mine)
    hmdb = make_hmdb(tmp_path / "HMDB51")
    split_file = hmdb / "testTrainMulti_7030_splits" / "catch_test_split1.txt"
    split_file.write_text(split_file.read_text() + "../brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1\n")
    with pytest.raises(DataError, match=r"catch_test_split1.txt line 4: .* climbs out"):
        load_dataset(hmdb)


def test_duplicate_lines_are_dropped_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_ucf(tmp_path / "UCF101")
    train = root / LISTS / "trainlist01.txt"
    lines = train.read_text().splitlines()
    _edit(train, add=[lines[0], lines[1], lines[0]])
    before = snapshot(root)
    ds = load_dataset(root, split=1)
    assert len(ds.train) == len(lines)  # each video once
    assert f"3 duplicate lines in trainlist01.txt ignored, e.g. {lines[0].split()[0]}" in ds.warnings
    result = run_cli(capsys, "data", "index", root, "--workers", 0)
    assert result.code == 0
    assert "warning: " in result.err and "3 duplicate lines in trainlist01.txt ignored" in result.err
    assert snapshot(root) == before


def test_a_video_in_train_and_test_is_a_leak_and_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_ucf(tmp_path / "UCF101")
    test_lines = (root / LISTS / "testlist01.txt").read_text().splitlines()
    leaked = [test_lines[0], test_lines[1]]
    labels = {"ApplyEyeMakeup": 1, "HandstandPushups": 2, "YoYo": 3}
    _edit(root / LISTS / "trainlist01.txt", add=[f"{rel} {labels[rel.split('/')[0]]}" for rel in leaked])
    before = snapshot(root)
    result = run_cli(capsys, "data", "index", root, "--workers", 0)
    error = one_error_line(result)
    assert result.code == 2
    assert "2 videos are listed in both trainlist01.txt and testlist01.txt" in error
    assert sorted(leaked)[0] in error
    assert snapshot(root) == before


@pytest.mark.parametrize("listing", ["trainlist01.txt", "testlist01.txt"])
def test_a_ucf_name_with_spaces_says_it_breaks_the_label_column(
    tmp_path: Path, listing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_ucf(tmp_path / "UCF101")
    spaced = root / "UCF-101" / "YoYo" / "v_YoYo g01 c09.avi"
    spaced.write_bytes(b"\0")
    _edit(root / LISTS / listing, add=["YoYo/v_YoYo g01 c09.avi" + (" 3" if listing.startswith("train") else "")])
    result = run_cli(capsys, "data", "index", root, "--workers", 0)
    error = one_error_line(result)
    assert result.code == 2
    assert f"{listing} line" in error and "a video name with spaces breaks the label column" in error


def test_links_fifos_and_folders_named_as_videos_are_counted_by_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_ucf(tmp_path / "UCF101")
    videos = root / "UCF-101"
    listed = [line.split()[0] for line in (root / LISTS / "trainlist01.txt").read_text().splitlines()]
    fifo, folder, broken, loop, gone, fifo2 = listed[:6]
    for rel in (fifo, folder, broken, loop, gone, fifo2):
        (videos / rel).unlink()
    os.mkfifo(videos / fifo)
    os.mkfifo(videos / fifo2)
    (videos / folder).mkdir()
    (videos / broken).symlink_to(tmp_path / "nowhere.avi")
    (videos / loop).symlink_to(videos / loop)
    ds = load_dataset(root, split=1)
    kinds = dict(ds.unusable)
    assert kinds == {
        fifo: "FIFO",
        folder: "folder",
        broken: "broken link",
        loop: "link loop",
        gone: "missing",
        fifo2: "FIFO",
    }
    assert set(ds.missing) == set(kinds)
    assert not {fifo, folder, broken, loop, gone, fifo2} & {item.path for item in ds.train + ds.test}
    text = describe_unusable(kinds)
    assert text.startswith("6 (2 FIFO, 1 folder, 1 broken link, 1 link loop, 1 missing), e.g. ")
    result = run_cli(capsys, "data", "index", root, "--workers", 0)  # never opens the FIFOs (it would hang)
    assert result.code == 0
    warning = next(line for line in result.err.splitlines() if "not usable video files" in line)
    assert "6 (2 FIFO" in warning and f"{fifo} (FIFO)" in warning and f"{folder} (folder)" in warning


def test_class_folders_without_split_files_report_what_is_not_a_video_file(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for rel in ("walk/a.avi", "walk/b.avi", "run/c.avi", "run/d.avi"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\0")
    os.mkfifo(root / "walk" / "pipe.avi")
    os.mkfifo(root / "run" / "pipe2.mp4")
    (root / "run" / "folder.avi").mkdir()
    ds = load_dataset(root)
    assert {item.path for item in ds.train + ds.test} == {"walk/a.avi", "walk/b.avi", "run/c.avi", "run/d.avi"}
    (warning,) = [w for w in ds.warnings if "not video files" in w]
    assert "3 (2 FIFO, 1 folder), e.g. " in warning and "walk/pipe.avi (FIFO)" in warning
    assert "run/folder.avi (folder)" in warning
