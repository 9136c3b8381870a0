"""A dataset split (its videos, classes and where they live) and the helpers every layout reads one with.

The layout readers (:mod:`clipcop.videos.ucf101`, :mod:`clipcop.videos.hmdb51`, :mod:`clipcop.videos.folder`)
build on this module; :mod:`clipcop.videos.layouts` picks one of them for a folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from clipcop.errors import DataError, UsageError

VIDEO_EXTENSIONS = frozenset(
    {".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp", ".ogv"}
)
Subset = Literal["train", "test", "all"]


@dataclass(frozen=True)
class VideoItem:
    """One video of a dataset: its path relative to the video root and its 0-based class (-1: none)."""

    path: str
    label: int = -1


@dataclass(frozen=True, kw_only=True)
class DatasetSplit:
    """The videos of one split of a dataset, with class names and where the videos live.

    ``missing`` lists files named by split files but absent on disk (reported, never fatal); ``notes`` say
    how the split was read, ``warnings`` what a user should know before training on it (both shown).
    """

    name: str
    layout: str
    data_root: Path
    video_root: Path
    split: int
    classes: tuple[str, ...]
    train: tuple[VideoItem, ...]
    test: tuple[VideoItem, ...]
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    def subset(self, which: Subset) -> tuple[VideoItem, ...]:
        """The items of ``train``, ``test`` or ``all`` (train then test, each video once)."""
        if which == "train":
            return self.train
        if which == "test":
            return self.test
        if which == "all":
            return self.train + self.test
        raise UsageError(f"unknown subset {which!r}; choose train, test or all")

    @property
    def labelled(self) -> bool:
        """True when every video has a class (False for folders of unlabelled videos)."""
        return bool(self.classes) and all(item.label >= 0 for item in self.train + self.test)

    def path_of(self, item: VideoItem) -> Path:
        """The absolute path of ``item``."""
        return self.video_root / item.path


def parse_subset(text: str) -> Subset:
    """``train``, ``test`` or ``all`` as a :data:`Subset` (one clear error otherwise)."""
    if text not in ("train", "test", "all"):
        raise UsageError(f"unknown subset {text!r}; choose train, test or all")
    return cast(Subset, text)


def is_video_file(path: Path) -> bool:
    """True for a regular file with a common video extension (hidden files excluded)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def list_videos(root: Path, *, broken_links: bool = False) -> list[str]:
    """All video files below ``root`` as sorted POSIX paths relative to it, skipping hidden folders.

    Folders that are symbolic links are followed (a class folder linked in from elsewhere is a class;
    a link back up the tree is visited once). With ``broken_links`` a broken link with a video's name is
    listed too, so that probing reports it as unreadable instead of it vanishing unnoticed.
    """
    found = []
    seen: set[Path] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        here = Path(folder)
        real = here.resolve()
        if real in seen:  # a link loop, or two links to one folder
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = here / name
            if is_video_file(path) and (path.is_file() or (broken_links and path.is_symlink())):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` alone, for deterministic splits on every machine."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a text split file, tolerant of CRLF endings, a BOM and trailing blanks."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as err:
        raise DataError(f"cannot read split file {path}: {err.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]
