"""Where clipcop keeps caches: ``$CLIPCOP_CACHE`` or the platform cache folder."""

from __future__ import annotations

import os
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
