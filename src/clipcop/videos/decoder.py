"""One small decoding interface over interchangeable backends (decord first, PyAV as the fallback).

``decord`` is whichever library imports as ``decord``: decord2, which clipcop depends on where it
publishes wheels, or the older decord 0.6. On VCOP tuples from UCF101's MPEG-4 AVI files it reads about
1.3x the frames per core PyAV does (on long-GOP H.264 the two are even: docs/benchmarks.md, "Decoders"),
so decoding with PyAV where decord2 could be installed says so once per process.

A backend answers two questions: what a file is (:func:`probe_video`) and "give me these frame indices,
resized to HxW, as uint8 RGB" (:func:`read_frames`). Readers are opened per call and never shared, so
the functions are safe in ``DataLoader`` worker processes.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from clipcop.errors import UsageError, VideoDecodeError

Size = tuple[int, int]
"""A frame size as ``(height, width)``."""
Indices = Sequence[int] | np.ndarray
"""Frame indices: a list or a 1-D integer array."""


@dataclass(frozen=True, kw_only=True)
class VideoInfo:
    """What a decoded video holds: frame count (by decode, not only the header), fps and frame size."""

    num_frames: int
    fps: float
    height: int
    width: int


class VideoBackend(Protocol):
    """The two operations every decoder backend provides."""

    name: str

    def probe(self, path: Path) -> VideoInfo: ...

    def read(self, path: Path, indices: Sequence[int], size: Size | None) -> np.ndarray: ...


def _backend_modules() -> dict[str, str]:
    return {"decord": "clipcop.videos.decord_backend", "pyav": "clipcop.videos.pyav_backend"}


def available_backends() -> list[str]:
    """Backends whose library imports here, in order of preference (decord, then PyAV)."""
    names = []
    if importlib.util.find_spec("decord") is not None:
        names.append("decord")
    if importlib.util.find_spec("av") is not None:
        names.append("pyav")
    return names


def get_backend(name: str) -> VideoBackend:
    """The backend called ``name`` (``decord`` or ``pyav``)."""
    modules = _backend_modules()
    if name not in modules:
        raise UsageError(f"unknown video backend {name!r}; choose one of: auto, {', '.join(modules)}")
    if name not in available_backends():
        package = "decord2" if name == "decord" else "av"
        raise UsageError(f"video backend {name!r} is not installed (pip install {package})")
    module = importlib.import_module(modules[name])
    backend: VideoBackend = module.BACKEND
    return backend


DECORD2_PLATFORMS = frozenset({("Linux", "x86_64"), ("Linux", "aarch64"), ("Darwin", "arm64"), ("Windows", "AMD64")})
"""``(platform.system(), platform.machine())`` pairs decord2 publishes wheels for (CPython 3.10-3.14); the
environment marker on clipcop's decord2 dependency in pyproject.toml names the same ones."""

SLOW_DECODER_HINT = "pip install decord2"
SLOW_DECODER_REPORTED = "CLIPCOP_SLOW_DECODER_REPORTED"
"""Environment variable set once the warning is out: processes started afterwards (spawned probe, cache
and loader workers) inherit it and stay quiet."""
_slow_decoder_reported = False


def decord_expected(
    system: str | None = None, machine: str | None = None, python: tuple[int, int] | None = None
) -> bool:
    """Whether clipcop's dependencies install decord2 on this platform (or the one named)."""
    where = (system or platform.system(), machine or platform.machine())
    return where in DECORD2_PLATFORMS and (python or sys.version_info[:2]) < (3, 15)


def _report_slow_decoder() -> None:
    """Warn once per process, and not again in the processes it starts afterwards, that PyAV decodes here
    although decord2 could (it is not installed)."""
    global _slow_decoder_reported
    if _slow_decoder_reported or os.environ.get(SLOW_DECODER_REPORTED) or not decord_expected():
        return
    _slow_decoder_reported = True
    os.environ[SLOW_DECODER_REPORTED] = "1"
    warnings.warn(
        "decoding videos with PyAV because decord is not installed; decord2 reads tuples from MPEG-4 AVI "
        f"(UCF101's codec) about 1.3x faster per core and has a wheel for this platform: {SLOW_DECODER_HINT}",
        stacklevel=3,
    )


def _backends_for(backend: str) -> list[VideoBackend]:
    if backend == "auto":
        names = available_backends()
        if not names:
            raise UsageError(f"no video decoder is installed: pip install av ({SLOW_DECODER_HINT} where it has wheels)")
        if "decord" not in names:
            _report_slow_decoder()
        return [get_backend(n) for n in names]
    return [get_backend(backend)]


def probe_video(path: str | Path, *, backend: str = "auto") -> VideoInfo:
    """Frame count, fps and size of ``path``; the last frame is decoded to confirm the count.

    Raises :class:`VideoDecodeError` naming the file when no backend can read it.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)")
    reasons = []
    for impl in _backends_for(backend):
        try:
            return impl.probe(path)
        except VideoDecodeError as err:
            reasons.append(f"{impl.name}: {err.reason}")
    raise VideoDecodeError(path, "; ".join(reasons))


def probe_file(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """:func:`probe_video` as ``(info, error)``: any decoder failure is the file's problem, reported not
    raised (the probe :func:`clipcop.processes.isolated.probe_isolated` runs in its workers)."""
    try:
        return probe_video(path, backend=backend), None
    except VideoDecodeError as err:
        return None, err.reason
    except Exception as err:
        return None, f"{type(err).__name__}: {err}"[:200]


def read_frames(
    path: str | Path,
    indices: Indices,
    *,
    size: Size | None = None,
    backend: str = "auto",
) -> np.ndarray:
    """Frames ``indices`` of ``path`` as a ``(len(indices), H, W, 3)`` uint8 RGB array.

    Indices may repeat and come in any order; each distinct frame is decoded once, in sorted order.
    ``size=(H, W)`` resizes at decode time. Falls back from decord to PyAV when decord fails.

    >>> read_frames("v_Walk_g01_c01.avi", [0, 8, 16], size=(128, 171)).shape  # doctest: +SKIP
    (3, 128, 171, 3)
    """
    path = Path(path)
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.ndim != 1 or wanted.size == 0:
        raise UsageError("read_frames needs a non-empty 1-D list of frame indices")
    if wanted.min() < 0:
        raise UsageError(f"negative frame index {int(wanted.min())} for {path}")
    unique, inverse = np.unique(wanted, return_inverse=True)
    reasons = []
    impls = _backends_for(backend)
    if backend == "auto":
        impls = [impl for impl in impls if getattr(impl, "supports", lambda s: True)(size)] or impls
    for impl in impls:
        try:
            frames = impl.read(path, unique.tolist(), size)
        except VideoDecodeError as err:
            reasons.append(f"{impl.name}: {err.reason}")
            continue
        return frames[inverse]
    raise VideoDecodeError(path, "; ".join(reasons))
