"""Rendering synthetic frames with numpy: dark low-contrast textured backgrounds, bright shapes.

Appearance (shape, hue, size, texture, noise) is random per video; only the motion (see
:mod:`clipcop.synth.motions`) depends on the class. Every object is brighter than its background, the
contrast polarity that made clip order learnable by a small 3D CNN in our measurements.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import cast

import numpy as np

SHAPES = ("disk", "square", "triangle", "bar", "cross", "ellipse")


@dataclass(frozen=True)
class Appearance:
    """How one object looks: shape, RGB colour in [0, 1], radius in pixels, aspect ratio."""

    shape: str
    color: tuple[float, float, float]
    radius: float
    aspect: float


RADIUS = [0.15, 0.25]
"""Object radius range as a fraction of the frame height."""


def random_appearance(rng: np.random.Generator, height: int, *, shapes: tuple[str, ...] = SHAPES) -> Appearance:
    """A bright object of random hue, shape and size."""
    hue = float(rng.random())
    sat = float(rng.uniform(0.3, 0.8))
    val = float(rng.uniform(0.85, 1.0))
    color = colorsys.hsv_to_rgb(hue, sat, val)
    return Appearance(
        shape=str(rng.choice(shapes)),
        color=(float(color[0]), float(color[1]), float(color[2])),
        radius=float(rng.uniform(RADIUS[0], RADIUS[1]) * height),
        aspect=float(rng.uniform(0.35, 0.6)),
    )


def random_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A dark, low-contrast, smooth random texture ``(H, W, 3)`` in [0, 1]."""
    coarse = rng.random((4 + int(rng.integers(0, 5)), 5 + int(rng.integers(0, 6)), 1))
    ys = np.linspace(0, coarse.shape[0] - 1, height)
    xs = np.linspace(0, coarse.shape[1] - 1, width)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, coarse.shape[0] - 1), np.minimum(x0 + 1, coarse.shape[1] - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    smooth = (
        coarse[y0][:, x0] * (1 - fy) * (1 - fx)
        + coarse[y1][:, x0] * fy * (1 - fx)
        + coarse[y0][:, x1] * (1 - fy) * fx
        + coarse[y1][:, x1] * fy * fx
    )
    tint = np.array(colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(0.2, 0.6)), 1.0))
    base = float(rng.uniform(0.08, 0.22))
    contrast = float(rng.uniform(0.05, 0.15))
    grain = rng.normal(0, 0.02, (height, width, 1))
    return cast(np.ndarray, np.clip((base + contrast * smooth + grain) * tint, 0, 1))


def shape_mask(
    appearance: Appearance,
    cy: float,
    cx: float,
    angle: float,
    scale: float,
    grid: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Anti-aliased coverage ``(H, W)`` in [0, 1] of one object at centre ``(cy, cx)``.

    ``angle`` (radians) rotates the shape, ``scale`` multiplies its radius.
    """
    yy, xx = grid
    dy, dx = yy - cy, xx - cx
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    r = appearance.radius * scale
    a = appearance.aspect
    if appearance.shape == "disk":
        dist = np.hypot(u, v) - r
    elif appearance.shape == "square":
        dist = np.maximum(np.abs(u), np.abs(v)) - r * 0.85
    elif appearance.shape == "bar":
        dist = np.maximum(np.abs(u) - r * 1.2, np.abs(v) - r * a * 0.6)
    elif appearance.shape == "ellipse":
        dist = (np.hypot(u / 1.25, v / (a + 0.1)) - r) * 0.8
    elif appearance.shape == "cross":
        arm = r * 0.3
        dist = np.minimum(np.maximum(np.abs(u) - r, np.abs(v) - arm), np.maximum(np.abs(u) - arm, np.abs(v) - r * 0.6))
    else:  # triangle pointing along +u
        d1 = -u - r * 0.5
        d2 = (u * 0.5 + np.abs(v) * 0.866) - r * 0.5
        dist = np.maximum(d1, d2) * 1.2
    return cast(np.ndarray, np.clip(0.5 - dist, 0.0, 1.0))


def composite(background: np.ndarray, layers: list[tuple[np.ndarray, tuple[float, float, float]]]) -> np.ndarray:
    """Paint object coverage masks over a background (later layers on top)."""
    frame: np.ndarray = background.copy()
    for mask, color in layers:
        alpha = mask[..., None]
        frame = frame * (1 - alpha) + alpha * np.asarray(color)
    return frame


def to_uint8(frame: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Add sensor noise and quantise to uint8."""
    if noise > 0:
        frame = frame + rng.normal(0, noise, frame.shape)
    return cast(np.ndarray, (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8))
