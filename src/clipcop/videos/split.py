"""A dataset split (its videos, classes and where they live) and the helpers every layout reads one with.

The layout readers (:mod:`clipcop.videos.ucf101`, :mod:`clipcop.videos.hmdb51`, :mod:`clipcop.videos.folder`)
build on this module; :mod:`clipcop.videos.layouts` picks one of them for a folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import Counter
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

    ``missing`` lists files named by split files but not usable on disk (reported, never fatal), and
    ``unusable`` pairs each of them with why (``missing``, ``folder``, ``FIFO``, ``broken link``...: see
    :func:`entry_kind`); ``notes`` say how the split was read, ``warnings`` what a user should know before
    training on it (both shown).
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
    unusable: tuple[tuple[str, str], ...] = ()
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


def list_videos(root: Path, *, broken_links: bool = False, odd: dict[str, str] | None = None) -> list[str]:
    """All video files below ``root`` as sorted POSIX paths relative to it, skipping hidden folders.

    Folders that are symbolic links are followed (a class folder linked in from elsewhere is a class;
    a link back up the tree is visited once). With ``broken_links`` a broken link with a video's name is
    listed too, so that probing reports it as unreadable instead of it vanishing unnoticed. ``odd``, when
    given, receives the other entries with a video's name that are not video files (FIFOs, sockets, link
    loops, folders), each with its kind (:func:`entry_kind`), so that they can be reported.
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
            elif odd is not None and is_video_file(path):
                odd[path.relative_to(root).as_posix()] = entry_kind(path) or "not a regular file"
        if odd is not None:
            odd.update({(here / d).relative_to(root).as_posix(): "folder" for d in dirs if is_video_file(here / d)})
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


def entry_kind(path: Path) -> str | None:
    """None for a video file that can be opened (a regular file, or a link to one); else what ``path`` is,
    in a word or two: ``missing``, ``broken link``, ``link loop``, ``folder``, ``FIFO``, ``socket``,
    ``device``. A FIFO is never opened: reading one would wait forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "broken link" if path.is_symlink() else "missing"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "link loop"
        return "missing" if err.errno == errno.ENOTDIR else f"unreadable ({err.strerror})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    return "socket" if stat.S_ISSOCK(mode) else "device"


def describe_unusable(unusable: dict[str, str], *, shown: int = 3) -> str:
    """``5 (2 missing, 2 folder, 1 FIFO), e.g. A (missing), B (folder), C (FIFO)``: counts per kind, then
    the first ``shown`` paths with theirs, one of each kind first."""
    counts = Counter(unusable.values())
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
    firsts: dict[str, str] = {}  # the first path of each kind, kinds in the order of their counts
    for rel, kind in unusable.items():
        firsts.setdefault(kind, rel)
    ordered = [firsts[kind] for kind, _ in counts.most_common()]
    named = list(dict.fromkeys([*ordered, *unusable]))[:shown]
    examples = ", ".join(f"{rel} ({unusable[rel]})" for rel in named)
    return f"{len(unusable)} ({kinds}), e.g. {examples}"


def check_contained(rel: str, where: str) -> str:
    """``rel`` (a path from a split file, ``where`` naming its file and line) as a clean relative POSIX
    path, refusing an absolute path and any ``..``: ``Class/../../x.avi`` would train ``x.avi`` under
    ``Class``'s label, and enough ``..`` reach files outside the dataset."""
    clean = rel.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise DataError(f"{where}: {rel!r} is an absolute path; split files name videos below the data folder")
    parts = [part for part in clean.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise DataError(
            f"{where}: {rel!r} climbs out of its folder with '..'; split files name videos below the data "
            "folder, and a video's class is its first folder"
        )
    return "/".join(parts)


@dataclass(frozen=True)
class CheckedLists:
    """Train and test items of split files after :func:`check_lists`, and what it warned about."""

    train: tuple[VideoItem, ...]
    test: tuple[VideoItem, ...]
    missing: tuple[str, ...]
    unusable: dict[str, str]
    warnings: tuple[str, ...]


def _dedupe(items: list[VideoItem], name: str, warnings: list[str]) -> list[VideoItem]:
    seen: dict[str, VideoItem] = {}
    repeats: list[str] = []
    for item in items:
        if item.path in seen:
            repeats.append(item.path)
        else:
            seen[item.path] = item
    if repeats:
        warnings.append(f"{len(repeats)} duplicate lines in {name} ignored, e.g. {repeats[0]}")
    return list(seen.values())


def check_lists(
    video_root: Path,
    train: list[VideoItem],
    test: list[VideoItem],
    *,
    train_name: str,
    test_name: str,
    videos: set[str] | None = None,
) -> CheckedLists:
    """The one check of every layout's split files: duplicate lines dropped with a warning and a count; a
    video in both train and test refused (a leak: its test scores would be of a training video); listed
    names that are not usable video files (missing, folders, FIFOs, broken links; files outside
    ``videos``, when given, the layout's video files) set apart by kind."""
    warnings: list[str] = []
    train = _dedupe(train, train_name, warnings)
    test = _dedupe(test, test_name, warnings)
    leaked = sorted({item.path for item in train} & {item.path for item in test})
    if leaked:
        raise DataError(
            f"{len(leaked)} videos are listed in both {train_name} and {test_name}, e.g. {leaked[0]}: "
            "testing on training videos overstates every score; remove them from one list"
        )
    unusable: dict[str, str] = {}
    for item in [*train, *test]:
        kind = entry_kind(video_root / item.path)
        if kind is None and videos is not None and item.path not in videos:
            kind = "not a video file"
        if kind is not None:
            unusable[item.path] = kind
    return CheckedLists(
        train=tuple(it for it in train if it.path not in unusable),
        test=tuple(it for it in test if it.path not in unusable),
        missing=tuple(unusable),
        unusable=unusable,
        warnings=tuple(warnings),
    )
