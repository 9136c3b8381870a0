"""The Table VI pipeline through the real CLI: data synth --qa, extract --clips 20, vqa train, vqa eval."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from clipcop.cli.main import main
from clipcop.engine.checkpoint import read_meta
from clipcop.features.store import read_features
from clipcop.metrics.qa import TYPE_KEYS
from tests.cli.run import one_error_line, run_cli
from tests.vqa.helpers import write_features

SMALL = ["--hidden", 32, "--embed-dim", 16, "--epochs", 2, "--batch-size", 32]
HEADERS = ("Motion", "Spat.", "Rel.", "Temp.", "Y/N", "Color", "Obj.", "Loc.", "Num.", "Other", "Free", "All")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``clipcop data synth --qa`` and ``clipcop extract --random ... --clips 20`` once for the module."""
    root = tmp_path_factory.mktemp("vqa_cli")
    synth = ["data", "synth", root / "synth", "--classes", 4, "--videos-per-class", 8, "--frames", 40]
    assert main([str(a) for a in [*synth, "--size", "32x40", "--qa", "--workers", 1, "--quiet"]]) == 0
    extract = ["extract", "--random", "--arch", "r3d", "--width", 4, "--cl", 4, "--resize", "24x32", "--crop", 16]
    extract += ["--clips", 20, "--subset", "all", "--workers", 0, "--data", root / "synth", "--quiet"]
    assert main([str(a) for a in [*extract, "--out", root / "f.safetensors"]]) == 0
    return root


def test_train_then_eval_gives_a_table_vi_and_predictions(
    pipeline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qa, features, run = pipeline / "synth" / "qa", pipeline / "f.safetensors", tmp_path / "run"
    trained = run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, "--epochs", 8, "--out", run, "--json")
    assert trained.code == 0, trained.err
    result = json.loads(trained.out)
    losses = [h["train_loss"] for h in result["history"]]
    assert len(losses) == 8 and losses[-1] < 0.8 * losses[0]
    assert result["split"] == "test" and set(result["test"]["accuracy"]) == {*TYPE_KEYS, "free", "all"}
    assert "word embeddings are learned" in trained.err
    assert all(h in trained.err for h in HEADERS) and "majority" in trained.err
    meta = read_meta(run / "best.safetensors")
    assert meta["kind"] == "vqa" and meta["model"]["hidden"] == 300 and meta["features"]["clips"] == 20
    assert meta["epoch"] == result["best_epoch"] and "test" in meta["metrics"]
    assert json.loads((run / "results.json").read_text())["test"] == result["test"]

    preds = tmp_path / "preds.json"
    evaluated = run_cli(
        capsys,
        "vqa",
        "eval",
        "--checkpoint",
        run / "best.safetensors",
        "--features",
        features,
        "--qa",
        qa,
        "--predictions",
        preds,
        "--json",
    )
    assert evaluated.code == 0, evaluated.err
    scored = json.loads(evaluated.out)
    assert scored["scores"] == result["test"] and scored["predictions"] == str(preds)
    rows = json.loads(preds.read_text())
    test_ids = [q["question_id"] for q in json.loads((qa / "test_q.json").read_text())]
    assert [r["question_id"] for r in rows] == test_ids and all(set(r) == {"question_id", "answer"} for r in rows)
    assert {r["answer"] for r in rows} <= set(meta["answers"][1:])  # never the unknown class
    assert all(h in evaluated.err for h in HEADERS)


def test_glove_vectors_are_used_when_given(pipeline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    glove = tmp_path / "glove.tiny.txt"
    glove.write_text("what 0.1 0.2 0.3 0.4\nmotion 0.5 0.1 0.0 0.2\ncolor -0.3 0.2 0.1 0.0\nzebra 1 1 1 1\n")
    qa = tmp_path / "qa"
    shutil.copytree(pipeline / "synth" / "qa", qa)
    test_q = json.loads((qa / "test_q.json").read_text())
    test_q[0]["question"] = "what zebra kind of motion is in the video"  # a word only the test split has
    (qa / "test_q.json").write_text(json.dumps(test_q))
    run, features = tmp_path / "run", pipeline / "f.safetensors"
    trained = run_cli(
        capsys, "vqa", "train", "--features", features, "--qa", qa, "--glove", glove, *SMALL, "--out", run
    )
    assert trained.code == 0, trained.err
    assert "GloVe: 3 of" in trained.err and "embeddings frozen" in trained.err
    meta = read_meta(run / "best.safetensors")
    assert meta["embeddings"] == "glove" and meta["model"]["embed_dim"] == 4 and "zebra" not in meta["vocabulary"]
    evaluate = ["vqa", "eval", "--checkpoint", run / "best.safetensors", "--features", features, "--qa", qa]
    evaluated = run_cli(capsys, *evaluate, "--glove", glove)
    assert evaluated.code == 0, evaluated.err
    assert re.search(r"\b1 of \d+ question words unseen in training found in glove.tiny.txt", evaluated.err)


def test_unknown_types_and_videos_without_features_are_reported_and_skipped(
    pipeline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qa = tmp_path / "qa"
    shutil.copytree(pipeline / "synth" / "qa", qa)
    questions = json.loads((qa / "train_q.json").read_text())
    answers = json.loads((qa / "train_a.json").read_text())
    questions += [{"video_name": "ghost", "question": "what kind of motion is in the video", "question_id": "g1"}]
    answers += [{"question_id": "g1", "answer": "rotating", "type": 0}]
    answers[0]["type"] = 12
    (qa / "train_q.json").write_text(json.dumps(questions))
    (qa / "train_a.json").write_text(json.dumps(answers))
    trained = run_cli(
        capsys,
        "vqa",
        "train",
        "--features",
        pipeline / "f.safetensors",
        "--qa",
        qa,
        *SMALL,
        "--out",
        tmp_path / "r",
        "--json",
    )
    assert trained.code == 0, trained.err
    warnings = [line for line in trained.err.splitlines() if line.startswith("warning:")]
    assert any("1 questions of unknown type in train_a.json" in w for w in warnings), trained.err
    assert any("1 train questions whose video has no features" in w and "g1" in w for w in warnings), trained.err
    assert set(json.loads(trained.out)["issues"]) >= {
        "questions of unknown type in train_a.json (skipped; types are 0..8)",
        "train questions whose video has no features (skipped)",
    }


def test_eval_on_features_of_another_clip_count_is_warned(
    pipeline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = read_features(pipeline / "f.safetensors")
    trained = run_cli(
        capsys,
        "vqa",
        "train",
        "--features",
        pipeline / "f.safetensors",
        "--qa",
        pipeline / "synth" / "qa",
        *SMALL,
        "--out",
        tmp_path / "r",
    )
    assert trained.code == 0, trained.err
    ten = write_features(tmp_path / "ten.safetensors", features.video_ids, clips=10, dim=features.dim)
    args = ["vqa", "eval", "--checkpoint", tmp_path / "r" / "best.safetensors", "--qa", pipeline / "synth" / "qa"]
    evaluated = run_cli(capsys, *args, "--features", ten, "--predictions", tmp_path / "p.json")
    assert evaluated.code == 0, evaluated.err
    assert "10 clips per video but the model was trained on 20" in evaluated.err
    same = run_cli(capsys, *args, "--features", pipeline / "f.safetensors", "--predictions", tmp_path / "q.json")
    assert same.code == 0 and "clips per video but" not in same.err


def test_user_errors_end_in_one_line(
    pipeline: Path, workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features, qa = pipeline / "f.safetensors", pipeline / "synth" / "qa"
    bad_qa = tmp_path / "bad"
    shutil.copytree(qa, bad_qa)
    (bad_qa / "train_q.json").write_text('[{"video_name": "x", "question": ')
    line = one_error_line(run_cli(capsys, "vqa", "train", "--features", features, "--qa", bad_qa, *SMALL))
    assert "train_q.json is not valid JSON (line 1" in line
    line = one_error_line(run_cli(capsys, "vqa", "train", "--features", tmp_path / "no.safetensors", "--qa", qa))
    assert "does not exist" in line
    for flag, value in (("--dropout", 1.5), ("--lr", "nan"), ("--weight-decay", "inf"), ("--seed", 2**64)):
        line = one_error_line(run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, flag, value))
        assert flag in line, line
    assert not (workdir / "runs").exists()  # the commands refused up front made no run folder
    line = one_error_line(run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, *SMALL, "--lr", 1e30))
    assert "training diverged at epoch 1" in line
    assert not (workdir / "runs").exists() or not any((workdir / "runs").rglob("*.*"))  # nor did the diverged one

    run = tmp_path / "run"
    assert run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, *SMALL, "--out", run).code == 0
    line = one_error_line(run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, *SMALL, "--out", run))
    assert "already holds a vqa run" in line
    other = write_features(tmp_path / "wide.safetensors", ["MoveHorizontal/v_MoveHorizontal_g01_c01.avi"], dim=7)
    evaluate = ["vqa", "eval", "--checkpoint", run / "best.safetensors", "--qa", qa]
    line = one_error_line(run_cli(capsys, *evaluate, "--features", other))
    assert "7-d features but the model was trained on 32-d" in line
    line = one_error_line(run_cli(capsys, "vqa", "eval", "--checkpoint", features, "--features", features, "--qa", qa))
    assert "is a feature file (written by clipcop extract), not a model checkpoint" in line
