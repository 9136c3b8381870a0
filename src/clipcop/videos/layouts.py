"""Dataset layouts: which videos a split holds and their classes, read from the files users have.

Three layouts are understood (design.md, "Data formats users have"): UCF101 (``ucfTrainTestlist``),
HMDB51 (``testTrainMulti_7030_splits``) and ``folder`` (class sub-folders, optional split files, else a
deterministic split), plus plain folders of unlabelled videos. The layout is detected from the folder;
``dataset=`` overrides the detection. The split types live in :mod:`clipcop.videos.split` (shared with
the layout readers) and are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from clipcop.errors import DataError, UsageError
from clipcop.videos import folder, hmdb51, ucf101
from clipcop.videos.split import (
    VIDEO_EXTENSIONS,
    DatasetSplit,
    Subset,
    VideoItem,
    is_video_file,
    list_videos,
    parse_subset,
    read_lines,
    stable_fraction,
)

__all__ = [
    "LAYOUTS",
    "VIDEO_EXTENSIONS",
    "DatasetSplit",
    "Subset",
    "VideoItem",
    "detect_layout",
    "is_video_file",
    "list_videos",
    "load_dataset",
    "parse_subset",
    "read_lines",
    "stable_fraction",
]

LAYOUTS = ("ucf101", "hmdb51", "folder")


def detect_layout(data: Path) -> str:
    """``ucf101``, ``hmdb51`` or ``folder``, judged from the split folders found at ``data``."""
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
