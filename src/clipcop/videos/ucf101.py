"""The UCF101 layout: ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` with ``ucfTrainTestlist/``.

Split files have CRLF endings; ``classInd.txt`` is 1-based; test lists carry no labels; the folder
``HandstandPushups`` holds files named ``v_HandStandPushups_*``, so the class is taken from the folder
part of each listed path, never from the file name.
"""

from __future__ import annotations

from pathlib import Path

from clipcop.errors import DataError, UsageError
from clipcop.videos.split import DatasetSplit, VideoItem, check_contained, check_lists, read_lines

LISTS = "ucfTrainTestlist"
VIDEOS = "UCF-101"


def find_lists(data: Path) -> Path | None:
    """The ``ucfTrainTestlist`` folder for ``data`` (inside it or beside it), if any."""
    for candidate in (data / LISTS, data.parent / LISTS):
        if (candidate / "classInd.txt").is_file():
            return candidate
    return None


def _video_root(data: Path) -> Path:
    return data / VIDEOS if (data / VIDEOS).is_dir() else data


def read_class_index(path: Path) -> tuple[str, ...]:
    """Class names in id order from ``classInd.txt`` (``1 ApplyEyeMakeup`` per line, 1-based)."""
    names: dict[int, str] = {}
    for number, line in enumerate(read_lines(path), start=1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"{path.name} line {number}: expected '<id> <ClassName>', got {line!r}")
        names[int(parts[0])] = parts[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise DataError(f"{path.name}: class ids must run 1..{len(names)} without gaps")
    return tuple(names[i] for i in range(1, len(names) + 1))


def _parse_list(path: Path, classes: tuple[str, ...], *, labelled: bool) -> list[VideoItem]:
    lookup = {name: i for i, name in enumerate(classes)}
    folded = {name.lower(): i for i, name in enumerate(classes)}
    items = []
    for number, line in enumerate(read_lines(path), start=1):
        parts = line.split()
        if len(parts) > 2 or (not labelled and len(parts) == 2 and not parts[1].isdigit()):
            raise DataError(
                f"{path.name} line {number}: {line!r} has {len(parts)} fields where UCF101 has "
                f"'<Class>/<video>{' <label>' if labelled else ''}': a video name with spaces breaks the label "
                "column; rename the video without spaces (or use --dataset folder, whose split lines may hold them)"
            )
        rel = check_contained(parts[0], f"{path.name} line {number}")
        folder_name = rel.split("/")[0] if "/" in rel else None
        if folder_name is None:
            raise DataError(f"{path.name} line {number}: expected '<Class>/<video>', got {rel!r}")
        label = lookup.get(folder_name, folded.get(folder_name.lower()))
        if label is None:
            raise DataError(f"{path.name} line {number}: class {folder_name!r} is not in classInd.txt")
        if labelled and len(parts) > 1:
            given = parts[1]
            if not given.isdigit() or int(given) != label + 1:
                raise DataError(
                    f"{path.name} line {number}: label {given} for {rel} but classInd.txt gives "
                    f"{folder_name} the id {label + 1}"
                )
        items.append(VideoItem(rel, label))
    return items


def load(data: Path, split: int) -> DatasetSplit:
    """Split ``split`` (1-3) of the UCF101-layout dataset at ``data``."""
    if split not in (1, 2, 3):
        raise UsageError(f"UCF101 has splits 1, 2 and 3, not {split}")
    lists = find_lists(data)
    if lists is None:
        raise DataError(f"no {LISTS}/classInd.txt found in or beside {data}")
    classes = read_class_index(lists / "classInd.txt")
    video_root = _video_root(data)
    parsed = {}
    for kind in ("train", "test"):
        list_file = lists / f"{kind}list0{split}.txt"
        if not list_file.is_file():
            raise DataError(f"split file {list_file} is missing")
        parsed[kind] = _parse_list(list_file, classes, labelled=kind == "train")
    checked = check_lists(
        video_root,
        parsed["train"],
        parsed["test"],
        train_name=f"trainlist0{split}.txt",
        test_name=f"testlist0{split}.txt",
    )
    return DatasetSplit(
        name=data.name,
        layout="ucf101",
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
