"""The generic ``folder`` layout: class sub-folders of videos, or a flat folder of unlabelled videos.

Split files are optional: ``splits/trainlist0{k}.txt`` / ``splits/testlist0{k}.txt`` (one relative path
per line; ``train.txt`` / ``test.txt`` for every split). Without them each video goes to test with
probability 0.3 by a hash of its path (about 30% of the videos, not exactly 30% of each class), the same on
every machine and independent of what else is in the folder.
"""

from __future__ import annotations

from pathlib import Path

from clipcop.errors import DataError, UsageError
from clipcop.videos.split import (
    CheckedLists,
    DatasetSplit,
    VideoItem,
    check_contained,
    check_lists,
    describe_unusable,
    list_videos,
    read_lines,
    stable_fraction,
)

TEST_FRACTION = 0.3


def _split_files(data: Path, split: int) -> tuple[Path, Path] | None:
    folder = data / "splits"
    for train, test in ((f"trainlist0{split}.txt", f"testlist0{split}.txt"), ("train.txt", "test.txt")):
        if (folder / train).is_file() and (folder / test).is_file():
            return folder / train, folder / test
    return None


def _split_line(line: str, on_disk: set[str]) -> str:
    """The video a split-file line names: the whole line (names may hold spaces), else the line without a
    trailing class number (UCF101-style ``path label``), else its first field."""
    whole = line.replace("\\", "/")
    head, _, last = whole.rpartition(" ")
    for candidate in (whole, head.rstrip() if last.isdigit() else "", whole.split()[0]):
        if candidate in on_disk:
            return candidate
    return whole


def _classes(data: Path, videos: list[str], warnings: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The videos to use and the class names: class folders, or none (unlabelled), said in ``warnings``.

    Loose videos beside class folders are left out when the class folders hold more videos; otherwise
    every video is used unlabelled. Either way the warnings say what happened.
    """
    nested = [v for v in videos if "/" in v]
    loose = [v for v in videos if "/" not in v]
    holding = {v.split("/")[0] for v in nested}
    empty = sorted(
        d.name
        for d in data.iterdir()
        if d.is_dir() and not d.name.startswith(".") and d.name != "splits" and d.name not in holding
    )
    if empty:
        warnings.append(f"{len(empty)} folders hold no videos and are not classes, e.g. {empty[0]}/")
    if nested and len(loose) < len(nested):
        if loose:
            warnings.append(f"{len(loose)} videos lie beside the class folders and are left out, e.g. {loose[0]}")
        return nested, tuple(sorted({v.split("/")[0] for v in nested}))
    if nested:
        warnings.append(
            f"{len(loose)} videos lie directly in the folder and {len(nested)} in sub-folders: all unlabelled"
        )
    return videos, ()


def _read_split_files(
    data: Path, files: tuple[Path, Path], on_disk: set[str], lookup: dict[str, int] | None
) -> CheckedLists:
    """The train and test videos the split ``files`` name (:func:`check_lists`), labelled by their class
    folder (``lookup``; None: unlabelled). A listed video outside the class folders is an error."""
    chosen = []
    for path in files:
        lines = read_lines(path)
        rels = [check_contained(_split_line(line, on_disk), f"{path.name} line {n}") for n, line in enumerate(lines, 1)]
        unknown = [r for r in rels if r in on_disk and lookup is not None and r.split("/")[0] not in lookup]
        if unknown:
            raise DataError(f"{path.name}: {unknown[0]} is not inside a class folder")
        chosen.append([VideoItem(r, lookup.get(r.split("/")[0], -1) if lookup else -1) for r in rels])
    return check_lists(data, chosen[0], chosen[1], train_name=files[0].name, test_name=files[1].name, videos=on_disk)


def load(data: Path, split: int) -> DatasetSplit:
    """Split ``split`` of a folder of class sub-folders (or of unlabelled videos) at ``data``."""
    if split not in (1, 2, 3):
        raise UsageError(f"--split must be 1, 2 or 3, not {split}")
    odd: dict[str, str] = {}
    listed = list_videos(data, broken_links=True, odd=odd)
    if not listed:
        raise DataError(f"no video files found under {data}")
    notes: list[str] = []
    warnings: list[str] = []
    if odd:
        warnings.append(f"entries named like videos that are not video files, left out: {describe_unusable(odd)}")
    videos, classes = _classes(data, listed, warnings)
    labelled = bool(classes)
    lookup = {name: i for i, name in enumerate(classes)}

    def item(rel: str) -> VideoItem:
        return VideoItem(rel, lookup.get(rel.split("/")[0], -1) if labelled else -1)

    files = _split_files(data, split)
    missing: tuple[str, ...] = ()
    unusable: tuple[tuple[str, str], ...] = ()
    if files is not None:
        checked = _read_split_files(data, files, set(listed), lookup if labelled else None)
        train, test, missing = checked.train, checked.test, checked.missing
        unusable = tuple(checked.unusable.items())
        warnings += checked.warnings
        notes.append(f"split files {files[0].name} / {files[1].name}")
    else:
        train = tuple(item(v) for v in videos if stable_fraction(f"{split}:{v}") >= TEST_FRACTION)
        test = tuple(item(v) for v in videos if stable_fraction(f"{split}:{v}") < TEST_FRACTION)
        notes.append(f"no split files: deterministic {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split by path hash")
    if not labelled:
        notes.append("videos are not in class folders: no labels")
    else:
        for subset, items in (("test", test), ("training", train)):
            absent = sorted(set(classes) - {classes[i.label] for i in items})
            if absent:
                warnings.append(f"{len(absent)} classes have no {subset} video, e.g. {absent[0]}")
    return DatasetSplit(
        name=data.name,
        layout="folder",
        data_root=data,
        video_root=data,
        split=split,
        classes=classes,
        train=train,
        test=test,
        missing=missing,
        unusable=unusable,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )
