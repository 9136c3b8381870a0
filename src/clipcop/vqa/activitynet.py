"""Reading ActivityNet-QA (Sec. IV-D): ``{split}_q.json`` and ``{split}_a.json`` joined by ``question_id``.

``{split}_q.json`` is a list of ``{video_name, question, question_id}``, ``{split}_a.json`` a list of
``{question_id, answer, type}`` with ``type`` 0..8 (see :mod:`clipcop.metrics.qa`). ``video_name`` is a
YouTube id (it may start with ``-`` or ``_``); the video files are usually named ``v_<id>.mp4`` (or
``.mkv``, ``.webm``, ...), so videos are matched by file stem with or without the ``v_`` prefix.

Bad entries never stop a run: malformed entries, unknown question types, duplicate ids, answers without
a question and questions without an answer are dropped, counted and reported in one warning line per
kind (:class:`Issues`); only an unreadable file (missing, not JSON, not a list) is an error.

>>> issues = Issues()
>>> train = read_split("~/data/ActivityNet-QA", "train", issues)  # doctest: +SKIP
>>> issues.report(Reporter())  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError, MalformedDataError
from clipcop.metrics.qa import NUM_TYPES
from clipcop.paths import why_not
from clipcop.validation import parse_json
from clipcop.videos.layouts import VIDEO_EXTENSIONS, list_videos

SPLITS = ("train", "val", "test")


class Issues:
    """Problems found in the input, by kind: how many, and the first example (for one warning line each)."""

    def __init__(self) -> None:
        self._found: dict[str, list[Any]] = {}

    def add(self, kind: str, example: str) -> None:
        """Count one more problem of ``kind`` (the first ``example`` is kept)."""
        entry = self._found.setdefault(kind, [0, example])
        entry[0] += 1

    def count(self, kind: str) -> int:
        """How many problems of ``kind`` were seen."""
        return int(self._found.get(kind, [0])[0])

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"count", "example"}}`` for JSON output."""
        return {kind: {"count": n, "example": ex} for kind, (n, ex) in self._found.items()}

    def report(self, reporter: Reporter) -> None:
        """One warning line per kind: the count, the kind, one example."""
        for kind, (count, example) in self._found.items():
            reporter.warn(f"{count} {kind}, e.g. {example}")

    def __bool__(self) -> bool:
        return bool(self._found)


@dataclass(frozen=True)
class QAItem:
    """One question with its answer and type (``answer`` None and ``qtype`` -1 when the split has none)."""

    question_id: str
    video_name: str
    question: str
    answer: str | None = None
    qtype: int = -1


@dataclass(frozen=True)
class QASplit:
    """The usable questions of one split, in file order."""

    name: str
    items: tuple[QAItem, ...]
    has_answers: bool

    def __len__(self) -> int:
        return len(self.items)


def read_json_list(path: Path) -> list[Any]:
    """The JSON list in ``path``; a missing, non-JSON or non-list file is a :class:`DataError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    data = parse_json(text, path, "QA file", error=MalformedDataError)
    if not isinstance(data, list):
        raise MalformedDataError(f"{path} must hold a JSON list of entries, not a {type(data).__name__}", path=path)
    return data


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _qtype(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _short(entry: Any) -> str:
    text = json.dumps(entry, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _questions(path: Path, issues: Issues) -> dict[str, QAItem]:
    found: dict[str, QAItem] = {}
    for entry in read_json_list(path):
        fields = entry if isinstance(entry, dict) else {}
        qid, video, question = (_text(fields.get(k)) for k in ("question_id", "video_name", "question"))
        if qid is None or video is None or question is None:
            issues.add(f"malformed entries in {path.name} (skipped)", _short(entry))
        elif qid in found:
            issues.add(f"duplicate question ids in {path.name} (first kept)", qid)
        else:
            found[qid] = QAItem(qid, video.strip(), question)
    return found


def _answers(path: Path, issues: Issues) -> tuple[dict[str, tuple[str, int]], set[str]]:
    """Answers by question id, and the ids whose answer entry was dropped (already reported)."""
    found: dict[str, tuple[str, int]] = {}
    dropped: set[str] = set()
    for entry in read_json_list(path):
        fields = entry if isinstance(entry, dict) else {}
        qid, answer, qtype = _text(fields.get("question_id")), _text(fields.get("answer")), _qtype(fields.get("type"))
        if qid is None or answer is None or "type" not in fields:
            issues.add(f"malformed entries in {path.name} (skipped)", _short(entry))
            dropped.add(qid or "")
        elif qtype is None or not 0 <= qtype < NUM_TYPES:
            issues.add(f"questions of unknown type in {path.name} (skipped; types are 0..8)", _short(entry))
            dropped.add(qid)
        elif qid in found:
            issues.add(f"duplicate question ids in {path.name} (first kept)", qid)
        else:
            found[qid] = (answer.strip(), qtype)
    return found, dropped


def read_split(qa_dir: str | Path, split: str, issues: Issues, *, need_answers: bool = True) -> QASplit:
    """The questions of ``split`` joined with their answers (``need_answers=False``: answers optional)."""
    root = Path(qa_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"QA folder {root} {why_not(root, 'folder')}")
    q_path, a_path = root / f"{split}_q.json", root / f"{split}_a.json"
    questions = _questions(q_path, issues)
    if not a_path.is_file() and not need_answers:
        return QASplit(split, tuple(questions.values()), has_answers=False)
    answers, dropped = _answers(a_path, issues)
    orphans = [qid for qid in answers if qid not in questions]
    for qid in orphans:
        issues.add(f"answers in {a_path.name} without a question in {q_path.name} (skipped)", qid)
    items = []
    for qid, item in questions.items():
        if qid in answers:
            answer, qtype = answers[qid]
            items.append(QAItem(qid, item.video_name, item.question, answer, qtype))
        elif qid not in dropped:
            issues.add(f"questions in {q_path.name} without an answer in {a_path.name} (skipped)", qid)
    if not items:
        raise DataError(f"no usable questions in {q_path.name} / {a_path.name} under {root}")
    return QASplit(split, tuple(items), has_answers=True)


def video_stem(name: str) -> str:
    """A video's file name without folders and a known video extension (``a/v_x.mp4`` -> ``v_x``)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.stem if pure.suffix.lower() in VIDEO_EXTENSIONS else pure.name


def stem_candidates(video_name: str) -> tuple[str, ...]:
    """File stems that hold ``video_name``: itself, with ``v_`` added, and with a leading ``v_`` removed."""
    stem = video_stem(video_name)
    found = [stem, f"v_{stem}"]
    if stem.startswith("v_"):
        found.append(stem[2:])
    return tuple(found)


class VideoLookup:
    """Find a ``video_name`` among video files or feature-file video ids by stem (``v_`` prefix optional)."""

    def __init__(self, names: Sequence[str], issues: Issues | None = None) -> None:
        self.names = list(names)
        self._by_stem: dict[str, int] = {}
        for number, name in enumerate(self.names):
            stem = video_stem(name)
            if stem in self._by_stem:
                if issues is not None:
                    issues.add("videos sharing a file name (the first is used)", name)
                continue
            self._by_stem[stem] = number

    def find(self, video_name: str) -> int | None:
        """The number of the video holding ``video_name``, or None."""
        for stem in stem_candidates(video_name):
            if stem in self._by_stem:
                return self._by_stem[stem]
        return None


def find_videos(videos_dir: str | Path, video_names: Iterable[str]) -> tuple[dict[str, Path], list[str]]:
    """Video files under ``videos_dir`` (any common extension) for each name; also the names not found.

    >>> found, missing = find_videos("~/data/ActivityNet/videos", ["-7wfTI8Qv1Q", "_MWyhJS4KbM"])  # doctest: +SKIP
    """
    root = Path(videos_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"videos folder {root} does not exist")
    files = list_videos(root)
    lookup = VideoLookup(files)
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in dict.fromkeys(video_names):
        number = lookup.find(name)
        if number is None:
            missing.append(name)
        else:
            found[name] = root / files[number]
    return found, missing


__all__ = [
    "SPLITS",
    "Issues",
    "QAItem",
    "QASplit",
    "VideoLookup",
    "find_videos",
    "read_json_list",
    "read_split",
    "stem_candidates",
    "video_stem",
]
