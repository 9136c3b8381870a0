"""One synthetic video: a motion class rendered with random appearance, plus what was generated.

The returned :class:`VideoFacts` record what happened (objects, colours, direction, where each object
starts and ends), which the QA generator (:mod:`clipcop.synth.qa`) turns into questions whose answers
follow from the content. Recording the facts reads the tracks only: no extra random numbers are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipcop.synth.motions import MOTIONS, Track
from clipcop.synth.render import (
    Appearance,
    composite,
    random_appearance,
    random_background,
    shape_mask,
    to_uint8,
)

ELONGATED = ("bar", "triangle", "cross", "ellipse")
ROTATING = frozenset({"Rotate", "Spin"})


@dataclass(frozen=True)
class ObjectPath:
    """Where one object is in the first and last frame: centre ``(y, x)`` in pixels and scale."""

    start: tuple[float, float]
    end: tuple[float, float]
    scale: tuple[float, float]


@dataclass(frozen=True)
class VideoFacts:
    """What a synthetic video shows: its motion class and direction, each object's look and path."""

    motion: str
    direction: str
    objects: tuple[Appearance, ...]
    paths: tuple[ObjectPath, ...] = ()


def _path(track: Track) -> ObjectPath:
    return ObjectPath(
        start=(float(track.cy[0]), float(track.cx[0])),
        end=(float(track.cy[-1]), float(track.cx[-1])),
        scale=(float(track.scale[0]), float(track.scale[-1])),
    )


def _shift_background(panorama: np.ndarray, offset: float, width: int) -> np.ndarray:
    left = int(np.floor(offset))
    frac = offset - left
    a = panorama[:, left : left + width]
    b = panorama[:, left + 1 : left + 1 + width]
    return a * (1 - frac) + b * frac


def render_video(
    motion: str,
    rng: np.random.Generator,
    *,
    frames: int = 80,
    height: int = 48,
    width: int = 64,
    max_objects: int = 3,
    noise: float = 0.015,
) -> tuple[np.ndarray, VideoFacts]:
    """Render ``frames`` RGB uint8 frames ``(T, H, W, 3)`` of ``motion`` and the facts behind them."""
    count = int(rng.integers(1, max_objects + 1))
    moves = MOTIONS[motion](rng, frames, height, width, count)
    shapes = (
        ELONGATED if motion in ROTATING else tuple(s for s in ("disk", "square", "triangle", "bar", "cross", "ellipse"))
    )
    looks = tuple(random_appearance(rng, height, shapes=shapes) for _ in moves.tracks)
    travel = int(np.ceil(np.abs(moves.camera[:, 1]).max())) + 2
    panorama = random_background(rng, height, width + 2 * travel)
    grid = np.mgrid[0:height, 0:width].astype(np.float64)
    grid_pair = (grid[0], grid[1])
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        background = _shift_background(panorama, travel + moves.camera[t, 1], width)
        layers = [
            (shape_mask(look, tr.cy[t], tr.cx[t], tr.angle[t], tr.scale[t], grid_pair), look.color)
            for look, tr in zip(looks, moves.tracks, strict=True)
        ]
        out[t] = to_uint8(composite(background, layers), rng, noise)
    paths = tuple(_path(track) for track in moves.tracks)
    return out, VideoFacts(motion=motion, direction=moves.direction, objects=looks, paths=paths)
