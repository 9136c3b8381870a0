"""Hostile inputs, class 8: NaN and infinite weights or features, and questions of 20,000 words.

A checkpoint with NaN weights is refused where it is loaded, naming it; a feature file with NaN or infinite
rows is refused where features are consumed (retrieval, video QA), naming it; an extraction whose model
gives NaN features writes nothing. A question longer than ``--max-question-words`` is cut, with a warning
that counts them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from clipcop.engine.checkpoint import load_checkpoint, read_meta, save_checkpoint
from clipcop.errors import CheckpointError, FeatureFileError
from clipcop.features.extract import check_finite_features
from clipcop.features.store import FeatureWriter, read_features
from clipcop.vqa.activitynet import Issues, QAItem
from clipcop.vqa.data import MAX_QUESTION_WORDS, VideoFeatures, to_tensors
from clipcop.vqa.text import AnswerVocabulary, Vocabulary
from tests.cli.run import one_error_line, run_cli
from tests.vqa.helpers import qa_pair, write_features, write_split

IDS = [f"v{n}" for n in range(6)]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused(
    vcop_checkpoint: Path, tiny_synth: Path, workdir: Path, capsys: pytest.CaptureFixture[str], bad: float
) -> None:
    tensors = load_checkpoint(vcop_checkpoint).tensors
    name = sorted(k for k, t in tensors.items() if t.is_floating_point())[0]
    tensors[name] = torch.full_like(tensors[name], bad)
    broken = save_checkpoint(workdir / "broken.safetensors", tensors, read_meta(vcop_checkpoint))
    before = broken.read_bytes()
    with pytest.raises(CheckpointError, match=rf"broken\.safetensors holds non-finite weights .* in {name}"):
        load_checkpoint(broken)
    for command in (("extract", "--out", "f.safetensors"), ("retrieve",)):
        result = run_cli(capsys, *command, "--checkpoint", broken, "--data", tiny_synth, "--workers", 0)
        line = one_error_line(result)
        assert result.code == 2 and "broken.safetensors holds non-finite weights" in line
    assert broken.read_bytes() == before and not (workdir / "f.safetensors").exists()


def _features_with(path: Path, value: float, row: int = 3) -> Path:
    writer = FeatureWriter(path, rows=12, dim=4, videos=6, meta={"video_ids": IDS, "clips": 2})
    feats = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    feats[row, 1] = value
    writer.write_rows(0, feats, np.repeat(np.arange(6), 2), np.tile([0, 4], 6))
    writer.write_labels(np.arange(6) % 2)
    return writer.finish({"classes": ["a", "b"], "source": {"kind": "random", "arch": "r3d"}})


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_features_are_refused_where_they_are_used(
    workdir: Path, capsys: pytest.CaptureFixture[str], bad: float
) -> None:
    broken = _features_with(workdir / "broken.safetensors", bad)
    good = _features_with(workdir / "good.safetensors", 0.5)
    before = broken.read_bytes()
    with pytest.raises(
        FeatureFileError, match=r"broken\.safetensors holds non-finite features .* in 1 of 12 rows, e\.g\. of v1"
    ):
        read_features(broken).check_finite()
    for gallery, queries in ((broken, good), (good, broken)):
        result = run_cli(capsys, "retrieve", "--gallery", gallery, "--queries", queries)
        assert result.code == 2 and "broken.safetensors holds non-finite features" in one_error_line(result)
    with pytest.raises(FeatureFileError, match="non-finite"):
        VideoFeatures(broken)
    assert broken.read_bytes() == before
    read_features(good).check_finite()  # finite: fine


def test_an_extraction_giving_nan_features_writes_nothing(tmp_path: Path) -> None:
    writer = FeatureWriter(
        tmp_path / "f.safetensors",
        rows=4,
        dim=2,
        videos=2,
        meta={"video_ids": ["a", "b"], "source": {"kind": "vcop", "identity": "/runs/x/best.safetensors"}},
    )
    feats = np.ones((2, 2, 2), dtype=np.float32)
    check_finite_features(feats, writer, [0, 1])
    feats[1, 0, 0] = np.nan
    with pytest.raises(
        FeatureFileError, match=r"/runs/x/best\.safetensors gives non-finite features .* 1 of 2 .* e\.g\. b"
    ):
        check_finite_features(feats, writer, [0, 1])
    writer.discard()


def _qa(folder: Path, long_words: int) -> Path:
    long = " ".join(["what"] * long_words)
    for split, count in (("train", 12), ("val", 4), ("test", 4)):
        pairs = [
            qa_pair(IDS[k % 6], k, "what color is it" if k else long, "red" if k % 2 else "blue", 5)
            for k in range(count)
        ]
        write_split(folder, split, [q for q, _ in pairs], [a for _, a in pairs])
    return folder


def test_a_20000_word_question_is_cut_and_counted(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    features = write_features(workdir / "f.safetensors", IDS, clips=2, dim=4)
    qa = _qa(workdir / "qa", 20_000)
    small = ("--hidden", 8, "--embed-dim", 8, "--epochs", 1, "--batch-size", 8)
    result = run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, *small, "--out", "run")
    assert result.code == 0, result.err
    warned = [line for line in result.err.splitlines() if "longer than 64 words" in line]
    assert len(warned) == 3 and all(line.startswith("warning: 1 ") for line in warned), result.err  # one per split
    short = run_cli(capsys, "vqa", "train", "--features", features, "--qa", qa, *small, "--max-question-words", 0)
    assert "--max-question-words must be at least 1" in one_error_line(short)
    predictions = workdir / "p.json"
    evaluated = run_cli(
        capsys,
        "vqa",
        "eval",
        "--checkpoint",
        "run/best.safetensors",
        "--features",
        features,
        "--qa",
        qa,
        "--predictions",
        predictions,
        "--max-question-words",
        5,
    )
    assert evaluated.code == 0 and "test questions longer than 5 words" in evaluated.err
    assert len(json.loads(predictions.read_text())) == 4


def test_the_cap_in_the_library() -> None:
    items = [QAItem("q1", "v0", " ".join(["word"] * 20_000), "a", 0), QAItem("q2", "v0", "a short one", "a", 0)]

    class OneVideo:
        file = type("F", (), {"path": Path("f")})()

        def find(self, name: str) -> int:
            return 0

        def clip_features(self, numbers: list[int]) -> torch.Tensor:
            return torch.zeros(len(numbers), 2, 4)

    issues = Issues()
    vocab, answers = Vocabulary.build(["word"], min_count=1), AnswerVocabulary.top(["a"])
    data = to_tensors(items, OneVideo(), vocab, answers, issues, split="train")  # type: ignore[arg-type]
    assert data.tokens.shape == (2, MAX_QUESTION_WORDS) and data.lengths.tolist() == [MAX_QUESTION_WORDS, 3]
    assert issues.count(f"train questions longer than {MAX_QUESTION_WORDS} words (cut; --max-question-words)") == 1


def test_glove_lines_with_nan_or_infinity_are_counted_and_skipped(tmp_path: Path) -> None:
    from clipcop.vqa.text import load_glove

    glove = tmp_path / "glove.txt"
    glove.write_text("what 0.1 0.2\ncolor nan 0.1\nred inf 1\nblue 1e400 0\nis 0.3 0.4\n")
    vectors = load_glove(glove, ["what", "color", "zebra"])
    assert vectors.malformed == 3 and vectors.file_words == 2 and np.isfinite(vectors.matrix).all()
    assert vectors.found.tolist() == [True, False, False]
