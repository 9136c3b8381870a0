"""The motion classes of the synthetic dataset: a class is a kind of motion, nothing else.

Each motion turns a random generator into per-frame object poses (centre, angle, scale) and a camera
offset. The direction (left/right, clockwise/anticlockwise, in/out, ...) and speed are random per video,
so the order of clips is readable only from motion inside a clip together with what pooled features keep
(size, orientation, position against the frame border) — the argument of the paper's Fig. 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np


@dataclass(frozen=True)
class Track:
    """Per-frame pose of one object: centre ``(cy, cx)`` in pixels, ``angle`` in radians, ``scale``."""

    cy: np.ndarray
    cx: np.ndarray
    angle: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class Motion:
    """The tracks of a video's objects, the camera offset per frame ``(T, 2)``, and a direction word."""

    tracks: list[Track]
    camera: np.ndarray
    direction: str


MotionFn = Callable[[np.random.Generator, int, int, int, int], Motion]


def _still(rng: np.random.Generator, frames: int, height: int, width: int, margin: float = 0.25) -> Track:
    cy = np.full(frames, rng.uniform(margin, 1 - margin) * height)
    cx = np.full(frames, rng.uniform(margin, 1 - margin) * width)
    return Track(cy, cx, np.full(frames, rng.uniform(0, np.pi)), np.ones(frames))


PROGRESS = {
    "linear": lambda u: u,
    "decelerate": lambda u: 1 - (1 - u) ** 3,
    "exp": lambda u: (1 - np.exp(-2.08 * u)) / (1 - np.exp(-2.08)),
}
_profile = ["decelerate"]


def _ramp(frames: int, start: float, stop: float) -> np.ndarray:
    u = np.linspace(0.0, 1.0, frames)
    return cast(np.ndarray, start + (stop - start) * PROGRESS[_profile[0]](u))


def _no_camera(frames: int) -> np.ndarray:
    return np.zeros((frames, 2))


def _sign(rng: np.random.Generator) -> int:
    return 1 if rng.random() < 0.5 else -1


def move_horizontal(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects glide left or right across most of the frame."""
    sign = _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width)
        travel = rng.uniform(0.45, 0.65) * width
        start = width / 2 - sign * travel / 2 + rng.uniform(-0.05, 0.05) * width
        tracks.append(Track(base.cy, _ramp(frames, start, start + sign * travel), base.angle, base.scale))
    return Motion(tracks, _no_camera(frames), "right" if sign > 0 else "left")


def move_vertical(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects glide up or down across most of the frame."""
    sign = _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width)
        travel = rng.uniform(0.45, 0.65) * height
        start = height / 2 - sign * travel / 2 + rng.uniform(-0.05, 0.05) * height
        tracks.append(Track(_ramp(frames, start, start + sign * travel), base.cx, base.angle, base.scale))
    return Motion(tracks, _no_camera(frames), "down" if sign > 0 else "up")


def rotate(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects turn about their centre, clockwise or anticlockwise, by 100-160 degrees."""
    sign = _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width)
        sweep = np.deg2rad(rng.uniform(100, 160))
        a0 = rng.uniform(0, np.pi)
        tracks.append(Track(base.cy, base.cx, _ramp(frames, a0, a0 + sign * sweep), base.scale))
    return Motion(tracks, _no_camera(frames), "clockwise" if sign > 0 else "anticlockwise")


def zoom(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects grow or shrink by a factor of 2.5-3.5 (approach or recede)."""
    sign = _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width, margin=0.35)
        factor = rng.uniform(2.5, 3.5)
        lo, hi = np.log(0.55), np.log(0.55 * factor)
        scale = np.exp(_ramp(frames, lo, hi) if sign > 0 else _ramp(frames, hi, lo))
        tracks.append(Track(base.cy, base.cx, base.angle, scale))
    return Motion(tracks, _no_camera(frames), "growing" if sign > 0 else "shrinking")


def orbit(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects circle the frame centre, clockwise or anticlockwise, for 200-300 degrees."""
    sign = _sign(rng)
    tracks = []
    phase0 = rng.uniform(0, 2 * np.pi)
    sweep = np.deg2rad(rng.uniform(200, 300))
    radius = rng.uniform(0.22, 0.3) * height
    for k in range(count):
        phase = phase0 + 2 * np.pi * k / count + sign * _ramp(frames, 0, sweep)
        cy = height / 2 + radius * np.sin(phase)
        cx = width / 2 + radius * np.cos(phase) * 1.2
        tracks.append(Track(cy, cx, np.full(frames, rng.uniform(0, np.pi)), np.ones(frames)))
    return Motion(tracks, _no_camera(frames), "clockwise" if sign > 0 else "anticlockwise")


def oscillate(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects swing left-right like a pendulum, at a fixed amplitude, the swing slowing over the video.

    The sign drawn here only shifts the phase, which no viewer can tell apart, so the direction is ``"none"``
    (the draw is kept so that the rendered videos of dataset format v1 stay the same).
    """
    sign = _sign(rng)
    period = rng.uniform(14, 22)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width, margin=0.4)
        swing = 0.3 * width * np.sin(2 * np.pi * _ramp(frames, 0, frames / period) + rng.uniform(0, 6.3) * sign)
        tracks.append(Track(base.cy, base.cx + swing, base.angle, base.scale))
    return Motion(tracks, _no_camera(frames), "none")


def bounce(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects bounce on an invisible floor to a fixed height, the hops slowing over the video.

    There is no way to tell apart, so the direction is ``"none"``; the unused sign draw keeps the rendered
    videos of dataset format v1 the same.
    """
    _sign(rng)
    period = rng.uniform(16, 24)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width)
        t = _ramp(frames, 0, frames / period) + rng.uniform(0, 1)
        hop = 4 * (t % 1) * (1 - t % 1)
        cy = 0.8 * height - 0.55 * height * hop
        tracks.append(Track(cy, base.cx, base.angle, base.scale))
    return Motion(tracks, _no_camera(frames), "none")


def pan(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """The camera pans left or right over a still scene (everything moves together)."""
    sign = _sign(rng)
    travel = rng.uniform(0.5, 0.7) * width
    camera = np.stack([np.zeros(frames), _ramp(frames, 0, sign * travel)], axis=1)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width, margin=0.15)
        cx0 = base.cx[0] + sign * rng.uniform(0.1, 0.5) * width
        tracks.append(Track(base.cy, np.full(frames, cx0) - camera[:, 1], base.angle, base.scale))
    return Motion(tracks, camera, "right" if sign > 0 else "left")


def spin_in_place(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects spin fast (several turns) while drifting slowly, speeding up or slowing down."""
    sign = _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width)
        angle = _ramp(frames, base.angle[0], base.angle[0] + sign * rng.uniform(2.0, 3.0) * 2 * np.pi)
        tracks.append(Track(base.cy, base.cx, angle, base.scale))
    return Motion(tracks, _no_camera(frames), "clockwise" if sign > 0 else "anticlockwise")


def diagonal(rng: np.random.Generator, frames: int, height: int, width: int, count: int) -> Motion:
    """Objects glide along a diagonal, in one of four directions."""
    sy, sx = _sign(rng), _sign(rng)
    tracks = []
    for _ in range(count):
        base = _still(rng, frames, height, width, margin=0.4)
        travel = rng.uniform(0.4, 0.55)
        cy = _ramp(frames, height / 2 - sy * travel * height / 2, height / 2 + sy * travel * height / 2)
        cx = _ramp(frames, width / 2 - sx * travel * width / 2, width / 2 + sx * travel * width / 2)
        tracks.append(Track(cy + rng.uniform(-3, 3), cx + rng.uniform(-3, 3), base.angle, base.scale))
    words = {(1, 1): "down-right", (1, -1): "down-left", (-1, 1): "up-right", (-1, -1): "up-left"}
    return Motion(tracks, _no_camera(frames), words[(sy, sx)])


MOTIONS: dict[str, MotionFn] = {
    "MoveHorizontal": move_horizontal,
    "MoveVertical": move_vertical,
    "MoveDiagonal": diagonal,
    "Rotate": rotate,
    "Spin": spin_in_place,
    "Zoom": zoom,
    "Orbit": orbit,
    "Oscillate": oscillate,
    "Bounce": bounce,
    "CameraPan": pan,
}
"""Motion classes by name, in class-id order."""
