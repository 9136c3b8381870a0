"""Dataset layouts: UCF101, HMDB51 and class folders, read from their real file names and split files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipcop.errors import DataError, UsageError
from clipcop.videos.layouts import detect_layout, load_dataset
from tests.conftest import crlf

UCF_CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")


def make_ucf(root: Path) -> Path:
    """A miniature UCF101: real naming (with the HandstandPushups quirk), CRLF split files, 3 splits."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes(crlf([f"{i + 1} {c}" for i, c in enumerate(UCF_CLASSES)]).encode())
    files = {}
    for label, cls in enumerate(UCF_CLASSES):
        stem = "HandStandPushups" if cls == "HandstandPushups" else cls
        for group in range(1, 26, 3):
            rel = f"{cls}/v_{stem}_g{group:02d}_c01.avi"
            _touch(root / "UCF-101" / rel)
            files[rel] = (label, group)
    for split in (1, 2, 3):
        tested = range(7 * (split - 1) + 1, 7 * split + 1)
        train = [f"{rel} {label + 1}" for rel, (label, g) in files.items() if g not in tested]
        test = [rel for rel, (label, g) in files.items() if g in tested]
        (lists / f"trainlist0{split}.txt").write_bytes(crlf(train).encode())
        (lists / f"testlist0{split}.txt").write_bytes(crlf(test).encode())
    return root


def test_ucf101_split1_tests_groups_1_to_7_and_labels_follow_the_folder(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    assert detect_layout(root) == "ucf101"
    ds = load_dataset(root, split=1)
    assert ds.layout == "ucf101" and list(ds.classes) == UCF_CLASSES
    assert ds.video_root == root / "UCF-101"
    assert all(int(item.path.split("_g")[1][:2]) <= 7 for item in ds.test)
    assert all(int(item.path.split("_g")[1][:2]) > 7 for item in ds.train)
    quirk = [item for item in ds.train + ds.test if "HandStandPushups" in item.path]
    assert quirk and {item.label for item in quirk} == {1}
    assert {item.label for item in ds.test} == {0, 1, 2}
    assert not ds.missing


@pytest.mark.parametrize("split", [2, 3])
def test_ucf101_other_splits(tmp_path: Path, split: int) -> None:
    ds = load_dataset(make_ucf(tmp_path / "UCF101"), split=split)
    groups = {int(item.path.split("_g")[1][:2]) for item in ds.test}
    assert groups <= set(range(7 * (split - 1) + 1, 7 * split + 1))


def test_ucf101_found_from_the_video_folder_too(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    ds = load_dataset(root / "UCF-101", split=1)
    assert ds.layout == "ucf101" and len(ds.classes) == 3


def test_ucf101_wrong_label_is_one_clear_error(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    path = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = path.read_text().splitlines()
    rel = lines[0].split()[0]
    path.write_text("\r\n".join([f"{rel} 3", *lines[1:]]) + "\r\n")
    with pytest.raises(DataError, match=r"trainlist01.txt line 1: label 3 .* classInd.txt"):
        load_dataset(root, split=1)


def test_ucf101_class_missing_from_class_index(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    index = root / "ucfTrainTestlist" / "classInd.txt"
    index.write_bytes(crlf(["1 ApplyEyeMakeup", "2 HandstandPushups"]).encode())
    with pytest.raises(DataError, match=r"'YoYo' is not in classInd\.txt"):
        load_dataset(root, split=1)


def test_ucf101_missing_files_are_reported_not_fatal(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    victim = next((root / "UCF-101" / "YoYo").iterdir())
    victim.unlink()
    ds = load_dataset(root, split=1)
    assert ds.missing == (f"YoYo/{victim.name}",)


def make_hmdb(root: Path) -> Path:
    """A miniature HMDB51 with its awkward file names and 0/1/2 split codes."""
    names = {
        "brush_hair": [
            "April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
            "Blonde_being_brushed_(1)_brush_hair_f_nm_np2_ri_med_1.avi",
        ],
        "cartwheel": [
            "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi",
            "Acrobacias_&_Cartwheel_cartwheel_f_cm_np1_ba_bad_1.avi",
        ],
        "catch": [
            "Ball_hochwerfen_-_Rolle_-_Ball_fangen_(Timo_3)_catch_f_cm_np1_fr_goo_0.avi",
            "catch_me_catch_f_cm_np1_ri_med_2.avi",
        ],
    }
    lists = root / "testTrainMulti_7030_splits"
    lists.mkdir(parents=True)
    for cls, videos in names.items():
        for video in videos:
            _touch(root / "hmdb51" / cls / video)
        for split in (1, 2, 3):
            codes = [1, 2] if split != 2 else [2, 1]
            lines = [f"{v} {c} " for v, c in zip(videos, codes, strict=True)] + ["unused_video_0.avi 0 "]
            (lists / f"{cls}_test_split{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_hmdb51_codes_names_and_sorted_class_ids(tmp_path: Path) -> None:
    root = make_hmdb(tmp_path / "HMDB51")
    assert detect_layout(root) == "hmdb51"
    ds = load_dataset(root, split=1)
    assert ds.classes == ("brush_hair", "cartwheel", "catch")
    assert ds.video_root == root / "hmdb51"
    assert len(ds.train) == 3 and len(ds.test) == 3
    special = {item.path: item.label for item in ds.train + ds.test}
    assert special["cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi"] == 1
    assert special["cartwheel/Acrobacias_&_Cartwheel_cartwheel_f_cm_np1_ba_bad_1.avi"] == 1
    assert all((ds.video_root / p).is_file() for p in special)
    assert not any("unused" in item.path for item in ds.train + ds.test)
    ds2 = load_dataset(root, split=2)
    assert {i.path for i in ds2.train} == {i.path for i in ds.test}


def test_hmdb51_bad_code_is_one_clear_error(tmp_path: Path) -> None:
    root = make_hmdb(tmp_path / "HMDB51")
    (root / "testTrainMulti_7030_splits" / "catch_test_split1.txt").write_text("x.avi 7\n")
    with pytest.raises(DataError, match=r"catch_test_split1\.txt line 1"):
        load_dataset(root, split=1)


def test_folder_layout_deterministic_split(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for cls in ("a", "b"):
        for i in range(20):
            _touch(root / cls / f"clip{i}.mp4")
    (root / "a" / "notes.txt").write_text("not a video")
    assert detect_layout(root) == "folder"
    first, second = load_dataset(root), load_dataset(root)
    assert first.classes == ("a", "b")
    assert [i.path for i in first.test] == [i.path for i in second.test]
    assert 4 <= len(first.test) <= 20 and len(first.train) + len(first.test) == 40
    assert {i.path for i in first.train}.isdisjoint({i.path for i in first.test})


def test_folder_layout_split_files(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for cls in ("a", "b"):
        for i in range(3):
            _touch(root / cls / f"{i}.avi")
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("a/0.avi\na/1.avi\nb/0.avi\nb/1.avi\n")
    (root / "splits" / "test.txt").write_text("a/2.avi\nb/2.avi\nb/9.avi\n")
    ds = load_dataset(root, dataset="folder")
    assert [i.path for i in ds.test] == ["a/2.avi", "b/2.avi"]
    assert ds.missing == ("b/9.avi",)


def test_unlabelled_folder(tmp_path: Path) -> None:
    root = tmp_path / "loose"
    for i in range(5):
        _touch(root / f"{i}.mkv")
    ds = load_dataset(root)
    assert not ds.labelled and ds.classes == ()
    assert {i.label for i in ds.train + ds.test} == {-1}


def test_missing_path_and_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(UsageError, match="unknown dataset layout"):
        load_dataset(tmp_path, dataset="kinetics")
    with pytest.raises(DataError, match="no video files"):
        load_dataset(tmp_path)


def test_ucf101_without_its_class_index_is_an_error_not_a_folder_dataset(tmp_path: Path) -> None:
    root = make_ucf(tmp_path / "UCF101")
    (root / "ucfTrainTestlist" / "classInd.txt").unlink()
    with pytest.raises(DataError, match=r"no classInd\.txt.*--dataset folder"):
        load_dataset(root)
    assert load_dataset(root, dataset="folder").layout == "folder"  # the way out the message names


def test_folder_split_files_name_paths_with_spaces(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for rel in ("walk/clip 02 (take 2).mp4", "walk/[b] {x}.webm", "run/a.avi", "run/b.avi"):
        _touch(root / rel)
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("walk/clip 02 (take 2).mp4 1\nrun/a.avi 2\n")  # UCF-style labels
    (root / "splits" / "test.txt").write_text("walk/[b] {x}.webm\nrun/b.avi\nrun/ghost one.avi\n")
    ds = load_dataset(root)
    assert [i.path for i in ds.train] == ["walk/clip 02 (take 2).mp4", "run/a.avi"]
    assert [i.path for i in ds.test] == ["walk/[b] {x}.webm", "run/b.avi"]
    assert ds.missing == ("run/ghost one.avi",)
    _touch(root / "loose.avi")  # beside the class folders: left out, and an error when a split file names it
    (root / "splits" / "test.txt").write_text("walk/[b] {x}.webm\nloose.avi\n")
    with pytest.raises(DataError, match=r"loose\.avi is not inside a class folder"):
        load_dataset(root)


def test_folder_layout_says_what_it_leaves_out(tmp_path: Path) -> None:
    """Loose videos beside class folders, empty folders and classes without a test video are warned about;
    a class folder that is a symbolic link is a class; a broken link is listed (probing names it)."""
    root = tmp_path / "mine"
    for i in range(6):
        _touch(root / "walk" / f"{i}.mp4")
    elsewhere = tmp_path / "elsewhere" / "jump"
    for i in range(6):
        _touch(elsewhere / f"{i}.mp4")
    (root / "jump").symlink_to(elsewhere, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # a link back up the tree
    (root / "walk" / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    _touch(root / "stray.mp4")
    (root / "empty").mkdir()
    ds = load_dataset(root)
    assert ds.classes == ("jump", "walk") and ds.labelled
    every = {i.path for i in ds.train + ds.test}
    assert "walk/gone.mp4" in every and "stray.mp4" not in every and len(every) == 13
    assert any("1 videos lie beside the class folders and are left out, e.g. stray.mp4" in w for w in ds.warnings)
    assert any("hold no videos and are not classes, e.g. empty/" in w for w in ds.warnings)
    with pytest.raises(UsageError, match="--split must be 1, 2 or 3"):
        load_dataset(root, split=4)


def test_a_class_without_test_videos_is_warned_about(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for cls in ("a", "b"):
        for i in range(2):
            _touch(root / cls / f"{i}.mp4")
    ds = load_dataset(root)  # the path hash sends none of these four videos to test
    assert ds.test == () and ds.warnings == ("2 classes have no test video, e.g. a",)
