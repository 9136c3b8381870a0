"""Writing the synthetic dataset to disk in the UCF101 layout, and the cached built-in copy.

``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` (MPEG-4 Part 2 in AVI, as UCF101 ships) plus
``ucfTrainTestlist/`` with CRLF split files, so everything that reads UCF101 reads this. Groups play the
role of UCF101's 25 actor groups: split k tests on the k-th block of 28% of the groups, like g01-g07 for
split 1. Each video's content is a function of (seed, class, index) alone. ``facts.json`` records what
every video shows (per object: shape, colour, size, and ``start``/``end`` centre ``[y, x]`` and ``scale``
in the first and last frame), for the synthetic question answering set (:mod:`clipcop.synth.qa`).
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipcop.config import check_seed, helper_processes
from clipcop.engine.atomic import write_text_atomic
from clipcop.errors import UsageError
from clipcop.paths import cache_dir
from clipcop.processes.children import spawned_map
from clipcop.results import SynthRecord
from clipcop.synth.motions import MOTIONS
from clipcop.synth.video import VideoFacts, render_video
from clipcop.videos.writer import write_video

if TYPE_CHECKING:
    from clipcop.synth.qa import SynthQAStats

CLIPS_PER_GROUP = 4
UCF_GROUPS, UCF_TEST_GROUPS = 25, 7
FORMAT = 2
"""Version of the layout (2: small classes use one-video groups so that no split is empty)."""
PARTIAL = ".clipcop-partial"


@dataclass(frozen=True, kw_only=True)
class SynthSpec:
    """What to generate. Defaults are sized for the CPU demo and the tests (a few MB, ~20 s)."""

    classes: int = 10
    videos_per_class: int = 40
    frames: int = 80
    size: tuple[int, int] = (48, 64)
    seed: int = 0
    fps: float = 25.0

    def __post_init__(self) -> None:
        if not 1 <= self.classes <= len(MOTIONS):
            raise UsageError(f"--classes must be 1..{len(MOTIONS)} (one per motion kind), not {self.classes}")
        if self.videos_per_class < 2:
            raise UsageError("--videos-per-class must be at least 2 (one train and one test video)")
        check_seed(self.seed)
        if self.frames < 8:
            raise UsageError(f"--frames must be at least 8, not {self.frames}")
        height, width = self.size
        if height < 16 or width < 16 or height % 2 or width % 2:
            raise UsageError(f"--size {height}x{width}: both sides must be even and at least 16")

    def class_names(self) -> list[str]:
        """Class folder names in class-id order."""
        return list(MOTIONS)[: self.classes]

    def clips_per_group(self) -> int:
        """Videos per group (UCF101's ``gNN``): 4, or 1 when a class has too few videos for two groups of 4,
        so that every split still has training and test videos."""
        return CLIPS_PER_GROUP if self.videos_per_class > CLIPS_PER_GROUP else 1


def colour_name(rgb: tuple[float, float, float]) -> str:
    """A plain colour word for a bright RGB colour (used in questions and answers)."""
    hue, sat, _ = colorsys.rgb_to_hsv(*rgb)
    if sat < 0.25:
        return "white"
    bounds = [
        (0.04, "red"),
        (0.11, "orange"),
        (0.19, "yellow"),
        (0.45, "green"),
        (0.55, "cyan"),
        (0.72, "blue"),
        (0.85, "purple"),
        (0.95, "pink"),
        (1.01, "red"),
    ]
    return next(name for limit, name in bounds if hue < limit)


def video_name(cls: str, index: int, per_group: int = CLIPS_PER_GROUP) -> tuple[int, str]:
    """Group number and UCF101-style file name of video ``index`` of class ``cls``."""
    group = index // per_group + 1
    return group, f"v_{cls}_g{group:02d}_c{index % per_group + 1:02d}.avi"


def test_groups(split: int, groups: int) -> set[int]:
    """Groups tested in ``split`` (1-3): the same 7-of-25 blocks as UCF101, scaled to ``groups``; with fewer
    than 3 groups, one group in turn, so that no split has an empty test or training list."""
    if groups < 3:
        return {(split - 1) % groups + 1}
    lo, hi = UCF_TEST_GROUPS * (split - 1), UCF_TEST_GROUPS * split
    return {g for g in range(1, groups + 1) if lo <= (g - 1) * UCF_GROUPS // groups < hi}


def _render_one(task: tuple[SynthSpec, int, int, str]) -> dict[str, Any]:
    spec, label, index, path = task
    rng = np.random.default_rng([spec.seed, label, index])
    frames = round(spec.frames * rng.uniform(0.85, 1.15))
    cls = spec.class_names()[label]
    video, facts = render_video(cls, rng, frames=frames, height=spec.size[0], width=spec.size[1])
    write_video(path, video, fps=spec.fps)
    return _facts_record(facts, frames)


def _facts_record(facts: VideoFacts, frames: int) -> dict[str, Any]:
    paths = [asdict(p) for p in facts.paths] if facts.paths else [{}] * len(facts.objects)
    return {
        "motion": facts.motion,
        "direction": facts.direction,
        "frames": frames,
        "objects": [
            {**asdict(o), "colour": colour_name(o.color), **path} for o, path in zip(facts.objects, paths, strict=True)
        ],
    }


def _crlf(lines: list[str]) -> str:
    return "".join(line + "\r\n" for line in lines)


def write_synthetic(
    out: str | Path,
    spec: SynthSpec | None = None,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    qa: bool = False,
) -> Path:
    """Generate the synthetic dataset into ``out`` (UCF101 layout) and return ``out``.

    ``out`` must be new or an empty folder. Everything is written into ``out/.clipcop-partial`` and moved
    up at the end, so an interrupted run leaves only that folder (cleared by the next run) and a dataset
    never mixes with anything else. ``qa`` writes the questions of :mod:`clipcop.synth.qa` in the same step.
    ``workers`` processes render the videos (every core when None; 0 or 1: none).

    >>> write_synthetic("/tmp/synth", SynthSpec(classes=4, videos_per_class=8))  # doctest: +SKIP
    """
    spec = spec or SynthSpec()
    processes = helper_processes(workers)  # a bad count is refused before anything is written
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file: choose a new folder for the synthetic dataset (nothing was written)")
    if out.is_dir() and any(entry.name != PARTIAL for entry in out.iterdir()):
        raise UsageError(f"{out} is a folder that is not empty: choose a new folder for the synthetic dataset")
    partial = out / PARTIAL
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
    partial.mkdir(parents=True)
    try:
        _write_dataset(partial, spec, processes, on_progress)
        if qa:
            from clipcop.synth.qa import write_synthetic_qa

            write_synthetic_qa(partial)
        for entry in sorted(partial.iterdir(), key=lambda e: e.name == "facts.json"):  # facts.json last
            entry.rename(out / entry.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out


def _write_dataset(out: Path, spec: SynthSpec, workers: int, on_progress: Callable[[int, int], None] | None) -> None:
    names = spec.class_names()
    per_group = spec.clips_per_group()
    videos = out / "UCF-101"
    lists = out / "ucfTrainTestlist"
    tasks, rels = [], []
    for label, cls in enumerate(names):
        (videos / cls).mkdir(parents=True, exist_ok=True)
        for index in range(spec.videos_per_class):
            group, name = video_name(cls, index, per_group)
            tasks.append((spec, label, index, str(videos / cls / name)))
            rels.append((label, group, f"{cls}/{name}"))
    facts: list[dict[str, Any]] = []
    records: Iterable[dict[str, Any]] = map(_render_one, tasks)
    if workers > 1:
        records = spawned_map(_render_one, tasks, workers=workers, what="writing the synthetic videos")
    for done, record in enumerate(records, start=1):
        facts.append(record)
        if on_progress:
            on_progress(done, len(tasks))
    lists.mkdir(parents=True, exist_ok=True)
    groups = (spec.videos_per_class + per_group - 1) // per_group
    write_text_atomic(lists / "classInd.txt", _crlf([f"{i + 1} {n}" for i, n in enumerate(names)]))
    for split in (1, 2, 3):
        tested = test_groups(split, groups)
        train = [f"{rel} {label + 1}" for label, group, rel in rels if group not in tested]
        test = [rel for label, group, rel in rels if group in tested]
        write_text_atomic(lists / f"trainlist0{split}.txt", _crlf(train))
        write_text_atomic(lists / f"testlist0{split}.txt", _crlf(test))
    record = {
        "format": FORMAT,
        "spec": asdict(spec),
        "videos": {rel: f for (_, _, rel), f in zip(rels, facts, strict=True)},
    }
    write_text_atomic(out / "facts.json", json.dumps(record, indent=1))


def synthetic_cache_path(spec: SynthSpec) -> Path:
    """Where the built-in copy for ``spec`` lives in the cache folder."""
    h, w = spec.size
    key = f"v{FORMAT}-c{spec.classes}-n{spec.videos_per_class}-f{spec.frames}-{h}x{w}-s{spec.seed}"
    return cache_dir() / "synthetic" / key


def ensure_synthetic(
    spec: SynthSpec | None = None,
    *,
    workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, bool]:
    """The cached built-in dataset, generated on first use; returns ``(path, generated_now)``.

    Generation happens in a temporary folder renamed into place, so concurrent or killed runs never
    see a half-written dataset.
    """
    spec = spec or SynthSpec()
    final = synthetic_cache_path(spec)
    if (final / "facts.json").is_file():
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    # Left half-written by a crash: removed. Checked again right here, since another process may have just
    # renamed a finished copy into place (it holds facts.json, written last) that runs may be reading.
    if final.exists() and not (final / "facts.json").is_file():
        shutil.rmtree(final, ignore_errors=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write_synthetic(tmp, spec, workers=workers, on_progress=on_progress)
    try:
        os.replace(tmp, final)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def synth_record(out: str | Path, spec: SynthSpec, qa: SynthQAStats | None = None) -> SynthRecord:
    """What ``clipcop data synth`` prints (:mod:`clipcop.results`): the dataset written at ``out`` with
    ``spec``, and the questions when ``qa`` (:func:`clipcop.synth.qa.read_qa_stats`) is given."""
    return SynthRecord(
        data_dir=str(out),
        videos=spec.classes * spec.videos_per_class,
        classes=spec.classes,
        qa_dir=None if qa is None else str(qa.out),
        questions=None if qa is None else qa.total,
        questions_per_split=None if qa is None else dict(qa.questions),
    )
