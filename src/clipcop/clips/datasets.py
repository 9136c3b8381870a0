"""Map-style datasets over probed videos: VCOP tuples (pretraining) and evaluation/training clips.

Each item is a pure function of (seed, epoch, index): the sampler hands out ``(epoch, index)`` keys, so
any worker can produce any item and a resumed run sees exactly the same data. Items are uint8 tensors;
see :func:`clipcop.clips.transforms.normalize` for the float conversion on the device.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from clipcop.clips.frame_cache import FrameReader
from clipcop.clips.transforms import centre_crop_origin, crop_clip, random_crop_origin
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.errors import VideoDecodeError
from clipcop.sampling.clips import clip_indices, evenly_spaced_starts
from clipcop.sampling.tuples import sample_tuple
from clipcop.videos.decoder import read_frames

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
        backend: str,
        frames: FrameReader | None = None,
    ) -> None:
        self.videos = list(videos)
        self.geometry = geometry
        self.seed = seed
        self.backend = backend
        self.frames = frames

    def _read(self, path: Path, indices: np.ndarray) -> np.ndarray:
        """Frames at the dataset's size, from the frame cache when one is given, else decoded."""
        size = self.geometry.resize
        if self.frames is not None:
            return self.frames(path, indices, size)
        return read_frames(path, indices, size=size, backend=self.backend)

    def __len__(self) -> int:
        return len(self.videos)

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
        """The generator of item ``index``: fresh per epoch in training, fixed by index in evaluation."""
        return np.random.default_rng([self.seed, int(train), epoch if train else 0, index])


class VCOPTupleDataset(_VideoDataset):
    """Shuffled clip tuples for order prediction (Sec. III-A, IV-A).

    Item: ``clips`` ``(tl, 3, cl, crop, crop)`` uint8 in shuffled order, ``target`` (order class id),
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
        backend: str = "auto",
        frames: FrameReader | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=seed, backend=backend, frames=frames)
        self.spec = spec
        self.train = train

    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        video = self.videos[index]
        rng = self._rng(epoch, index, train=self.train)
        sample = sample_tuple(video.num_frames, self.spec, rng)
        indices = sample.shuffled_indices()  # (tl, cl)
        frames = self._read(video.path, indices.reshape(-1))
        frames = frames.reshape(*indices.shape, *frames.shape[1:])  # (tl, cl, H, W, 3)
        height, width = frames.shape[2:4]
        crop = self.geometry.crop
        clips = []
        for clip in frames:
            origin = (
                random_crop_origin(height, width, crop, rng) if self.train else centre_crop_origin(height, width, crop)
            )
            clips.append(crop_clip(clip, origin, crop))
        return {
            "clips": torch.from_numpy(np.stack(clips)),
            "target": torch.tensor(sample.target),
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }


class EvalClipsDataset(_VideoDataset):
    """``num_clips`` evenly spaced, centre-cropped clips per video (retrieval, test-time recognition).

    Item: ``clips`` ``(N, 3, cl, crop, crop)`` uint8, ``starts`` ``(N,)``, ``label``, ``index``. All
    clips of a video come from one decoder call.
    """

    def __init__(
        self,
        videos: Sequence[VideoRef],
        *,
        clip_len: int,
        num_clips: int,
        geometry: ClipGeometry,
        backend: str = "auto",
        frames: FrameReader | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=0, backend=backend, frames=frames)
        self.clip_len = clip_len
        self.num_clips = num_clips

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        # Evaluation never substitutes another video: a failure must be reported for this video.
        _, index = _split_key(key)
        try:
            item = self._make(0, index)
            item["failed_reads"] = torch.tensor(0)
        except VideoDecodeError:
            crop = self.geometry.crop
            item = {
                "clips": torch.zeros(self.num_clips, 3, self.clip_len, crop, crop, dtype=torch.uint8),
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
        frames = self._read(video.path, indices.reshape(-1))
        frames = frames.reshape(*indices.shape, *frames.shape[1:])
        height, width = frames.shape[2:4]
        origin = centre_crop_origin(height, width, self.geometry.crop)
        clips = np.stack([crop_clip(clip, origin, self.geometry.crop) for clip in frames])
        return {
            "clips": torch.from_numpy(clips),
            "starts": torch.from_numpy(starts),
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }


class TrainClipDataset(_VideoDataset):
    """One random clip per video per epoch with a random crop (action-recognition training, Sec. IV-C).

    Item: ``clips`` ``(1, 3, cl, crop, crop)`` uint8, ``label``, ``index``.
    """

    def __init__(
        self,
        videos: Sequence[VideoRef],
        *,
        clip_len: int,
        geometry: ClipGeometry,
        train: bool = True,
        seed: int = 0,
        backend: str = "auto",
        frames: FrameReader | None = None,
    ) -> None:
        super().__init__(videos, geometry=geometry, seed=seed, backend=backend, frames=frames)
        self.clip_len = clip_len
        self.train = train

    def _make(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        video = self.videos[index]
        rng = self._rng(epoch, index, train=self.train)
        start = int(rng.integers(0, max(video.num_frames - self.clip_len, 0) + 1))
        frames = self._read(video.path, clip_indices(start, self.clip_len, video.num_frames))
        height, width = frames.shape[1:3]
        crop = self.geometry.crop
        origin = random_crop_origin(height, width, crop, rng) if self.train else centre_crop_origin(height, width, crop)
        return {
            "clips": torch.from_numpy(crop_clip(frames, origin, crop))[None],
            "label": torch.tensor(video.label),
            "index": torch.tensor(index),
        }
