"""Shared by the hostile-input tests: a file tree's contents, to assert that a refused command changed none
of its inputs."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Every regular file under ``root`` (links not followed) with a hash of its bytes; clipcop's own
    probe manifest (``.clipcop/``) is not an input."""
    return {
        str(path.relative_to(root)): hashlib.sha1(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink() and ".clipcop" not in path.relative_to(root).parts
    }


def sleep_long(seconds: float) -> float:
    """A helper's task that outlasts the test: only its parent's death can end it early."""
    time.sleep(seconds)
    return seconds


def watchdog_only(parent: int) -> None:
    """A pool initializer: :func:`clipcop.processes.children.die_with_parent` without Linux's death signal,
    so that only the portable watchdog can end the helper."""
    from clipcop.processes import children

    children._death_signal = lambda: False  # type: ignore[assignment]
    children.die_with_parent(parent)
