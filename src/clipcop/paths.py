"""Where clipcop keeps caches: ``$CLIPCOP_CACHE`` or the platform cache folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def cache_dir() -> Path:
    """The root cache folder (created on demand by callers).

    ``$CLIPCOP_CACHE`` wins; else ``$XDG_CACHE_HOME/clipcop`` or ``~/.cache/clipcop`` on Linux,
    ``~/Library/Caches/clipcop`` on macOS, ``%LOCALAPPDATA%/clipcop`` on Windows.
    """
    env = os.environ.get("CLIPCOP_CACHE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "clipcop"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "clipcop"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "clipcop"


def is_writable_dir(path: Path) -> bool:
    """True when files can be created in ``path`` (an existing folder)."""
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def why_not(path: Path, want: str) -> str:
    """Why ``path`` is not the ``want`` (``"file"`` or ``"folder"``) a message asked for, in a few words."""
    if not path.exists():
        return "does not exist"
    if want == "file":
        return "is a folder, not a file" if path.is_dir() else "is not a regular file"
    return "is a file, not a folder"


def human_size(nbytes: float) -> str:
    """``nbytes`` in the largest binary unit that keeps it at least 1 (``512 B``, ``3.2 KiB``, ``14.0 MiB``,
    ``1.5 GiB``): a small cache's size is never said as ``0.0 GiB``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def free_space(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (or the nearest folder above it that exists); None
    when the system cannot tell."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        return shutil.disk_usage(existing).free
    except OSError:
        return None
