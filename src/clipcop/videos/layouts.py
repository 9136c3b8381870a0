"""Dataset layouts: which videos a split holds and their classes, read from the files users have.

Three layouts are understood (design.md, "Data formats users have"): UCF101 (``ucfTrainTestlist``),
HMDB51 (``testTrainMulti_7030_splits``) and ``folder`` (class sub-folders, optional split files, else a
deterministic split), plus plain folders of unlabelled videos. The layout is detected from the folder;
``dataset=`` overrides the detection.
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
LAYOUTS = ("ucf101", "hmdb51", "folder")
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


def detect_layout(data: Path) -> str:
    """``ucf101``, ``hmdb51`` or ``folder``, judged from the split folders found at ``data``."""
    from clipcop.videos import hmdb51, ucf101

    if ucf101.find_lists(data) is not None:
        return "ucf101"
    for lists in (data / ucf101.LISTS, data.parent / ucf101.LISTS):
        if lists.is_dir():  # UCF101's split folder without its class index: never guess another layout
            raise DataError(
                f"{lists} has no classInd.txt, which UCF101's split files need ('<id> <ClassName>' per line); "
                f"restore it, or pass --dataset folder --data {lists.parent / 'UCF-101'} to use the class folders "
                "with a hash split instead"
            )
    if hmdb51.find_lists(data) is not None:
        return "hmdb51"
    return "folder"


def load_dataset(data: str | Path, *, split: int = 1, dataset: str | None = None) -> DatasetSplit:
    """Read split ``split`` of the dataset at ``data`` (layout detected unless ``dataset`` is given).

    >>> ds = load_dataset("/data/UCF101", split=1)  # doctest: +SKIP
    >>> len(ds.classes), len(ds.train), len(ds.test)  # doctest: +SKIP
    (101, 9537, 3783)
    """
    from clipcop.videos import folder, hmdb51, ucf101

    root = Path(data).expanduser()
    if not root.exists():
        raise DataError(f"data path {root} does not exist")
    if not root.is_dir():
        raise DataError(f"data path {root} is not a folder")
    layout = dataset or detect_layout(root)
    if layout not in LAYOUTS:
        raise UsageError(f"unknown dataset layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if layout == "ucf101":
        return ucf101.load(root, split)
    if layout == "hmdb51":
        return hmdb51.load(root, split)
    return folder.load(root, split)
