"""Frozen configurations with the paper's defaults (Sec. IV-A), shared by the library and the CLI.

Every config is a keyword-only frozen dataclass; ``asdict`` of it travels in checkpoint metadata so a
checkpoint says exactly how it was made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clipcop.errors import UsageError

MIN_TUPLE_LEN, MAX_TUPLE_LEN = 2, 5


@dataclass(frozen=True, kw_only=True)
class TupleSpec:
    """A VCOP tuple: ``tuple_len`` clips of ``clip_len`` frames, ``interval`` frames apart (Sec. III-A).

    The paper's settings are written ``cl-it-tl``, e.g. 16-8-3.
    """

    clip_len: int = 16
    interval: int = 8
    tuple_len: int = 3

    def __post_init__(self) -> None:
        if not MIN_TUPLE_LEN <= self.tuple_len <= MAX_TUPLE_LEN:
            raise UsageError(
                f"tl={self.tuple_len} is outside {MIN_TUPLE_LEN}..{MAX_TUPLE_LEN} "
                "(the paper limits tuples to 2-5 clips: 5! = 120 orders)"
            )
        if self.clip_len < 1:
            raise UsageError(f"cl={self.clip_len} must be at least 1 frame")
        if self.interval < 0:
            raise UsageError(f"it={self.interval} must be 0 or more frames")

    @property
    def span(self) -> int:
        """Frames covered by one tuple: ``cl*tl + it*(tl-1)``; shorter videos are not eligible."""
        return self.clip_len * self.tuple_len + self.interval * (self.tuple_len - 1)

    @property
    def num_orders(self) -> int:
        """The number of classes of the order task, ``tl!``."""
        return math.factorial(self.tuple_len)

    def label(self) -> str:
        """The paper's ``cl-it-tl`` name, e.g. ``16-8-3``."""
        return f"{self.clip_len}-{self.interval}-{self.tuple_len}"


@dataclass(frozen=True, kw_only=True)
class ClipGeometry:
    """How frames become network input: resize at decode (``HxW``), then a square crop (Sec. IV-A).

    Training crops at random (one crop per clip, the same for all of its frames); evaluation crops
    the centre.
    """

    resize: tuple[int, int] = (128, 171)
    crop: int = 112

    def __post_init__(self) -> None:
        height, width = self.resize
        if min(height, width) < 1 or self.crop < 1:
            raise UsageError(f"resize {height}x{width} and crop {self.crop} must be positive")
        if self.crop > min(height, width):
            raise UsageError(f"crop {self.crop} is larger than the resized frame {height}x{width}")


def parse_size(text: str) -> tuple[int, int]:
    """``"128x171"`` -> ``(128, 171)`` (height x width)."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"size {text!r} must look like HEIGHTxWIDTH, e.g. 128x171")
    return int(parts[0]), int(parts[1])


def check_seed(seed: int) -> None:
    """Refuse a ``--seed`` that torch and numpy cannot take (they need 0 <= seed < 2**64)."""
    if not 0 <= seed < 2**64:
        raise UsageError(f"--seed must be 0 or more and below 2**64, not {seed}")
