"""``clipcop extract`` and ``clipcop retrieve`` through the CLI, on real video files."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from clipcop.backbones import TAPS
from clipcop.clips.datasets import EvalClipsDataset
from clipcop.engine.reporting import Reporter
from clipcop.errors import VideoDecodeError
from clipcop.features.store import read_features
from clipcop.workflows.retrieve import retrieve
from clipcop.workflows.samples import GREY, sample_tiles
from tests.cli.run import one_error_line, run_cli

QUIET = Reporter(quiet=True)
GEOMETRY = ["--width", 4, "--cl", 4, "--resize", "24x32", "--crop", 16, "--workers", 0]


@pytest.mark.parametrize("layer", TAPS)
@pytest.mark.parametrize("pool", ["global", "spatiotemporal"])
def test_every_tap_and_pooling_gives_the_documented_shape(
    layer: str, pool: str, tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.safetensors"
    result = run_cli(
        capsys,
        "extract",
        "--random",
        "--arch",
        "r3d",
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--subset",
        "test",
        "--clips",
        3,
        "--layer",
        layer,
        "--pool",
        pool,
        "--out",
        out,
        "--json",
    )
    assert result.code == 0, result.err
    features = read_features(out)
    channels = {"conv1": 4, "conv2": 4, "conv3": 8, "conv4": 16, "conv5": 32}[layer]
    # Global: the tap's channels; spatiotemporal: 9216/512 of the deepest tap's channels for every tap.
    expected = channels if pool == "global" else 32 * 18
    n_test = len(features.video_ids)
    assert features.features.shape == (3 * n_test, expected)
    assert features.meta["layer"] == layer and features.meta["pool"] == pool and features.meta["clips"] == 3
    assert np.array_equal(features.video, np.repeat(np.arange(n_test), 3))
    assert features.classes == ["MoveHorizontal", "MoveVertical", "MoveDiagonal", "Rotate"]


def test_retrieve_one_liner_reports_both_levels_and_caches(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "retrieve",
        "--checkpoint",
        vcop_checkpoint,
        "--data",
        tiny_synth,
        "--query-split",
        "test",
        "--workers",
        0,
    ]
    result = run_cli(capsys, *args, "--k", "1,5", "--json", "--grid", "grid.png", "--save-index", "g.faiss")
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert set(payload["accuracy"]["clip"]) == set(payload["accuracy"]["video"]) == {"1", "5"}
    assert payload["grid"] == "grid.png" and payload["index"] == "g.faiss"
    assert payload["queries"]["clip"] == 10 * payload["queries"]["video"]
    assert "clip (each clip queries clips)" in result.err and "video (mean of clips)" in result.err
    assert (workdir / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (workdir / "g.faiss").is_file() and (workdir / "g.faiss.json").is_file()
    again = run_cli(capsys, *args, "--k", "1,5", "--json")
    written = {k: v for k, v in payload.items() if k not in ("grid", "index")}
    assert json.loads(again.out) == written and "using cached" in again.err


def test_cached_features_are_not_reused_once_the_videos_change(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = workdir / "data"
    shutil.copytree(tiny_synth, data)
    args = ["retrieve", "--checkpoint", vcop_checkpoint, "--data", data, "--workers", 0, "--level", "video", "--json"]
    first = run_cli(capsys, *args)
    assert first.code == 0, first.err
    assert "using cached" in run_cli(capsys, *args).err
    relative = ["retrieve", "--checkpoint", vcop_checkpoint, "--data", "data", "--workers", 0, "--level", "video"]
    assert "using cached" in run_cli(capsys, *relative).err  # the same folder spelled another way
    test_list = (data / "ucfTrainTestlist" / "testlist01.txt").read_text().split()
    (data / "UCF-101" / test_list[0]).unlink()  # same folder, one video fewer
    again = run_cli(capsys, *args)
    assert again.code == 0, again.err
    assert "using cached" not in again.err
    assert json.loads(again.out)["queries"]["video"] == json.loads(first.out)["queries"]["video"] - 1


def test_query_video_and_feature_files(
    vcop_checkpoint: Path,
    tiny_synth: Path,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for subset in ("train", "test"):
        assert (
            run_cli(
                capsys,
                "extract",
                "--checkpoint",
                vcop_checkpoint,
                "--data",
                tiny_synth,
                "--subset",
                subset,
                "--pool",
                "spatiotemporal",
                "--out",
                f"{subset}.safetensors",
                "--workers",
                0,
            ).code
            == 0
        )
    files = run_cli(capsys, "retrieve", "--gallery", "train.safetensors", "--queries", "test.safetensors", "--json")
    assert files.code == 0, files.err
    query = next((tiny_synth / "UCF-101" / "Rotate").iterdir())
    found = run_cli(capsys, "retrieve", "--gallery", "train.safetensors", "--query", query, "--k", "3", "--json")
    assert found.code == 0, found.err
    rows = json.loads(found.out)["neighbours"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["similarity"] >= rows[1]["similarity"] >= rows[2]["similarity"]
    assert all(r["class"] and r["video"].endswith(".avi") for r in rows)
    # A query that probes but then fails to decode is an error, not the neighbours of black clips.
    monkeypatch.setattr(EvalClipsDataset, "_make", _undecodable)
    line = one_error_line(run_cli(capsys, "retrieve", "--gallery", "train.safetensors", "--query", query))
    assert line == f"clipcop: error: cannot decode video {query}: simulated damage"


def _undecodable(self: EvalClipsDataset, epoch: int, index: int) -> dict[str, object]:
    raise VideoDecodeError(self.videos[index].path, "simulated damage")


def test_retrieval_errors_are_one_line(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(
        capsys,
        "extract",
        "--random",
        "--arch",
        "r3d",
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--subset",
        "train",
        "--out",
        "g512.safetensors",
    )
    run_cli(
        capsys,
        "extract",
        "--random",
        "--arch",
        "r3d",
        "--data",
        tiny_synth,
        *GEOMETRY,
        "--subset",
        "test",
        "--pool",
        "spatiotemporal",
        "--out",
        "q9216.safetensors",
    )
    line = one_error_line(
        run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--queries", "q9216.safetensors")
    )
    assert "32-d" in line and "576-d" in line
    assert "does not exist" in one_error_line(
        run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--query", "nope.mp4")
    )
    assert "not c3d" in one_error_line(
        run_cli(capsys, "extract", "--checkpoint", vcop_checkpoint, "--arch", "c3d", "--data", tiny_synth)
    )
    assert "--random" in one_error_line(run_cli(capsys, "extract", "--data", tiny_synth))
    assert "--k" in one_error_line(
        run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--queries", "g512.safetensors", "--k", "one")
    )
    clip_grid = ["--level", "clip", "--grid", "grid.png"]
    line = one_error_line(
        run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--queries", "g512.safetensors", *clip_grid)
    )
    assert "use --level video or both" in line and not (workdir / "grid.png").exists()
    # Pairs that search but mean little are said: one file on both sides, two models, k beyond the gallery.
    both = run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--queries", "g512.safetensors", "--k", "1,500")
    assert both.code == 0 and "g512.safetensors is both gallery and queries" in both.err
    assert "top-500 asks for more than the" in both.err and "different models" not in both.err
    other = ["extract", "--random", "--arch", "r3d", "--seed", 1, "--data", tiny_synth, *GEOMETRY, "--subset", "test"]
    assert run_cli(capsys, *other, "--out", "q_seed1.safetensors").code == 0
    mixed = run_cli(capsys, "retrieve", "--gallery", "g512.safetensors", "--queries", "q_seed1.safetensors")
    assert mixed.code == 0 and "come from different models" in mixed.err and "(seed 0)" in mixed.err
    # Zero overrides were once taken as "not given" and silently replaced by the checkpoint's values.
    extract = ["extract", "--checkpoint", vcop_checkpoint, "--data", tiny_synth, "--workers", 0]
    assert "--cl must be at least 1" in one_error_line(run_cli(capsys, *extract, "--cl", 0))
    assert "--crop must be at least 1" in one_error_line(run_cli(capsys, *extract, "--crop", 0))
    assert "--batch-size must be at least 1" in one_error_line(run_cli(capsys, *extract, "--batch-size", 0))


def test_failed_videos_are_listed_in_the_feature_file(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipcop.backbones import build_backbone
    from clipcop.clips.datasets import VideoRef
    from clipcop.config import ClipGeometry
    from clipcop.engine.device import resolve_runtime
    from clipcop.features.extract import ExtractionStats, extract_to_file

    good = next((tiny_synth / "UCF-101" / "Rotate").iterdir())
    bad = tmp_path / "bad.avi"
    bad.write_text("broken")

    def extract_videos(videos: list[VideoRef], names: list[str], out: str) -> ExtractionStats:
        geometry = ClipGeometry(resize=(24, 32), crop=16)
        backbone, runtime = build_backbone("r3d", width=4), resolve_runtime("cpu")
        return extract_to_file(
            backbone, videos, names, tmp_path / out, clip_len=4, num_clips=2, geometry=geometry,
            layer="conv5", pool="global", runtime=runtime, meta={}, workers=0,
        )  # fmt: skip

    stats = extract_videos([VideoRef(good, 30, 3), VideoRef(bad, 30, 1)], ["good", "bad"], "f.safetensors")
    features = read_features(stats.path)
    assert features.failed == ["bad"] == stats.failed
    assert features.valid_videos().tolist() == [True, False]
    assert np.all(np.asarray(features.features)[2:] == 0)
    # A gallery whose every video failed cannot be searched: one line, not a FAISS assertion.
    empty = extract_videos([VideoRef(bad, 30, 1)], ["bad"], "empty.safetensors")
    result = run_cli(capsys, "retrieve", "--gallery", empty.path, "--queries", stats.path)
    assert one_error_line(result) == (
        f"clipcop: error: {empty.path} has no clip features to search (every video failed to decode?)"
    )
    # An extraction interrupted half-way leaves neither the file nor its temporary rows behind.
    monkeypatch.setattr("clipcop.features.extract.pool_tap", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        extract_videos([VideoRef(good, 30, 3)], ["good"], "cut.safetensors")
    assert not (tmp_path / "cut.safetensors").exists() and not list(tmp_path.glob(".*.partial"))


def _interrupt(*args: object, **keywords: object) -> None:
    raise KeyboardInterrupt


def test_videos_shorter_than_a_clip_are_counted_not_silently_padded(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tiny_synth's videos have 34-46 frames: 60-frame clips repeat their last frames, and that is said.
    args = ["extract", "--checkpoint", vcop_checkpoint, "--data", tiny_synth, "--subset", "test", "--workers", 0]
    result = run_cli(capsys, *args, "--cl", 60, "--clips", 1, "--out", "long.safetensors")
    assert result.code == 0, result.err
    videos = len(read_features(workdir / "long.safetensors").video_ids)
    assert f"{videos} of {videos} videos are shorter than a 60-frame clip" in result.err
    normal = run_cli(capsys, *args, "--clips", 1, "--out", "short.safetensors")
    assert normal.code == 0 and "shorter than" not in normal.err


def test_across_datasets_the_neighbours_are_listed_by_each_files_own_classes(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Queries of another class list (the paper's Fig. 9): no accuracy, but named neighbours, and the CSV."""
    other = workdir / "other"
    synth = ["data", "synth", other, "--classes", 3, "--videos-per-class", 4, "--frames", 40, "--size", "32x40"]
    assert run_cli(capsys, *synth, "--seed", 9, "--workers", 1).code == 0
    extract = ["extract", "--checkpoint", vcop_checkpoint, "--workers", 0, "--clips", 3]
    assert run_cli(capsys, *extract, "--data", tiny_synth, "--subset", "train", "--out", "g.safetensors").code == 0
    # Read as a plain class-folder dataset, its class ids follow sorted names: other ids than the gallery's.
    queried = ["--data", other / "UCF-101", "--dataset", "folder", "--subset", "test", "--out", "q.safetensors"]
    assert run_cli(capsys, *extract, *queried).code == 0
    files = ["--gallery", "g.safetensors", "--queries", "q.safetensors", "--k", "1,4"]
    result = run_cli(capsys, "retrieve", *files, "--neighbours", "n.csv", "--grid", "grid.png", "--json")
    assert result.code == 0, result.err
    assert "no accuracy" in result.err and "Nearest video-level neighbours of the first queries" in result.err
    payload = json.loads(result.out)
    assert not any(payload["accuracy"].values())
    assert payload["neighbours_csv"] == "n.csv" and payload["grid"] == "grid.png" and (workdir / "grid.png").is_file()
    with open(workdir / "n.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    gallery, queries = read_features(workdir / "g.safetensors"), read_features(workdir / "q.safetensors")
    assert gallery.classes[:3] != queries.classes and set(queries.classes) < set(gallery.classes)
    for level in ("clip", "video"):
        mine = [r for r in rows if r["level"] == level]
        assert len(mine) == 4 * payload["queries"][level]  # the largest k for every query
        for r in mine:
            assert r["query"] in queries.video_ids and r["video"] in gallery.video_ids
            assert r["query_class"] == r["query"].split("/")[0]  # its own class list, not the gallery's
            assert r["class"] == r["video"].split("/")[0]
            assert (r["start"] != "") == (r["query_start"] != "") == (level == "clip")
        first = [float(r["similarity"]) for r in mine[:4]]
        assert first == sorted(first, reverse=True)
    # The --grid picture: each video captioned with its own file's class, neighbours framed grey.
    searched = retrieve(gallery="g.safetensors", queries="q.safetensors", level="video", reporter=QUIET)
    tiles = sample_tiles(searched, queries=2, top=2)
    assert [t.caption for t in tiles[::3]] == [
        f"query: {queries.video_ids[int(t.number)].split('/')[0]}" for t in tiles[::3]
    ]
    assert all(t.colour == GREY for t in tiles) and all(t.features.path.name == "g.safetensors" for t in tiles[1:3])
    line = one_error_line(run_cli(capsys, "retrieve", *files, "--neighbours", workdir))
    assert line == f"clipcop: error: --neighbours {workdir} is a folder: name a .csv file to write"


def test_extract_out_never_replaces_somebody_elses_file(
    tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked before any video is read: a folder, a file that is not a feature file, or an unwritable place
    is one line; an earlier feature file is replaced, and said so."""
    extract = ["extract", "--random", "--arch", "r3d", "--data", tiny_synth, *GEOMETRY, "--subset", "test"]
    (workdir / "thesis.txt").write_text("my thesis draft\n")
    line = one_error_line(run_cli(capsys, *extract, "--out", "thesis.txt"))
    assert "--out thesis.txt exists and is not a clipcop feature file" in line
    assert (workdir / "thesis.txt").read_text() == "my thesis draft\n"
    (workdir / "folder").mkdir()
    assert "is a folder" in one_error_line(run_cli(capsys, *extract, "--out", "folder"))
    assert run_cli(capsys, *extract, "--out", "f.safetensors").code == 0
    again = run_cli(capsys, *extract, "--out", "f.safetensors", "--clips", 2)
    assert again.code == 0 and "replacing the earlier feature file f.safetensors" in again.err
    assert read_features(workdir / "f.safetensors").meta["clips"] == 2


def test_every_layer_in_one_command_matches_one_layer_at_a_time(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--layer all`` (Table IV): one extraction pass per side gives every tap's file, each the same
    rows as extracting that tap alone, and one table of top-k by layer and level."""
    model = ["--checkpoint", vcop_checkpoint, "--data", tiny_synth, "--workers", 0, "--clips", 2, "--k", "1,5"]
    result = run_cli(capsys, "retrieve", *model, "--layer", "all", "--json")
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert list(payload["layers"]) == list(TAPS)
    assert all(set(levels) == {"clip", "video"} for levels in payload["layers"].values())
    assert payload["accuracy"] == payload["layers"]["conv5"]  # the other keys: the deepest layer's search
    assert "by layer" in result.err and result.err.count("extracting conv1,conv2,conv3,conv4,conv5/") == 2
    alone = run_cli(capsys, "retrieve", *model, "--layer", "conv3", "--json")
    assert "using cached" in alone.err  # the all-layers pass wrote conv3's file where one tap looks for it
    assert json.loads(alone.out)["accuracy"] == payload["layers"]["conv3"] and "layers" not in json.loads(alone.out)
    cached = sorted((Path(os.environ["CLIPCOP_CACHE"]) / "features").glob("*.safetensors"))
    fresh = run_cli(capsys, "extract", *model[:6], "--clips", 2, "--layer", "conv3", "--subset", "test",
                    "--pool", "spatiotemporal", "--out", "conv3.safetensors")  # fmt: skip
    assert fresh.code == 0, fresh.err
    conv3 = [read_features(p) for p in cached if read_features(p).meta["layer"] == "conv3"]
    test_file = next(f for f in conv3 if f.meta["dataset"]["subset"] == "test")
    assert np.array_equal(
        np.asarray(test_file.features), np.asarray(read_features(workdir / "conv3.safetensors").features)
    )
    listed = run_cli(capsys, "retrieve", *model, "--layer", "conv5,conv2", "--level", "video", "--json")
    assert list(json.loads(listed.out)["layers"]) == ["conv2", "conv5"] and "using cached" in listed.err
    for extra, flag in ((["--neighbours", "n.csv"], "--neighbours"), (["--grid", "g.png"], "--grid")):
        line = one_error_line(run_cli(capsys, "retrieve", *model, "--layer", "all", *extra))
        assert flag in line and "one --layer" in line, line
    assert "choose from conv1" in one_error_line(run_cli(capsys, "retrieve", *model, "--layer", "conv3,pool5"))
