"""From questions and a feature file to tensors: token ids, the clip features of each question's video.

A question's ``video_name`` is found among the feature file's video ids by file stem (``v_`` optional,
see :mod:`.activitynet`). Questions whose video has no features (never extracted, or failed to decode)
are dropped and reported with the reason for one example; the rest are used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clipcop.errors import DataError
from clipcop.features.store import FeatureFile, read_features
from clipcop.vqa.activitynet import Issues, QAItem, VideoLookup, find_videos
from clipcop.vqa.text import AnswerVocabulary, Vocabulary


def no_features(split: str) -> str:
    """The issue kind of ``split``'s questions whose video has no features."""
    return f"{split} questions whose video has no features (skipped)"


class VideoFeatures:
    """The clip features of a feature file ``(videos, clips, D)``, looked up by ActivityNet ``video_name``."""

    def __init__(self, path: str | Path, issues: Issues | None = None) -> None:
        self.file: FeatureFile = read_features(path).check_finite()
        clips = int(self.file.meta.get("clips", 0))
        videos = len(self.file.video_ids)
        if clips < 1 or videos * clips != self.file.features.shape[0]:
            raise DataError(
                f"{path}: {videos} videos x {clips} clips do not match its {self.file.features.shape[0]} rows"
            )
        self.clips = clips
        self.lookup = VideoLookup(self.file.video_ids, issues)
        self._failed = set(self.file.failed)

    @property
    def dim(self) -> int:
        """Feature size D."""
        return self.file.dim

    def find(self, video_name: str) -> int | None:
        """The video number holding ``video_name``, or None when it has no (usable) features."""
        number = self.lookup.find(video_name)
        if number is None or self.file.video_ids[number] in self._failed:
            return None
        return number

    def why_missing(self, video_name: str) -> str:
        """Why ``video_name`` has no features, for the warning line."""
        number = self.lookup.find(video_name)
        if number is not None:
            return f"video {self.file.video_ids[number]} failed to decode during extraction"
        root = Path(str(self.file.meta.get("dataset", {}).get("video_root", "")))
        if not str(root) or not root.is_dir():
            return f"no video named {video_name} in {self.file.path.name}"
        found, _ = find_videos(root, [video_name])
        if video_name in found:
            return f"{found[video_name]} exists but is not in {self.file.path.name} (unreadable or not extracted)"
        return f"no video file {video_name}.* or v_{video_name}.* under {root}"

    def clip_features(self, numbers: Sequence[int]) -> torch.Tensor:
        """Float32 clip features ``(V, N, D)`` of the given video numbers."""
        rows = (np.asarray(numbers, dtype=np.int64)[:, None] * self.clips + np.arange(self.clips)).reshape(-1)
        data = np.asarray(self.file.features[rows], dtype=np.float32)
        return torch.from_numpy(data.reshape(len(numbers), self.clips, self.dim))


@dataclass(frozen=True)
class QATensors:
    """One split as tensors: ``tokens`` ``(Q, L)`` (0 = padding), ``lengths``, ``video`` (row of ``clips``),
    ``answer`` (class id, 0 = unknown or no answer), ``qtype`` (-1 = none), and ``clips`` ``(V, N, D)``."""

    items: tuple[QAItem, ...]
    tokens: torch.Tensor
    lengths: torch.Tensor
    video: torch.Tensor
    answer: torch.Tensor
    qtype: torch.Tensor
    clips: torch.Tensor

    def __len__(self) -> int:
        return len(self.items)

    def batches(self, batch_size: int, order: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
        """Question indices in batches of ``batch_size`` (in ``order`` when given)."""
        order = torch.arange(len(self)) if order is None else order
        yield from torch.split(order, batch_size)

    def inputs(self, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(tokens (B, L), lengths (B,), clips (B, N, D))`` of the questions ``index`` on ``device``."""
        lengths = self.lengths[index]
        tokens = self.tokens[index, : int(lengths.max())]
        return tokens.to(device), lengths, self.clips[self.video[index]].to(device)


MAX_QUESTION_WORDS = 64
"""Words of a question the model reads (``--max-question-words``); ActivityNet-QA's longest has about 30."""


def to_tensors(
    items: Sequence[QAItem],
    features: VideoFeatures,
    vocab: Vocabulary,
    answers: AnswerVocabulary,
    issues: Issues,
    *,
    split: str,
    max_words: int = MAX_QUESTION_WORDS,
) -> QATensors:
    """The questions of ``items`` whose video has features, encoded; the others reported in ``issues``.

    A question is cut to its first ``max_words`` words (counted in ``issues``): the question LSTM runs
    once per word, so one 20,000-word question would slow a whole epoch many times over.
    """
    kept: list[QAItem] = []
    numbers: list[int] = []
    for item in items:
        number = features.find(item.video_name)
        if number is None:
            kind = no_features(split)
            example = "" if issues.count(kind) else f"{item.question_id} ({features.why_missing(item.video_name)})"
            issues.add(kind, example)
            continue
        kept.append(item)
        numbers.append(number)
    if not kept:
        raise DataError(f"no {split} question has features in {features.file.path} (do the video names match?)")
    videos, video_rows = np.unique(np.asarray(numbers), return_inverse=True)
    encoded = [vocab.encode(item.question) for item in kept]
    for item, ids in zip(kept, encoded, strict=True):
        if len(ids) > max_words:
            issues.add(f"{split} questions longer than {max_words} words (cut; --max-question-words)", item.question_id)
    encoded = [ids[:max_words] for ids in encoded]
    tokens = torch.zeros(len(kept), max(len(e) for e in encoded), dtype=torch.long)
    for row, ids in enumerate(encoded):
        tokens[row, : len(ids)] = torch.tensor(ids)
    return QATensors(
        items=tuple(kept),
        tokens=tokens,
        lengths=torch.tensor([len(e) for e in encoded]),
        video=torch.from_numpy(video_rows.astype(np.int64)),
        answer=torch.tensor([answers.id(item.answer) for item in kept]),
        qtype=torch.tensor([item.qtype for item in kept]),
        clips=features.clip_features(videos.tolist()),
    )


def feature_statistics(data: QATensors) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std ``(D,)`` over every clip of the videos in ``data``."""
    flat = data.clips.reshape(-1, data.clips.shape[-1]).double()  # (V*N, D)
    return flat.mean(dim=0).float(), flat.std(dim=0, unbiased=False).float()


__all__ = ["QATensors", "VideoFeatures", "feature_statistics", "no_features", "to_tensors"]
