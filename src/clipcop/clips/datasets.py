"""Map-style datasets over probed videos: VCOP tuples (pretraining) and evaluation/training clips.

Each training item is a pure function of (seed, epoch, index), each evaluation item of its index alone:
the sampler hands out ``(epoch, index)`` keys, so any worker can produce any item and a resumed run sees
exactly the same data. Items are uint8 tensors;
clips are channels-last ``(..., T, H, W, 3)`` as decoded; :func:`clipcop.engine.pixels.normalize` moves the
channels forward and converts to float on the device.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from clipcop.clips.sources import DecodedVideos, FrameSource
from clipcop.clips.transforms import centre_crop_origin, gather_windows, random_crop_origin
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.errors import VideoDecodeError
from clipcop.sampling.clips import clip_indices, evenly_spaced_starts
from clipcop.sampling.tuples import sample_tuple

EVAL_SEED = 0
"""The seed of every evaluation item (with its index): evaluation tuples do not depend on ``--seed``."""

Key = tuple[int, int] | int
"""A dataset key: ``(epoch, index)`` from an epoch sampler, or a bare index (epoch 0)."""


@dataclass(frozen=True)
class VideoRef:
    """A readable video: absolute path, frame count (from the manifest) and class (-1: none)."""

    path: Path
    num_frames: int
    label: int = -1


def _split_key(key: Key) -> tuple[int, int]:
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return 0, int(key)


class _VideoDataset(Dataset[dict[str, torch.Tensor]]):
    """Shared plumbing: decode with fallback to the next video when a file fails at read time."""

    def __init__(
        self,
        videos: Sequence[VideoRef],
        *,
        geometry: ClipGeometry,
        seed: int,
        source: FrameSource | None = None,
    ) -> None:
        self.videos = list(videos)
        self.geometry = geometry
        self.seed = seed
        self.source: FrameSource = source if source is not None else DecodedVideos()

    def _clips(self, path: Path, rows: np.ndarray, origins: Sequence[tuple[int, int]]) -> np.ndarray:
        """Frames ``rows (K, T)`` of ``path`` cropped at ``origins``: ``(K, T, crop, crop, 3)`` uint8.

        The frame source decides how (:mod:`clipcop.clips.sources`).
        """
        frames, rows = self.source.read(path, rows, self.geometry.resize)
        return gather_windows(frames, rows, origins, self.geometry.crop)

    def _origin(self, rng: np.random.Generator | None) -> tuple[int, int]:
        """A random crop corner from ``rng``, or the centre's when None (evaluation)."""
        height, width = self.geometry.resize
        crop = self.geometry.crop
        return centre_crop_origin(height, width, crop) if rng is None else random_crop_origin(height, width, crop, rng)

    def __len__(self) -> int:
        return len(self.videos)

    def fully_cached(self) -> bool:
        """Whether the frame source serves every video without decoding (items are then window copies)."""
        size = self.geometry.resize
        return all(self.source.holds(v.path, size) for v in self.videos)

    @abstractmethod
    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        """Decode and transform item ``index`` for ``epoch``; raises VideoDecodeError on a bad file."""

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        epoch, index = _split_key(key)
        failures = 0
        for attempt in range(min(len(self.videos), 8)):
            try:
                item = self._make(epoch, (index + attempt) % len(self.videos))
            except VideoDecodeError:
                failures += 1
                continue
            item["failed_reads"] = torch.tensor(failures)
            return item
        raise VideoDecodeError(self.videos[index].path, f"this and {failures - 1} following videos failed")

    def _rng(self, epoch: int, index: int, *, train: bool) -> np.random.Generator:
        """The generator of item ``index``: fresh per epoch and seed in training; in evaluation fixed by the
        index alone, so every run scores the same validation and test tuples whatever its ``--seed`` (as the
        authors' code does, which seeds its test tuples with the index)."""
        if train:
            return np.random.default_rng([self.seed, 1, epoch, index])
        return np.random.default_rng([EVAL_SEED, 0, 0, index])


class VCOPTupleDataset(_VideoDataset):
    """Shuffled clip tuples for order prediction (Sec. III-A, IV-A).

    Item: ``clips`` ``(tl, cl, crop, crop, 3)`` uint8 in shuffled order, ``target`` (order class id),
    ``label`` (video class, only used for per-class reports), ``index``. ``train=True`` draws a fresh
    tuple and random crops per epoch; ``train=False`` fixes both by index (centre crop).
    """

    def __init__(
        self,
        videos: Sequence[VideoRef],
        spec: TupleSpec,
        geometry: ClipGeometry,
        *,
        train: bool,
        seed: int = 0,
        source: FrameSource | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=seed, source=source)
        self.spec = spec
        self.train = train

    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        video = self.videos[index]
        rng = self._rng(epoch, index, train=self.train)
        sample = sample_tuple(video.num_frames, self.spec, rng)
        indices = sample.shuffled_indices()  # (tl, cl)
        origins = [self._origin(rng if self.train else None) for _ in indices]
        clips = self._clips(video.path, indices, origins)
        return {
            "clips": torch.from_numpy(clips),
            "target": torch.tensor(sample.target),
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }


class EvalClipsDataset(_VideoDataset):
    """``num_clips`` evenly spaced, centre-cropped clips per video (retrieval, test-time recognition).

    Item: ``clips`` ``(N, cl, crop, crop, 3)`` uint8, ``starts`` ``(N,)``, ``label``, ``index``. All
    clips of a video come from one decoder call.
    """

    def __init__(
        self,
        videos: Sequence[VideoRef],
        *,
        clip_len: int,
        num_clips: int,
        geometry: ClipGeometry,
        source: FrameSource | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=0, source=source)
        self.clip_len = clip_len
        self.num_clips = num_clips

    def read(self, index: int) -> dict[str, torch.Tensor]:
        """Item ``index``, raising :class:`VideoDecodeError` (with the decoder's reason) on a bad file."""
        item = self._make(0, index)
        item["failed_reads"] = torch.tensor(0)
        return item

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        # Evaluation never substitutes another video: a failure must be reported for this video.
        _, index = _split_key(key)
        try:
            item = self.read(index)
        except VideoDecodeError:
            crop = self.geometry.crop
            item = {
                "clips": torch.zeros(self.num_clips, self.clip_len, crop, crop, 3, dtype=torch.uint8),
                "starts": torch.zeros(self.num_clips, dtype=torch.int64),
                "label": torch.tensor(self.videos[index].label),
                "index": torch.tensor(index),
                "failed_reads": torch.tensor(1),
            }
        return item

    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        video = self.videos[index]
        starts = evenly_spaced_starts(video.num_frames, self.clip_len, self.num_clips)
        indices = np.stack([clip_indices(int(s), self.clip_len, video.num_frames) for s in starts])
        clips = self._clips(video.path, indices, [self._origin(None)] * len(indices))
        return {
            "clips": torch.from_numpy(clips),
            "starts": torch.from_numpy(starts),
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }


class TrainClipDataset(_VideoDataset):
    """One random clip per video per epoch with a random crop (action-recognition training, Sec. IV-C).

    Item: ``clips`` ``(1, cl, crop, crop, 3)`` uint8, ``label``, ``index``.
    """

    def __init__(
        self,
        videos: Sequence[VideoRef],
        *,
        clip_len: int,
        geometry: ClipGeometry,
        train: bool = True,
        seed: int = 0,
        source: FrameSource | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=seed, source=source)
        self.clip_len = clip_len
        self.train = train

    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        video = self.videos[index]
        rng = self._rng(epoch, index, train=self.train)
        start = int(rng.integers(0, max(video.num_frames - self.clip_len, 0) + 1))
        rows = clip_indices(start, self.clip_len, video.num_frames)[None]
        clips = self._clips(video.path, rows, [self._origin(rng if self.train else None)])
        return {
            "clips": torch.from_numpy(clips),
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }
