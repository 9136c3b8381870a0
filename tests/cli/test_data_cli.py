"""``clipcop data synth`` and ``clipcop data index`` through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from clipcop.errors import UsageError
from clipcop.videos.decoder import read_frames
from clipcop.videos.layouts import load_dataset
from clipcop.workflows.cache import cache_frames
from tests.cli.run import one_error_line, run_cli
from tests.conftest import write_index_video


def test_synth_writes_a_ucf101_layout_deterministically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--classes",
        3,
        "--videos-per-class",
        4,
        "--frames",
        20,
        "--size",
        "32x40",
        "--seed",
        7,
        "--workers",
        1,
    ]
    first = run_cli(capsys, "data", "synth", tmp_path / "a", *args, "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["videos"] == 12
    run_cli(capsys, "data", "synth", tmp_path / "b", *args)
    lists = tmp_path / "a" / "ucfTrainTestlist"
    assert lists.joinpath("classInd.txt").read_bytes().startswith(b"1 MoveHorizontal\r\n")
    ds = load_dataset(tmp_path / "a")
    assert ds.layout == "ucf101" and len(ds.train) + len(ds.test) == 12 and ds.test
    # 4 videos a class make one group of 4: each video is then its own group, so no split is empty.
    assert all(
        load_dataset(tmp_path / "a", split=k).train and load_dataset(tmp_path / "a", split=k).test for k in (1, 2, 3)
    )
    video = ds.test[0].path
    a = read_frames(tmp_path / "a" / "UCF-101" / video, [0, 5])
    b = read_frames(tmp_path / "b" / "UCF-101" / video, [0, 5])
    assert np.array_equal(a, b)
    facts = json.loads((tmp_path / "a" / "facts.json").read_text())
    assert facts["videos"][video]["motion"] == video.split("/")[0]


def test_index_reports_counts_and_names_bad_files(
    tiny_synth: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Bad files are named once, by clipcop: the decoders' own log lines (from worker processes) stay out."""
    capsys = capfd  # file-descriptor level: what the probing processes write to stderr is captured too
    data = tmp_path / "synth"
    shutil.copytree(tiny_synth, data)
    victims = sorted((data / "UCF-101" / "Rotate").iterdir())
    victims[0].write_bytes(b"")  # zero bytes
    victims[1].write_text("hello, I am a text file\n" * 20)  # text renamed .avi
    corrupt = victims[2].read_bytes()
    victims[2].write_bytes(corrupt[:200] + bytes(len(corrupt) - 200))  # header kept, data zeroed
    write_index_video(victims[3], 10)  # a real video, but too short for the span below
    result = run_cli(capsys, "data", "index", data, "--cl", 4, "--it", 2, "--tl", 3, "--workers", 2, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    bad = {**report["train"]["unreadable"], **report["test"]["unreadable"]}
    short = {**report["train"]["too_short"], **report["test"]["too_short"]}
    assert f"Rotate/{victims[0].name}" in bad and f"Rotate/{victims[1].name}" in bad
    assert short == {f"Rotate/{victims[3].name}": 10}
    total = report["train"]["videos"] + report["test"]["videos"]
    usable = report["train"]["usable"] + report["test"]["usable"]
    assert total == 32 and usable == total - len(bad) - len(short)
    for name in bad:
        assert name in result.err  # named on stderr too
    assert "ERROR opening" not in result.err and "[h264" not in result.err and "[mpeg4" not in result.err
    again = run_cli(capsys, "data", "index", data, "--cl", 4, "--it", 2, "--json")
    assert json.loads(again.out)["probed"] == 0
    # What was left out reaches scripts reading --json results, here of an extraction.
    extract = ["extract", "--random", "--arch", "r3d", "--width", 4, "--cl", 4, "--resize", "24x32", "--crop", 16]
    extracted = run_cli(capsys, *extract, "--data", data, "--workers", 0, "--out", tmp_path / "f.safetensors", "--json")
    assert extracted.code == 0, extracted.err
    assert json.loads(extracted.out)["skipped"] == {"missing": 0, "unreadable": len(bad), "too_short": 0}


def test_index_of_a_missing_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(run_cli(capsys, "data", "index", tmp_path / "nowhere"))
    assert "does not exist" in line


def test_synth_rejects_impossible_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--classes" in one_error_line(run_cli(capsys, "data", "synth", tmp_path, "--classes", 40))
    assert "HEIGHTxWIDTH" in one_error_line(run_cli(capsys, "data", "synth", tmp_path, "--size", "big"))
    assert "--seed" in one_error_line(run_cli(capsys, "data", "synth", tmp_path / "s", "--seed", -1))


def test_synth_never_writes_into_an_existing_dataset_or_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = ["--classes", 1, "--videos-per-class", 2, "--frames", 12, "--size", "16x16", "--workers", 1]
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    assert "not empty" in one_error_line(run_cli(capsys, "data", "synth", tmp_path / "used", *small))
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["keep.txt"]
    (tmp_path / "afile").write_text("x")
    assert "is a file" in one_error_line(run_cli(capsys, "data", "synth", tmp_path / "afile", *small))
    (tmp_path / "empty").mkdir()
    assert run_cli(capsys, "data", "synth", tmp_path / "empty", *small).code == 0
    assert (tmp_path / "empty" / "facts.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "empty", "used"]  # no partial folder left
    assert not (tmp_path / "empty" / ".clipcop-partial").exists()
    # An empty folder given as "." or through a symbolic link is filled in place, questions included.
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    assert run_cli(capsys, "data", "synth", ".", *small, "--qa").code == 0
    assert (tmp_path / "here" / "facts.json").is_file() and (tmp_path / "here" / "qa" / "test_q.json").is_file()
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert run_cli(capsys, "data", "synth", tmp_path / "link", *small).code == 0
    assert (tmp_path / "real" / "facts.json").is_file()
    # What an interrupted run leaves behind does not count as content and is cleared.
    (tmp_path / "again" / ".clipcop-partial" / "UCF-101").mkdir(parents=True)
    assert run_cli(capsys, "data", "synth", tmp_path / "again", *small).code == 0
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["UCF-101", "facts.json", "ucfTrainTestlist"]


def test_cache_skips_and_names_a_video_that_no_longer_decodes(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "synth"
    shutil.copytree(tiny_synth, data)
    assert run_cli(capsys, "data", "index", data, "--workers", 1).code == 0
    victim = sorted((data / "UCF-101" / "Rotate").iterdir())[0]
    stat = victim.stat()
    victim.write_bytes(bytes(stat.st_size))  # same size and time: the manifest still lists it as readable
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    args = ["data", "cache", data, "--resize", "24x32", "--out", tmp_path / "cache", "--workers", 2, "--json"]
    first = run_cli(capsys, *args)
    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert report["failed"] == 1 and report["failed_videos"] == [str(victim)]
    assert report["written"] == report["videos"] - 1 and f"skipped {victim}" in first.err
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == report["written"]
    again = json.loads(run_cli(capsys, *args).out)
    assert again["written"] == 0 and again["failed"] == 1


def test_cache_that_cannot_fit_stops_before_writing(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=100_000))
    result = run_cli(capsys, "data", "cache", tiny_synth, "--resize", "24x32", "--out", tmp_path / "c", "--workers", 1)
    line = one_error_line(result)
    assert "the frame cache needs 2.8 MiB at 24x32" in line and "has 97.7 KiB free" in line  # units that fit
    assert not list(tmp_path.rglob("*.npy"))


def test_cache_in_a_place_that_cannot_hold_it_stops_before_probing(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipcop.workflows import cache

    def no_probing(*args: object, **kwargs: object) -> None:
        raise AssertionError("videos were probed before the cache folder was checked")

    monkeypatch.setattr(cache, "prepare_videos", no_probing)
    args = ["data", "cache", tiny_synth, "--resize", "24x32", "--workers", 1, "--out"]
    result = run_cli(capsys, *args, "/proc/clipcop-cache")
    assert one_error_line(result) == (
        "clipcop: error: cannot create the frame cache folder /proc/clipcop-cache: No such file or directory"
    )
    (tmp_path / "afile").write_text("x")
    result = run_cli(capsys, *args, tmp_path / "afile")
    assert one_error_line(result).startswith("clipcop: error: cannot create the frame cache folder")
    assert result.code == 2


def test_cache_writes_a_jpeg_store_that_training_reads(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "jpeg"
    args = ["data", "cache", tiny_synth, "--resize", "24x32", "--out", store, "--workers", 1, "--json"]
    first = run_cli(capsys, *args, "--format", "jpeg", "--quality", 80, "--shard-frames", 500)
    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert report["format"] == "jpeg" and report["written"] == report["videos"] == 32 and report["failed"] == 0
    assert 0 < report["mib_total"] == report["mib_written"] and report["seconds"] > 0
    assert len(list((store / "jpeg" / "24x32" / "shards").glob("*.jpegs"))) == 3  # 32 x ~40 frames, 500 a shard
    assert json.loads(run_cli(capsys, *args, "--format", "jpeg", "--quality", 80).out)["written"] == 0
    raw = json.loads(run_cli(capsys, *args[:-3], "--out", tmp_path / "raw", "--workers", 1, "--json").out)
    assert raw["format"] == "raw" and raw["mib_total"] > report["mib_total"]
    wrong = one_error_line(run_cli(capsys, *args, "--format", "png"))
    assert wrong.startswith(
        "clipcop data cache: error: Invalid value for '--format': 'png' is not one of 'raw', 'jpeg'"
    )
    with pytest.raises(UsageError, match="--format must be raw or jpeg, not 'png'"):  # the library checks it too
        cache_frames(tiny_synth, resize=(24, 32), out=tmp_path / "png", format="png")
    train = ["pretrain", "--data", tiny_synth, "--width", 4, "--cl", 4, "--it", 2, "--resize", "24x32", "--crop", 16]
    train += ["--epochs", 1, "--workers", 0, "--frame-cache", store, "--out", tmp_path / "run"]
    if not torch.cuda.is_available():
        line = one_error_line(run_cli(capsys, *train, "--decode-on", "cuda"))
        assert line.startswith("clipcop: error: --decode-on cuda decodes JPEG frames with nvJPEG and needs a CUDA GPU")
    assert run_cli(capsys, *train, "--device", "cpu", "--json").code == 0


def test_a_negative_worker_count_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_synth: Path
) -> None:
    synth = run_cli(capsys, "data", "synth", tmp_path / "new", "--workers", -1)
    assert one_error_line(synth) == "clipcop: error: --workers must be 0 or more, not -1"
    assert not (tmp_path / "new").exists()
    for command in (["index", tiny_synth], ["cache", tiny_synth, "--out", tmp_path / "cache"]):
        refused = run_cli(capsys, "data", *command, "--workers", -2)
        assert "--workers must be 0 or more, not -2" in one_error_line(refused)
    assert not (tmp_path / "cache").exists()
