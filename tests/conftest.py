"""Shared fixtures: real video files written with PyAV, miniature dataset layouts, a tiny synthetic set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clipcop.synth.dataset import SynthSpec, write_synthetic
from clipcop.videos.writer import write_video

BRIGHTNESS_STEP = 4
BRIGHTNESS_BASE = 8


def index_frames(count: int, height: int = 48, width: int = 64) -> Iterator[np.ndarray]:
    """Frames whose uniform brightness encodes their index (robust to resizing, cropping, compression)."""
    for i in range(count):
        value = BRIGHTNESS_BASE + BRIGHTNESS_STEP * i
        assert value <= 255, "index videos hold at most 62 frames"
        yield np.full((height, width, 3), value, dtype=np.uint8)


def frame_index(frames: np.ndarray) -> np.ndarray:
    """Recover frame indices from the mean brightness of decoded index frames (any shape)."""
    # Decoders come out 0-3 levels darker than written after YUV round trips: centre the window on that.
    return np.round((frames.astype(np.float64) - BRIGHTNESS_BASE + 1) / BRIGHTNESS_STEP).astype(np.int64)


def write_index_video(path: Path, count: int, height: int = 48, width: int = 64) -> Path:
    """An index video of ``count`` frames at ``path`` (codec from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, index_frames(count, height, width))


def write_moving_video(path: Path, count: int, height: int = 48, width: int = 64, seed: int = 0) -> Path:
    """A textured video with a moving square (something real codecs must predict between frames)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 4 + 1, 3)).astype(np.float64)
    texture = np.kron(coarse, np.ones((8, 8, 1)))[:height, : width * 2]
    texture = ((texture + np.roll(texture, 4, axis=0) + np.roll(texture, 4, axis=1)) / 3).astype(np.uint8)

    def frames() -> Iterator[np.ndarray]:
        for i in range(count):
            frame = np.roll(texture, -i, axis=1)[:, :width].copy()
            y, x = (3 * i) % (height - 10), (5 * i) % (width - 10)
            frame[y : y + 10, x : x + 10] = 255
            yield frame

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frames())


@pytest.fixture(autouse=True)
def _denormals_kept() -> Iterator[None]:
    """Running on the CPU flushes denormal floats for speed (process-wide); later tests get them back."""
    yield
    import torch

    torch.set_flush_denormal(False)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own clipcop cache folder (nothing leaks into the user's)."""
    monkeypatch.setenv("CLIPCOP_CACHE", str(tmp_path_factory.mktemp("cache")))


TINY_SYNTH = SynthSpec(classes=4, videos_per_class=8, frames=40, size=(32, 40), seed=3)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset in the UCF101 layout, written once per session (read-only use)."""
    root = tmp_path_factory.mktemp("tiny_synth")
    write_synthetic(root, TINY_SYNTH, workers=1)
    return root


TINY_PRETRAIN: dict[str, Any] = {
    "arch": "r3d",
    "width": 4,
    "clip_len": 4,
    "interval": 2,
    "resize": (24, 32),
    "crop": 16,
    "batch_size": 4,
    "workers": 0,
    "optimizer": "adam",
}
"""``pretrain`` keywords for a model small enough for CI: R3D width 4, 4-frame clips 2 apart, 24x32
frames, 16 crops, Adam."""


@pytest.fixture(scope="session")
def vcop_checkpoint(tiny_synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch of VCOP on ``tiny_synth`` (R3D width 4, 4-frame clips 2 apart, 24x32 frames, 16 crops); read-only."""
    from clipcop.workflows.pretrain import pretrain

    out = tmp_path_factory.mktemp("vcop") / "run"
    result = pretrain(data=str(tiny_synth), epochs=1, out=str(out), **TINY_PRETRAIN)
    return result.best_checkpoint


def crlf(lines: list[str]) -> str:
    """Lines joined with CRLF endings, as UCF101's split files have them."""
    return "".join(f"{line}\r\n" for line in lines)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Run the test inside a fresh folder (commands write ``runs/`` relative to it)."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
