"""The train / val / test questions of a QA folder, with a held-out validation set when ``val`` is absent.

ActivityNet-QA ships all three splits. Other folders may lack a validation split: then 10% of the
training videos (chosen by a hash of the video name, the same on every machine) and all their questions
are held out, so that no video is in both. A missing or unreadable test split is reported, not fatal:
training still runs and reports validation accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError
from clipcop.videos.layouts import stable_fraction
from clipcop.vqa.activitynet import Issues, QASplit, read_split

HOLD_OUT = 0.1


@dataclass(frozen=True)
class Splits:
    """The questions used for training, model selection and the final test (None: not available)."""

    train: QASplit
    val: QASplit
    test: QASplit | None

    def all(self) -> list[QASplit]:
        """train, val and (when present) test."""
        return [self.train, self.val, *([self.test] if self.test else [])]


def hold_out(train: QASplit, fraction: float = HOLD_OUT) -> tuple[QASplit, QASplit]:
    """Split ``train`` by video into (train, val); every question of a video goes to the same side."""
    held = {item.video_name for item in train.items if stable_fraction(f"val:{item.video_name}") < fraction}
    if not held or len(held) == len({item.video_name for item in train.items}):
        raise DataError("too few training videos to hold out a validation set; add a val split")
    kept = tuple(item for item in train.items if item.video_name not in held)
    return QASplit("train", kept, True), QASplit("val", tuple(i for i in train.items if i.video_name in held), True)


def load_splits(qa: str, val: str, test: str | None, issues: Issues, reporter: Reporter) -> Splits:
    """Read ``train``, ``val`` (or hold it out of train) and ``test`` (optional) from the folder ``qa``."""
    train = read_split(qa, "train", issues)
    if (Path(qa).expanduser() / f"{val}_q.json").is_file():
        val_split = read_split(qa, val, issues)
    else:
        train, val_split = hold_out(train)
        reporter.note(f"no {val}_q.json in {qa}: holding out {len(val_split)} questions of 10% of the training videos")
    test_split = None
    if test is not None:
        try:
            test_split = read_split(qa, test, issues)
        except DataError as err:
            reporter.warn(f"test split not scored: {err}")
    return Splits(train, val_split, test_split)


__all__ = ["HOLD_OUT", "Splits", "hold_out", "load_splits"]
