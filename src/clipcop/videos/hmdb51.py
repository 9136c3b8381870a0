"""The HMDB51 layout: ``<class>/<video>.avi`` with ``testTrainMulti_7030_splits/``.

Each ``<class>_test_split<k>.txt`` line is ``<video>.avi <code>``: 1 train, 2 test, 0 unused. Class ids
follow the sorted class names. Video names contain ``(``, ``)``, ``!``, ``&`` and spaces are not used, so
the code is the last token and the name everything before it.
"""

from __future__ import annotations

import re
from pathlib import Path

from clipcop.errors import DataError, UsageError
from clipcop.videos.split import DatasetSplit, VideoItem, check_contained, check_lists, read_lines

LISTS = "testTrainMulti_7030_splits"
_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<k>[123])\.txt$")


def find_lists(data: Path) -> Path | None:
    """The ``testTrainMulti_7030_splits`` folder for ``data`` (inside it or beside it), if any."""
    for candidate in (data / LISTS, data.parent / LISTS):
        if candidate.is_dir() and any(_SPLIT_FILE.match(p.name) for p in candidate.iterdir()):
            return candidate
    return None


def _video_root(data: Path, classes: tuple[str, ...]) -> Path:
    candidates = [data, *sorted(p for p in data.iterdir() if p.is_dir() and p.name != LISTS)]
    for root in candidates:
        if all((root / c).is_dir() for c in classes[: min(3, len(classes))]):
            return root
    return data


def _split_files(lists: Path, split: int) -> dict[str, Path]:
    """Each class's split file for split ``split`` in ``lists``, by class name (at least one)."""
    files = {}
    for path in lists.iterdir():
        match = _SPLIT_FILE.match(path.name)
        if match and int(match["k"]) == split:
            files[match["cls"]] = path
    if not files:
        raise DataError(f"{lists} has no *_test_split{split}.txt files")
    return files


def load(data: Path, split: int) -> DatasetSplit:
    """Split ``split`` (1-3) of the HMDB51-layout dataset at ``data``."""
    if split not in (1, 2, 3):
        raise UsageError(f"HMDB51 has splits 1, 2 and 3, not {split}")
    lists = find_lists(data)
    if lists is None:
        raise DataError(f"no {LISTS}/ folder found in or beside {data}")
    files = _split_files(lists, split)
    classes = tuple(sorted(files))
    video_root = _video_root(data, classes)
    train: list[VideoItem] = []
    test: list[VideoItem] = []
    for label, name in enumerate(classes):
        for number, line in enumerate(read_lines(files[name]), start=1):
            video, _, code = line.rpartition(" ")
            video = video.strip()
            if not video or code not in ("0", "1", "2"):
                raise DataError(f"{files[name].name} line {number}: expected '<video>.avi <0|1|2>', got {line!r}")
            if code == "0":
                continue
            rel = f"{name}/{check_contained(video, f'{files[name].name} line {number}')}"
            (train if code == "1" else test).append(VideoItem(rel, label))
    checked = check_lists(
        video_root, train, test, train_name=f"split {split}'s train lines", test_name=f"split {split}'s test lines"
    )
    return DatasetSplit(
        name=data.name,
        layout="hmdb51",
        data_root=data,
        video_root=video_root,
        split=split,
        classes=classes,
        train=checked.train,
        test=checked.test,
        missing=checked.missing,
        unusable=tuple(checked.unusable.items()),
        warnings=checked.warnings,
    )
