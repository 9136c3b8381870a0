"""Hostile inputs, class 1: well-formed JSON of the wrong shape in every file clipcop reads.

Each reader gets a valid document with one place replaced by any JSON value (or removed), and a document
nested 100,000 deep. Whatever it gets, it reads the file or refuses it in one line naming the file (never
a TypeError, KeyError or RecursionError), and the file is never changed. Most readers are called through
the library; a few through the command line, asserting the one ``clipcop: error:`` line and exit code 2.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import load_checkpoint, read_card
from clipcop.engine.run_dir import read_metrics
from clipcop.engine.state import META_KEY as STATE_KEY
from clipcop.engine.state import load_state, save_state
from clipcop.errors import CheckpointError, ClipcopError, DataError, FeatureFileError, MalformedFileError
from clipcop.features.store import FeatureWriter, read_features
from clipcop.index.faiss_index import build_index, load_index, save_index
from clipcop.synth.qa import write_synthetic_qa
from clipcop.validation import MAX_DEPTH, parse_json
from clipcop.videos.manifest import build_manifest, manifest_location
from clipcop.vqa.activitynet import Issues, read_split
from clipcop.vqa.evaluate import check_vqa_card
from tests.cli.run import one_error_line, run_cli
from tests.hostile.shapes import DEEP, JSON_VALUES, read_header, refused_or_read, variants, with_metadata, write_header

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

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
    "metrics": {"val_loss": 1.5},
    "config": {"lr": 0.01},
    "classes": ["a", "b"],
}


def _checkpoint(path: Path, meta: Any) -> Path:
    save_file({"backbone.w": torch.zeros(2)}, str(path), metadata={"clipcop": json.dumps(meta)})
    return path


@FEW
@given(data=st.data())
def test_checkpoint_headers(tmp_path: Path, data: st.DataObject) -> None:
    path = _checkpoint(tmp_path / "ckpt.safetensors", data.draw(variants(VCOP)))
    err = refused_or_read(lambda: read_card(path), path)
    assert err is None or isinstance(err, CheckpointError)
    refused_or_read(lambda: load_checkpoint(path).card, path)


def test_the_issue_examples_for_checkpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for number, meta in enumerate([[1], None, "text", {**VCOP, "width": "abc"}, {**VCOP, "config": [1]}]):
        path = _checkpoint(tmp_path / f"bad{number}.safetensors", meta)
        line = one_error_line(run_cli(capsys, "info", path))
        assert f"bad{number}.safetensors has malformed clipcop metadata" in line
    save_file({"w": torch.zeros(1)}, str(tmp_path / "deep.safetensors"), metadata={"clipcop": DEEP})
    result = run_cli(capsys, "info", tmp_path / "deep.safetensors")
    assert f"nests deeper than {MAX_DEPTH} levels" in one_error_line(result) and result.code == 2


def _state(path: Path) -> Path:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3)).sum().backward()
    optimizer.step()
    counters = {"epoch": 1, "step": 4, "best_val_loss": 0.5, "best_epoch": 1}
    return save_state(path, optimizer=optimizer, scheduler=None, counters=counters)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_training_state_headers(tmp_path: Path, data: st.DataObject) -> None:
    path = _state(tmp_path / "last.state.e00001.safetensors")
    header, _ = read_header(path)
    doc = json.loads(header["__metadata__"][STATE_KEY])
    doc["rng"] = {"python": [3, [1, 2], None], "numpy": ["MT19937", [1], 0, 0, 0.0]}  # small, mutated below
    with_metadata(path, STATE_KEY, json.dumps(data.draw(variants(doc))))
    fresh = torch.optim.SGD(torch.nn.Linear(3, 2).parameters(), lr=0.1, momentum=0.9)
    err = refused_or_read(lambda: load_state(path, optimizer=fresh, scheduler=None), path)
    assert err is None or isinstance(err, CheckpointError)


def _features(path: Path) -> Path:
    writer = FeatureWriter(path, rows=4, dim=3, videos=2, meta={"video_ids": ["a", "b"], "clips": 2})
    writer.write_rows(0, np.ones((4, 3), dtype=np.float32), np.array([0, 0, 1, 1]), np.array([0, 4, 0, 4]))
    writer.write_labels(np.array([0, 1]))
    return writer.finish({"classes": ["x", "y"], "failed": [], "source": {"kind": "random", "arch": "r3d"}})


@FEW
@given(data=st.data())
def test_feature_file_metadata(tmp_path: Path, data: st.DataObject) -> None:
    path = _features(tmp_path / "feats.safetensors")
    header, _ = read_header(path)
    doc = json.loads(header["__metadata__"]["clipcop"])
    with_metadata(path, "clipcop", json.dumps(data.draw(variants(doc))))
    err = refused_or_read(lambda: read_features(path).model, path)
    assert err is None or isinstance(err, FeatureFileError)


@FEW
@given(data=st.data())
def test_feature_file_tensor_headers(tmp_path: Path, data: st.DataObject) -> None:
    path = _features(tmp_path / "feats.safetensors")
    header, body = read_header(path)
    layout = {key: value for key, value in header.items() if key != "__metadata__"}
    hostile = data.draw(variants(layout))
    if isinstance(hostile, dict):
        hostile["__metadata__"] = header["__metadata__"]
    write_header(path, hostile, body)
    err = refused_or_read(lambda: read_features(path), path)
    assert err is None or isinstance(err, FeatureFileError)


def test_feature_rows_that_point_nowhere(tmp_path: Path) -> None:
    """The issue's examples: a ``video`` tensor shorter than ``features``, video numbers out of range."""
    short = _features(tmp_path / "short.safetensors")
    header, body = read_header(short)
    header["video"]["shape"] = [2]
    begin = header["video"]["data_offsets"][0]
    header["video"]["data_offsets"] = [begin, begin + 16]
    write_header(short, header, body)
    with pytest.raises(MalformedFileError, match=r"short\.safetensors .*video tensor has 2 rows but features has 4"):
        read_features(short)
    wild = tmp_path / "wild.safetensors"
    writer = FeatureWriter(wild, rows=2, dim=3, videos=1, meta={"video_ids": ["a"]})
    writer.write_rows(0, np.ones((2, 3), dtype=np.float32), np.array([0, 7]), np.array([0, 4]))
    writer.finish({})
    with pytest.raises(FeatureFileError, match=r"wild\.safetensors .*video numbers 0\.\.7 are outside 0\.\.0"):
        read_features(wild)


@FEW
@given(meta=JSON_VALUES)
def test_index_metadata(tmp_path: Path, meta: Any) -> None:
    path = save_index(build_index(np.eye(4, dtype=np.float32)), tmp_path / "g.faiss", {"level": "video"})
    sidecar = tmp_path / "g.faiss.json"
    sidecar.write_text(json.dumps(meta))
    err = refused_or_read(lambda: load_index(path), sidecar)
    assert err is None or isinstance(err, FeatureFileError)


MANIFEST = {
    "format": 1,
    "video_root": "/data",
    "videos": {"a.avi": {"size": 10, "mtime_ns": 5, "info": {"num_frames": 9, "fps": 25.0, "height": 8, "width": 8}}},
}


@FEW
@given(data=st.data())
def test_manifests_are_a_cache_a_malformed_one_is_named_and_probed_again(tmp_path: Path, data: st.DataObject) -> None:
    root = tmp_path / "videos"
    root.mkdir(exist_ok=True)
    location = manifest_location(root)
    location.parent.mkdir(parents=True, exist_ok=True)
    location.write_text(json.dumps(data.draw(variants(MANIFEST))))
    before = location.read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = build_manifest(root, [])
    assert manifest.entries == {}
    for warning in caught:  # a malformed manifest is named, and left as it was (nothing new to save)
        assert "manifest.json" in str(warning.message) and "\n" not in str(warning.message)
        assert location.read_bytes() == before


def test_the_issue_example_manifest(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    root.mkdir()
    location = manifest_location(root)
    location.parent.mkdir(parents=True)
    location.write_text('{"format": 1, "videos": [1, 2]}')
    with pytest.warns(UserWarning, match=r"manifest\.json is a malformed manifest: videos is a list \[1, 2\]"):
        build_manifest(root, [])


QUESTIONS = [{"video_name": "v1", "question": "what is it", "question_id": "q1"}]
ANSWERS = [{"question_id": "q1", "answer": "a cat", "type": 2}]


@FEW
@given(data=st.data(), which=st.sampled_from(["q", "a"]))
def test_qa_files(tmp_path: Path, data: st.DataObject, which: str) -> None:
    folder = tmp_path / "qa"
    folder.mkdir(exist_ok=True)
    docs = {"q": QUESTIONS, "a": ANSWERS}
    docs[which] = data.draw(variants(docs[which]))
    for kind, doc in docs.items():
        (folder / f"test_{kind}.json").write_text(json.dumps(doc))
    err = refused_or_read(lambda: read_split(folder, "test", Issues()), folder / f"test_{which}.json")
    assert err is None or isinstance(err, DataError)


def test_qa_files_nested_deep(tmp_path: Path) -> None:
    """The issue's RecursionError: an answers file of lists nested 100,000 deep."""
    (tmp_path / "test_q.json").write_text(json.dumps(QUESTIONS))
    (tmp_path / "test_a.json").write_text(DEEP)
    with pytest.raises(
        DataError, match=rf"test_a\.json is a malformed QA file: its JSON nests deeper than {MAX_DEPTH}"
    ):
        read_split(tmp_path, "test", Issues())


RECORD = {"epoch": 1, "step": 4, "train_loss": 1.2, "train_acc": 0.5, "val_loss": 1.1, "lr": 0.01, "throughput": 9.0}


@FEW
@given(data=st.data())
def test_metrics_lines(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "metrics.jsonl"
    record = data.draw(variants(RECORD))
    path.write_text(json.dumps(RECORD) + "\n" + json.dumps(record) + "\n")
    refused_or_read(lambda: read_metrics(tmp_path), path)


def test_a_metrics_line_with_a_string_for_a_number_in_report(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = workdir / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps(RECORD) + "\n" + json.dumps({**RECORD, "epoch": 2, "val_loss": "x"}))
    before = (run / "metrics.jsonl").read_bytes()
    result = run_cli(capsys, "report", run)
    line = one_error_line(result)
    assert result.code == 2 and "metrics.jsonl is a malformed metrics file: line 2: val_loss is a string" in line
    assert (run / "metrics.jsonl").read_bytes() == before and not (run / "report").exists()


RUN_FILES = ["test_accuracy.json", "test_order_accuracy.json", "results.json", "summary.json"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(RUN_FILES))
def test_run_files_read_by_report(
    workdir: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject, name: str
) -> None:
    run = workdir / "run"
    run.mkdir(exist_ok=True)
    (run / "metrics.jsonl").write_text(json.dumps(RECORD) + "\n")
    valid = {
        "test_accuracy.json": {"per_class": {"a": 0.5}, "video_accuracy": 0.5, "clip_accuracy": 0.4, "videos": 2},
        "test_order_accuracy.json": {"per_class": [{"class": "a", "accuracy": 0.5}], "accuracy": 0.5, "videos": 2},
        "results.json": {"best_epoch": 1, "test": {"accuracy": {"all": 0.5}}},
        "summary.json": {
            "retrieval": {"VCOP": {"1": 0.5, "5": 0.7}, "random": {"1": 0.2, "5": 0.4}},
            "finetune": {"VCOP": 0.5, "random": 0.3},
            "order_accuracy": 0.6,
            "chance": 0.17,
        },
    }[name]
    for other in RUN_FILES:
        (run / other).unlink(missing_ok=True)
    (run / name).write_text(json.dumps(data.draw(variants(valid))))
    before = (run / name).read_bytes()
    result = run_cli(capsys, "report", run)
    assert (run / name).read_bytes() == before
    if result.code != 0:
        assert name in one_error_line(result) and result.code == 2


def test_vqa_checkpoint_entries(tmp_path: Path) -> None:
    valid = {"kind": "vqa", "model": {"vocab_size": 5, "num_answers": 3, "feature_dim": 4}, "vocabulary": ["a"]}
    for bad, field in (
        ({**valid, "answers": ["x"], "vocabulary": [1]}, "vocabulary"),
        ({**valid, "answers": ["x"], "model": {"vocab_size": "5"}}, "model.vocab_size"),
        ({**valid, "answers": ["x"], "majority": {"one": "x"}}, "majority"),
        (valid, "answers"),
    ):
        with pytest.raises(CheckpointError, match=rf"q\.safetensors is a malformed vqa checkpoint header: .*{field}"):
            check_vqa_card(CheckpointCard.from_meta(bad, tmp_path / "q.safetensors"), tmp_path / "q.safetensors")


@FEW
@given(data=st.data())
def test_synthetic_facts(tmp_path: Path, data: st.DataObject) -> None:
    facts = {
        "spec": {"size": [32, 40], "seed": 3},
        "videos": {
            "A/v_A_g01_c01.avi": {
                "motion": "Zoom",
                "direction": "in",
                "objects": [
                    {
                        "colour": "red",
                        "shape": "disc",
                        "start": [1, 2],
                        "end": [3, 4],
                        "scale": [1.0, 2.0],
                        "radius": 3,
                    },
                    {
                        "colour": "blue",
                        "shape": "square",
                        "start": [5, 2],
                        "end": [3, 9],
                        "scale": [1.0, 2.0],
                        "radius": 9,
                    },
                ],
            }
        },
    }
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir(exist_ok=True)
    (lists / "testlist01.txt").write_text("A/v_A_g01_c01.avi\n")
    (lists / "trainlist01.txt").write_text("")
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(data.draw(variants(facts))))
    err = refused_or_read(lambda: write_synthetic_qa(tmp_path), path)
    assert err is None or isinstance(err, ClipcopError)


def test_json_is_bounded_in_size_and_depth(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="more than the 10 accepted"):
        parse_json("[" + "1," * 10 + "1]", tmp_path / "x.json", "test file", max_bytes=10)
    with pytest.raises(MalformedFileError, match="nests deeper than 3 levels"):
        parse_json("[[[[1]]]]", tmp_path / "x.json", "test file", max_depth=3)
    assert parse_json("[[[1]]]", tmp_path / "x.json", "test file", max_depth=3) == [[[1]]]
