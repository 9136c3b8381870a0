"""Synthetic video QA in the ActivityNet-QA format, with answers that follow from what was generated.

``clipcop data synth OUT --qa`` writes ``OUT/qa/{train,val,test}_{q,a}.json`` from ``OUT/facts.json``, so
the whole Table VI pipeline (extract 20 clips, E-SA, per-type accuracy) runs without downloads. About ten
questions per video, covering every type:

- 0 motion: the kind of motion (one word per class) and which way things move (left/right, up/down,
  diagonals, clockwise/anticlockwise, closer/farther) -- visible only through motion, never from one
  frame; Oscillate and Bounce get no direction question because they have none;
- 1 spatial relation: where one object is relative to another at the beginning or the end;
- 2 temporal relation: "what happens first": which side (or size) an object shows first, for the
  motions that move one way (slides, pans, zooms);
- 3 yes/no: "is there a <colour> <shape>", half of them about an object that is not there;
- 4 color, 5 object (shape), 6 location (left/middle/right third at the beginning or end),
  7 number (object count), 8 other (big or small).

As in ActivityNet-QA, ``video_name`` is the file name without ``v_`` and extension, questions are
lower-case without a question mark, and ``question_id`` is ``v_<video_name>_<k>``. Test videos are split
1's test list; 20% of its training videos (by a hash of the path) are the validation split.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from clipcop.engine.atomic import write_text_atomic
from clipcop.errors import DataError, MalformedDataError
from clipcop.synth.render import SHAPES
from clipcop.validation import INT, NUMBER, STR, Fields, Shape, expect, list_of, object_of, read_json
from clipcop.videos.layouts import read_lines, stable_fraction

QA_DIR = "qa"
VAL_FRACTION = 0.2
MOTION_WORDS = {
    "MoveHorizontal": "horizontal",
    "MoveVertical": "vertical",
    "MoveDiagonal": "diagonal",
    "Rotate": "rotating",
    "Spin": "spinning",
    "Zoom": "zooming",
    "Orbit": "orbiting",
    "Oscillate": "swinging",
    "Bounce": "bouncing",
    "CameraPan": "panning",
}
"""The answer to "what kind of motion is in the video" for each class."""
ONE_WAY = frozenset({"MoveHorizontal", "MoveVertical", "MoveDiagonal", "Zoom", "CameraPan"})
TURNING = frozenset({"Rotate", "Spin", "Orbit"})
Question = tuple[int, str, str]
"""``(type, question, answer)``."""


def _describe(obj: dict[str, Any], objects: list[dict[str, Any]]) -> str | None:
    """The shortest unambiguous name of ``obj`` among ``objects`` ("the disk", "the red object", ...)."""
    if sum(o["shape"] == obj["shape"] for o in objects) == 1:
        return f"the {obj['shape']}"
    if sum(o["colour"] == obj["colour"] for o in objects) == 1:
        return f"the {obj['colour']} object"
    if sum((o["colour"], o["shape"]) == (obj["colour"], obj["shape"]) for o in objects) == 1:
        return f"the {obj['colour']} {obj['shape']}"
    return None


def _displacement(objects: list[dict[str, Any]]) -> tuple[float, float]:
    """Mean ``(dy, dx)`` of the objects from the first to the last frame."""
    dy = float(np.mean([o["end"][0] - o["start"][0] for o in objects]))
    dx = float(np.mean([o["end"][1] - o["start"][1] for o in objects]))
    return dy, dx


def _direction(video: dict[str, Any]) -> str | None:
    """Which way things move, read from the generated tracks (None where the direction is not rendered)."""
    motion, objects = video["motion"], video["objects"]
    if motion in TURNING:
        return str(video["direction"])
    if motion == "Zoom":
        return "closer" if objects[0]["scale"][1] > objects[0]["scale"][0] else "farther"
    if motion not in ONE_WAY:
        return None
    dy, dx = _displacement(objects)
    vertical, horizontal = ("down" if dy > 0 else "up"), ("right" if dx > 0 else "left")
    if motion == "MoveDiagonal":
        return f"{vertical}-{horizontal}"
    return vertical if motion == "MoveVertical" else horizontal


def _spatial(a: dict[str, Any], b: dict[str, Any], when: str) -> str:
    dy, dx = (a[when][0] - b[when][0]), (a[when][1] - b[when][1])
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def _temporal(video: dict[str, Any], obj: dict[str, Any], name: str) -> Question:
    if video["motion"] == "Zoom":
        first = "small" if obj["scale"][1] > obj["scale"][0] else "big"
        return 2, f"what happens first {name} small or {name} big", first
    dy, dx = obj["end"][0] - obj["start"][0], obj["end"][1] - obj["start"][1]
    if abs(dx) >= abs(dy):
        return 2, f"what happens first {name} on the left or {name} on the right", "left" if dx > 0 else "right"
    return 2, f"what happens first {name} at the top or {name} at the bottom", "top" if dy > 0 else "bottom"


def _yes_no(objects: list[dict[str, Any]], colours: list[str], rng: np.random.Generator) -> Question:
    obj = objects[int(rng.integers(len(objects)))]
    colour, shape = obj["colour"], obj["shape"]
    present = {(o["colour"], o["shape"]) for o in objects}
    if rng.random() < 0.5:
        return 3, f"is there a {colour} {shape} in the video", "yes"
    for _ in range(20):
        if rng.random() < 0.5:
            colour = colours[int(rng.integers(len(colours)))]
        else:
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
        if (colour, shape) not in present:
            return 3, f"is there a {colour} {shape} in the video", "no"
    return 3, f"is there a {obj['colour']} {obj['shape']} in the video", "yes"


def _third(x: float, width: int) -> str:
    return "left" if x < width / 3 else ("right" if x > 2 * width / 3 else "middle")


def _positional(
    video: dict[str, Any], named: list[tuple[dict[str, Any], str]], width: int, rng: np.random.Generator
) -> list[Question]:
    """Spatial relation, temporal relation and location questions (they need the recorded paths)."""
    out: list[Question] = []
    when, words = ("start", "at the beginning") if rng.random() < 0.5 else ("end", "at the end")
    obj, name = named[int(rng.integers(len(named)))]
    if len(named) >= 2:
        i, j = rng.choice(len(named), size=2, replace=False)
        (a, a_name), (b, b_name) = named[int(i)], named[int(j)]
        out.append((1, f"where is {a_name} relative to {b_name} {words}", _spatial(a, b, when)))
    if video["motion"] in ONE_WAY:
        out.append(_temporal(video, obj, name))
    out.append((6, f"where is {name} {words}", _third(obj[when][1], width)))
    return out


def questions_for_video(
    video: dict[str, Any], size: tuple[int, int], colours: list[str], rng: np.random.Generator
) -> list[Question]:
    """The ``(type, question, answer)`` list of one video's facts record (``size`` = frame ``(H, W)``)."""
    height, width = size
    objects = video["objects"]
    out: list[Question] = [(0, "what kind of motion is in the video", MOTION_WORDS[video["motion"]])]
    direction = _direction(video) if all("start" in o for o in objects) else None
    if direction is not None:
        out.append((0, "which way do the objects move", direction))
    named = [(o, d) for o in objects if (d := _describe(o, objects)) is not None]
    if named and all("start" in o for o in objects):
        out += _positional(video, named, width, rng)
    out.append(_yes_no(objects, colours, rng))
    by_shape = [o for o in objects if sum(p["shape"] == o["shape"] for p in objects) == 1]
    if by_shape:
        obj = by_shape[int(rng.integers(len(by_shape)))]
        out.append((4, f"what color is the {obj['shape']}", obj["colour"]))
    by_colour = [o for o in objects if sum(p["colour"] == o["colour"] for p in objects) == 1]
    if by_colour:
        obj = by_colour[int(rng.integers(len(by_colour)))]
        out.append((5, f"what shape is the {obj['colour']} object", obj["shape"]))
    out.append((7, "how many objects are there", str(len(objects))))
    if named and video["motion"] != "Zoom":
        obj, name = named[int(rng.integers(len(named)))]
        out.append((8, f"is {name} big or small", "big" if obj["radius"] >= 0.2 * height else "small"))
    return out


@dataclass(frozen=True)
class SynthQAStats:
    """What :func:`write_synthetic_qa` wrote: the folder, questions per split and per type."""

    out: Path
    questions: dict[str, int]
    types: dict[int, int]

    @property
    def total(self) -> int:
        """All questions written."""
        return sum(self.questions.values())


_PAIR = list_of(NUMBER, 2)
_OBJECT_FACTS = {"colour": STR, "shape": STR, "start": _PAIR, "end": _PAIR, "scale": _PAIR, "radius": NUMBER}
"""What each object of a video's facts holds, as :mod:`clipcop.synth.dataset` writes it."""


def _video_facts(value: Any) -> bool:
    """A video's facts as :func:`questions_for_video` reads them: a known motion (a turn with its
    direction) and one or more objects, each with every field of :data:`_OBJECT_FACTS`."""
    if not (isinstance(value, dict) and isinstance(value.get("motion"), str) and value["motion"] in MOTION_WORDS):
        return False
    if value["motion"] in TURNING and not isinstance(value.get("direction"), str):
        return False
    objects = value.get("objects")
    return (
        isinstance(objects, list)
        and len(objects) > 0
        and all(
            isinstance(o, dict) and all(k in o and shape(o[k]) for k, shape in _OBJECT_FACTS.items()) for o in objects
        )
    )


_VIDEO_FACTS = Shape("a video's facts (motion, objects with colour, shape, track, scale and radius)", _video_facts)


def _read_facts(root: Path) -> dict[str, Any]:
    path = root / "facts.json"
    if not path.is_file():
        raise DataError(f"{path} does not exist: write the dataset first (clipcop data synth)")
    what = "synthetic-dataset facts file"
    fields = Fields(read_json(path, what, error=MalformedDataError), path, what, error=MalformedDataError)
    fields.get("videos", object_of(_VIDEO_FACTS), required=True)
    fields.sub("spec", required=True).check({"size": list_of(INT, 2), "seed": INT}, required=("size",))
    return fields.value


def _split_of(root: Path) -> dict[str, str]:
    """``relative path -> train | val | test`` from split 1 of the dataset's split files."""
    lists = root / "ucfTrainTestlist"
    test = {line.split()[0] for line in read_lines(lists / "testlist01.txt")}
    train = {line.split()[0] for line in read_lines(lists / "trainlist01.txt")}
    val = {rel for rel in train if stable_fraction(f"qa-val:{rel}") < VAL_FRACTION}
    return {rel: "test" if rel in test else ("val" if rel in val else "train") for rel in train | test}


def write_synthetic_qa(root: str | Path, *, seed: int | None = None) -> SynthQAStats:
    """Write ``root/qa/{train,val,test}_{q,a}.json`` for the synthetic dataset at ``root``.

    >>> write_synthetic_qa("/tmp/synth").total  # doctest: +SKIP
    3641
    """
    root = Path(root)
    facts = _read_facts(root)
    seed = int(facts["spec"].get("seed", 0)) if seed is None else seed
    size = (int(facts["spec"]["size"][0]), int(facts["spec"]["size"][1]))
    split_of = _split_of(root)
    colours = sorted({o["colour"] for v in facts["videos"].values() for o in v["objects"]})
    files: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
        s: ([], []) for s in ("train", "val", "test")
    }
    types: Counter[int] = Counter()
    for number, (rel, video) in enumerate(sorted(facts["videos"].items())):
        if rel not in split_of:
            continue
        name = PurePosixPath(rel).stem.removeprefix("v_")
        rng = np.random.default_rng([seed, 7, number])
        questions, answers = files[split_of[rel]]
        for k, (qtype, question, answer) in enumerate(questions_for_video(video, size, colours, rng)):
            qid = f"v_{name}_{k}"
            questions.append({"video_name": name, "question": question, "question_id": qid})
            answers.append({"question_id": qid, "answer": answer, "type": qtype})
            types[qtype] += 1
    out = root / QA_DIR
    for split, (questions, answers) in files.items():
        write_text_atomic(out / f"{split}_q.json", json.dumps(questions))
        write_text_atomic(out / f"{split}_a.json", json.dumps(answers))
    return SynthQAStats(out, {s: len(q) for s, (q, _) in files.items()}, dict(sorted(types.items())))


_ANSWERS = list_of(Shape("an answer with an integer type", lambda v: isinstance(v, dict) and INT(v.get("type"))))


def read_qa_stats(root: str | Path) -> SynthQAStats:
    """Questions per split and per type of the question files at ``root/qa`` (as written above)."""
    out = Path(root) / QA_DIR
    questions: dict[str, int] = {}
    types: Counter[int] = Counter()
    for split in ("train", "val", "test"):
        path = out / f"{split}_a.json"
        answers = expect(
            read_json(path, "QA file", error=MalformedDataError),
            _ANSWERS,
            path,
            "QA file",
            "",
            error=MalformedDataError,
        )
        questions[split] = len(answers)
        types.update(int(a["type"]) for a in answers)
    return SynthQAStats(out, questions, dict(sorted(types.items())))


__all__ = ["MOTION_WORDS", "QA_DIR", "SynthQAStats", "questions_for_video", "read_qa_stats", "write_synthetic_qa"]
