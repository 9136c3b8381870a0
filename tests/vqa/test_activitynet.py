"""Reading ActivityNet-QA: joining questions and answers, finding videos, reporting (not crashing on) bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError
from clipcop.vqa.activitynet import Issues, VideoLookup, find_videos, read_split
from clipcop.vqa.data import VideoFeatures, no_features, to_tensors
from clipcop.vqa.text import AnswerVocabulary, Vocabulary
from tests.vqa.helpers import qa_pair, write_features, write_split


def test_questions_and_answers_are_joined_by_id_whatever_their_order(tmp_path: Path) -> None:
    pairs = [
        qa_pair("-7wfTI8Qv1Q", 1, "is the man outdoors", "yes", 3),
        qa_pair("_MWyhJS4KbM", 2, "what color", "red", 4),
    ]
    questions = [q for q, _ in pairs]
    answers = [a for _, a in reversed(pairs)]
    write_split(tmp_path, "train", questions, answers)
    issues = Issues()
    split = read_split(tmp_path, "train", issues)
    assert not issues
    assert [(i.question_id, i.video_name, i.answer, i.qtype) for i in split.items] == [
        ("v_-7wfTI8Qv1Q_1", "-7wfTI8Qv1Q", "yes", 3),
        ("v__MWyhJS4KbM_2", "_MWyhJS4KbM", "red", 4),
    ]


def test_bad_entries_are_counted_by_kind_and_the_rest_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [qa_pair("vid", k, f"question {k}", "yes", 3) for k in range(4)]
    questions = [q for q, _ in good] + [
        {"video_name": "vid", "question": "no id"},
        "not an object",
        good[0][0],
        qa_pair("vid", 9, "never answered", "x", 0)[0],
    ]
    answers = [a for _, a in good[:3]] + [
        {**good[3][1], "type": 11},
        {**good[3][1], "type": "motion"},
        {"question_id": "v_ghost_1", "answer": "no", "type": 3},
        {"question_id": "v_vid_0"},
    ]
    write_split(tmp_path, "val", questions, answers)
    issues = Issues()
    split = read_split(tmp_path, "val", issues)
    assert [i.question_id for i in split.items] == ["v_vid_0", "v_vid_1", "v_vid_2"]
    found = {kind: entry["count"] for kind, entry in issues.as_dict().items()}
    assert found == {
        "malformed entries in val_q.json (skipped)": 2,
        "duplicate question ids in val_q.json (first kept)": 1,
        "questions of unknown type in val_a.json (skipped; types are 0..8)": 2,
        "malformed entries in val_a.json (skipped)": 1,
        "answers in val_a.json without a question in val_q.json (skipped)": 1,
        "questions in val_q.json without an answer in val_a.json (skipped)": 1,
    }
    issues.report(Reporter())
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(lines) == len(found) and any("2 questions of unknown type" in line and "11" in line for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"video_name": "a", "question": "b", "question_id": "c"', "is not valid JSON (line 1 column"),
        ('{"questions": []}', "must hold a JSON list"),
        ("", "is not valid JSON"),
    ],
)
def test_an_unreadable_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    write_split(tmp_path, "train", content, "[]")
    with pytest.raises(DataError, match=re.escape(message)):
        read_split(tmp_path, "train", Issues())


def test_a_missing_answer_file_is_allowed_only_when_answers_are_optional(tmp_path: Path) -> None:
    write_split(tmp_path, "test", [qa_pair("v", 0, "q", "a", 0)[0]], "[]")
    (tmp_path / "test_a.json").unlink()
    split = read_split(tmp_path, "test", Issues(), need_answers=False)
    assert not split.has_answers and split.items[0].answer is None
    with pytest.raises(DataError, match=r"test_a\.json does not exist"):
        read_split(tmp_path, "test", Issues())


def test_videos_are_found_by_stem_with_or_without_v_prefix_and_any_extension(tmp_path: Path) -> None:
    names = ["v_-7wfTI8Qv1Q.mp4", "_MWyhJS4KbM.mkv", "sub/v_x_FAc0KqMVw.webm", "v_abc.AVI", "notes.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    wanted = ["-7wfTI8Qv1Q", "_MWyhJS4KbM", "x_FAc0KqMVw", "v_abc", "notes", "missing"]
    found, missing = find_videos(tmp_path, wanted)
    assert {k: v.name for k, v in found.items()} == {
        "-7wfTI8Qv1Q": "v_-7wfTI8Qv1Q.mp4",
        "_MWyhJS4KbM": "_MWyhJS4KbM.mkv",
        "x_FAc0KqMVw": "v_x_FAc0KqMVw.webm",
        "v_abc": "v_abc.AVI",
    }
    assert missing == ["notes", "missing"]


def test_feature_lookup_reports_duplicate_stems_and_keeps_the_first() -> None:
    issues = Issues()
    lookup = VideoLookup(["A/v_x.avi", "B/v_x.avi", "C/y.mp4"], issues)
    assert lookup.find("x") == 0 and lookup.find("v_y") == 2 and lookup.find("z") is None
    assert issues.count("videos sharing a file name (the first is used)") == 1


def test_questions_whose_video_has_no_features_are_reported_with_the_reason(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "v_ondisk.mp4").write_bytes(b"")
    ids = ["v_-a.mp4", "_b.mkv", "v_bad.mp4"]
    features = write_features(tmp_path / "f.safetensors", ids, failed=("v_bad.mp4",), video_root=videos)
    pairs = [qa_pair(name, 0, "what is it", "thing", 5) for name in ("-a", "_b", "bad", "ondisk", "nowhere")]
    write_split(tmp_path / "qa", "train", [q for q, _ in pairs], [a for _, a in pairs])
    issues = Issues()
    split = read_split(tmp_path / "qa", "train", issues)
    feats = VideoFeatures(features, issues)
    assert "failed to decode" in feats.why_missing("bad")
    assert "v_ondisk.mp4 exists but is not in f.safetensors" in feats.why_missing("ondisk")
    assert "no video file nowhere.* or v_nowhere.*" in feats.why_missing("nowhere")
    vocab = Vocabulary.build(i.question for i in split.items)
    data = to_tensors(split.items, feats, vocab, AnswerVocabulary.top(["thing"]), issues, split="train")
    assert [i.video_name for i in data.items] == ["-a", "_b"]
    assert data.clips.shape == (2, 20, 8) and data.video.tolist() == [0, 1]
    assert issues.count(no_features("train")) == 3
    assert torch.equal(data.clips[1], torch.from_numpy(feats.file.features[20:40].copy()))
