"""Synthetic QA: valid ActivityNet-QA files whose answers follow from what was generated."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from clipcop.errors import DataError
from clipcop.synth.motions import MOTIONS
from clipcop.synth.qa import MOTION_WORDS, questions_for_video, write_synthetic_qa
from clipcop.videos.layouts import read_lines
from clipcop.vqa.activitynet import Issues, read_split


@pytest.fixture(scope="module")
def synth_qa(tiny_synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic dataset's facts and split files, with QA written next to them."""
    root = tmp_path_factory.mktemp("synth_qa")
    shutil.copy(tiny_synth / "facts.json", root / "facts.json")
    shutil.copytree(tiny_synth / "ucfTrainTestlist", root / "ucfTrainTestlist")
    write_synthetic_qa(root)
    return root


def _load(root: Path) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    facts = json.loads((root / "facts.json").read_text())
    by_name = {Path(rel).stem.removeprefix("v_"): video for rel, video in facts["videos"].items()}
    rows = []
    for split in ("train", "val", "test"):
        questions = json.loads((root / "qa" / f"{split}_q.json").read_text())
        answers = {a["question_id"]: a for a in json.loads((root / "qa" / f"{split}_a.json").read_text())}
        rows += [(split, q, answers[q["question_id"]]) for q in questions]
    return by_name, rows


def test_files_are_valid_activitynet_qa_split_by_video(synth_qa: Path) -> None:
    _, rows = _load(synth_qa)
    for _, q, a in rows:
        assert set(q) == {"video_name", "question", "question_id"} and set(a) == {"question_id", "answer", "type"}
        assert q["question_id"] == a["question_id"].strip() and q["question_id"].startswith(f"v_{q['video_name']}_")
        assert q["question"] == q["question"].lower() and "?" not in q["question"]
        assert isinstance(a["type"], int) and 0 <= a["type"] <= 8 and a["answer"]
    assert len({q["question_id"] for _, q, _ in rows}) == len(rows)
    videos = {split: {q["video_name"] for s, q, _ in rows if s == split} for split in ("train", "val", "test")}
    assert videos["train"] and videos["val"] and videos["test"]
    assert not (videos["train"] & videos["val"] or videos["train"] & videos["test"] or videos["val"] & videos["test"])
    test_list = {
        Path(line).stem.removeprefix("v_") for line in read_lines(synth_qa / "ucfTrainTestlist/testlist01.txt")
    }
    assert videos["test"] == test_list
    for split in ("train", "val", "test"):  # the reader takes them without complaint
        issues = Issues()
        read_split(synth_qa / "qa", split, issues)
        assert not issues


def _expected(question: str, qtype: int, video: dict[str, Any]) -> str | None:
    """The answer recomputed from the facts, for the question kinds with a one-line rule."""
    objects = video["objects"]
    if question == "what kind of motion is in the video":
        return MOTION_WORDS[video["motion"]]
    if question == "how many objects are there":
        return str(len(objects))
    if match := re.fullmatch(r"what color is the (\w+)", question):
        return cast(str, next(o["colour"] for o in objects if o["shape"] == match[1]))
    if match := re.fullmatch(r"what shape is the (\w+) object", question):
        return cast(str, next(o["shape"] for o in objects if o["colour"] == match[1]))
    if match := re.fullmatch(r"is there a (\w+) (\w+) in the video", question):
        return "yes" if any((o["colour"], o["shape"]) == (match[1], match[2]) for o in objects) else "no"
    if question == "which way do the objects move" and video["motion"] == "MoveHorizontal":
        return "right" if objects[0]["end"][1] > objects[0]["start"][1] else "left"
    if question == "which way do the objects move" and video["motion"] == "Rotate":
        return str(video["direction"])
    return None


def test_answers_follow_from_the_generated_facts(synth_qa: Path) -> None:
    videos, rows = _load(synth_qa)
    checked: Counter[str] = Counter()
    for _, q, a in rows:
        expected = _expected(q["question"], a["type"], videos[q["video_name"]])
        if expected is not None:
            assert a["answer"] == expected, (q, a)
            checked[q["question"].split()[0]] += 1
    assert {"what", "how", "is", "which"} <= set(checked)
    counts = [a for _, q, a in rows if q["question"] == "how many objects are there"]
    assert len(counts) == len(videos)  # one number question per video


def test_every_type_is_asked_and_motion_answers_are_balanced(synth_qa: Path) -> None:
    _, rows = _load(synth_qa)
    assert {a["type"] for _, _, a in rows} == set(range(9))
    motion = Counter(a["answer"] for _, _, a in rows if a["type"] == 0)
    assert motion.most_common(1)[0][1] / sum(motion.values()) < 0.5  # the majority answer is far from 100%


def test_directions_come_from_the_rendered_tracks() -> None:
    rng = np.random.default_rng(0)
    obj = {"shape": "disk", "colour": "red", "radius": 5.0, "scale": [1.0, 1.0]}
    pan = {"motion": "CameraPan", "direction": "right", "objects": [{**obj, "start": [10, 30], "end": [10, 12]}]}
    swing = {"motion": "Oscillate", "direction": "none", "objects": [{**obj, "start": [10, 30], "end": [10, 12]}]}
    pan_questions = questions_for_video(pan, (32, 40), ["red"], rng)
    assert (0, "which way do the objects move", "left") in pan_questions  # the camera pans right: things go left
    assert (2, "what happens first the disk on the left or the disk on the right", "right") in pan_questions
    swing_questions = questions_for_video(swing, (32, 40), ["red"], rng)
    assert not [q for q in swing_questions if q[1] == "which way do the objects move"]  # no direction: not asked


@pytest.mark.parametrize("motion", ["Oscillate", "Bounce"])
def test_swings_and_bounces_keep_one_size_so_their_direction_is_none(motion: str) -> None:
    """Their sign is drawn (keeping the videos of format v1) but not rendered: no direction to ask about."""
    for seed in range(6):
        moves = MOTIONS[motion](np.random.default_rng(seed), 600, 48, 64, 1)  # long: several swings late too
        assert moves.direction == "none"
        track = moves.tracks[0]
        path = track.cx if motion == "Oscillate" else track.cy
        first, last = path[:300], path[300:]
        # the same amplitude early and late (not growing, dying away, settling or rising)
        assert np.ptp(last) == pytest.approx(np.ptp(first), rel=0.05)


def test_writing_twice_gives_the_same_files_and_missing_facts_are_one_error(synth_qa: Path, tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in (synth_qa / "qa").iterdir()}
    write_synthetic_qa(synth_qa)
    assert first == {p.name: p.read_bytes() for p in (synth_qa / "qa").iterdir()}
    with pytest.raises(DataError, match=r"facts\.json does not exist"):
        write_synthetic_qa(tmp_path)
