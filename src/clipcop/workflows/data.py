"""From a ``--data`` argument to readable, probed videos: resolve, read the layout, probe, filter.

``"synthetic"`` (the default where no data is given) means the built-in synthetic dataset, generated once
into the cache folder. Unreadable files and videos too short for the tuple span are counted, named and
skipped; nothing else is dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipcop.clips.datasets import VideoRef
from clipcop.config import DataSpec, check_backend
from clipcop.engine.distributed import main_process_first
from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError, UsageError
from clipcop.synth.dataset import SynthSpec, ensure_synthetic
from clipcop.videos.layouts import DatasetSplit, VideoItem, load_dataset, stable_fraction
from clipcop.videos.manifest import Manifest, build_manifest
from clipcop.videos.split import describe_unusable

SYNTHETIC = "synthetic"


def recorded_data(data: str | None) -> str | None:
    """``--data`` as a run records it: an absolute path (a later ``--resume`` from another folder then
    still knows which folder it was), or ``synthetic``/None as given."""
    if data is None or str(data) == SYNTHETIC:
        return data
    return os.path.abspath(Path(data).expanduser())


def resolve_data(data: str | Path | None, reporter: Reporter | None = None, *, workers: int = 2) -> Path:
    """The folder behind ``data``; ``None``/``"synthetic"`` is the built-in dataset (generated once)."""
    reporter = reporter or Reporter()
    if data is None or str(data) == SYNTHETIC:
        spec = SynthSpec()
        with reporter.progress(spec.classes * spec.videos_per_class, "generating synthetic videos", "videos") as bar:
            path, made = ensure_synthetic(spec, workers=workers, on_progress=lambda d, t: bar.advance(d - bar.done))
        verb = "generated" if made else "using"
        reporter.note(f"{verb} the built-in synthetic dataset at {path} (--data synthetic)")
        return path
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"data path {path} does not exist")
    return path


@dataclass(frozen=True, kw_only=True)
class PreparedVideos:
    """A dataset split with every video probed: readable ones as :class:`VideoRef`, the rest explained."""

    dataset: DatasetSplit
    manifest: Manifest
    train: list[VideoRef]
    test: list[VideoRef]
    unreadable: dict[str, str] = field(default_factory=dict)
    too_short: dict[str, int] = field(default_factory=dict)

    def skipped(self) -> dict[str, int]:
        """How many videos of the dataset split (train and test alike) were left out, and why (for ``--json``
        results)."""
        return {
            "missing": len(self.dataset.missing),
            "unreadable": len(self.unreadable),
            "too_short": len(self.too_short),
        }

    def describe(self) -> dict[str, object]:
        """Provenance for checkpoint metadata."""
        ds = self.dataset
        return {
            "path": str(ds.data_root),
            "name": ds.name,
            "layout": ds.layout,
            "split": ds.split,
            "classes": len(ds.classes),
        }


def _refs(
    ds: DatasetSplit, items: tuple[VideoItem, ...], manifest: Manifest, min_frames: int
) -> tuple[list[VideoRef], dict[str, str], dict[str, int]]:
    refs, bad, short = [], {}, {}
    for item in items:
        info = manifest.info(item.path)
        if info is None:
            bad[item.path] = manifest.error(item.path) or "unreadable"
        elif info.num_frames < min_frames:
            short[item.path] = info.num_frames
        else:
            refs.append(VideoRef(ds.path_of(item), info.num_frames, item.label))
    return refs, bad, short


def prepare_data(data: DataSpec, reporter: Reporter, *, min_frames: int = 1) -> PreparedVideos:
    """:func:`prepare_videos` for a command's :class:`DataSpec` (folder, layout, split, workers, decoder)."""
    return prepare_videos(
        data.folder,
        split=data.split,
        dataset=data.layout,
        min_frames=min_frames,
        workers=data.workers,
        backend=data.backend,
        reporter=reporter,
    )


def prepare_videos(
    data: str | Path | None,
    *,
    split: int = 1,
    dataset: str | None = None,
    min_frames: int = 1,
    workers: int = 2,
    backend: str = "auto",
    reprobe: bool = False,
    reporter: Reporter | None = None,
) -> PreparedVideos:
    """Resolve ``data``, read split ``split``, probe every video (cached; all again with ``reprobe``) and
    keep the usable ones.

    Videos with fewer than ``min_frames`` frames (e.g. a VCOP tuple span) are listed as too short.
    """
    check_backend(backend)  # before the data is generated or probed
    reporter = reporter or Reporter()
    with main_process_first():  # under torchrun, rank 0 generates and probes; the others reuse its caches
        root = resolve_data(data, reporter, workers=workers)
        ds = load_dataset(root, split=split, dataset=dataset)
        rels = [item.path for item in ds.train + ds.test]
        with reporter.progress(len(rels), "probing videos", "videos") as bar:
            manifest = build_manifest(
                ds.video_root,
                rels,
                workers=workers,
                backend=backend,
                reprobe=reprobe,
                on_progress=lambda d, t: bar.advance(d - bar.done),
            )
    train, bad_train, short_train = _refs(ds, ds.train, manifest, min_frames)
    test, bad_test, short_test = _refs(ds, ds.test, manifest, min_frames)
    prepared = PreparedVideos(
        dataset=ds,
        manifest=manifest,
        train=train,
        test=test,
        unreadable={**bad_train, **bad_test},
        too_short={**short_train, **short_test},
    )
    report_skipped(prepared, reporter, min_frames)
    return prepared


def report_skipped(prepared: PreparedVideos, reporter: Reporter, min_frames: int) -> None:
    """Say how many videos were skipped and why, naming the first few."""
    ds = prepared.dataset
    for warning in ds.warnings:
        reporter.warn(f"{ds.data_root}: {warning}")
    if ds.missing:
        unusable = dict(ds.unusable) or dict.fromkeys(ds.missing, "missing")
        reporter.warn(f"videos named in split files that are not usable video files: {describe_unusable(unusable)}")
    if prepared.unreadable:
        first = next(iter(prepared.unreadable.items()))
        reporter.warn(f"{len(prepared.unreadable)} unreadable videos skipped, e.g. {first[0]}: {first[1]}")
    if prepared.too_short:
        first_short = next(iter(prepared.too_short.items()))
        reporter.warn(
            f"{len(prepared.too_short)} videos shorter than {min_frames} frames skipped, "
            f"e.g. {first_short[0]} ({first_short[1]} frames)"
        )


def note_short_videos(videos: list[VideoRef], clip_len: int, reporter: Reporter) -> None:
    """Say how many videos are shorter than one clip: their clips repeat the last frame (kept, not skipped)."""
    short = [v for v in videos if v.num_frames < clip_len]
    if short:
        reporter.note(
            f"{len(short)} of {len(videos)} videos are shorter than a {clip_len}-frame clip, e.g. {short[0].path.name} "
            f"({short[0].num_frames} frames): their clips repeat the last frame"
        )


def hold_out(
    videos: list[VideoRef],
    requested: int,
    reporter: Reporter | None = None,
    *,
    listed: Sequence[Path] | None = None,
) -> tuple[list[VideoRef], list[VideoRef]]:
    """Split training videos into ``(train, validation)``: ``requested`` videos (the paper: 800) held out.

    The held-out videos are the first ``requested`` of all ``listed`` training videos (default: ``videos``)
    ranked by a hash of the file name, the same for every seed; those of ``videos`` among them validate.
    Ranking the whole listing rather than the videos usable here keeps validation the same across the
    stages of a task curriculum (longer tuples leave out more short videos) and for fine-tuning, so no
    stage validates on videos an earlier one trained on. On small datasets the validation set is scaled
    down to 10% of the listing. When no held-out video is usable here, the first usable one by the same
    ranking validates; when the held-out ones are all the usable videos, 10% of them validate and the
    rest train. Each of these is said.
    """
    if len(videos) < 2:
        raise DataError(f"only {len(videos)} usable training videos: need at least 2 (train + validation)")
    population = list(listed) if listed is not None else [v.path for v in videos]
    size = min(requested, max(1, len(population) // 10))
    if size < requested and reporter is not None:
        reporter.note(
            f"validation set scaled down to {size} videos (10% of {len(population)} training videos; asked {requested})"
        )
    held = set(sorted(population, key=_validation_rank)[:size])
    validation = [v for v in videos if v.path in held]  # in listing order: evaluation tuples go by position
    note = None
    if not validation:  # every held-out video is unreadable or too short here
        validation = [min(videos, key=lambda v: _validation_rank(v.path))]
        note = (
            f"none of the {size} held-out validation videos is readable and long enough here: validating on "
            f"{validation[0].path.name}, the first usable one by the same ranking"
        )
    elif len(validation) == len(videos):  # they are all the usable videos: leave some to train on
        first = set(sorted((v.path for v in validation), key=_validation_rank)[: max(1, len(videos) // 10)])
        validation = [v for v in validation if v.path in first]
        note = (
            f"every usable training video is a held-out one: validating on {len(validation)} of them, "
            f"training on the other {len(videos) - len(validation)}"
        )
    elif len(validation) < size:
        note = (
            f"{size - len(validation)} of the {size} held-out validation videos are unreadable or too short here: "
            f"validating on {len(validation)}"
        )
    if note is not None and reporter is not None:
        reporter.note(note)
    chosen = {v.path for v in validation}
    return [v for v in videos if v.path not in chosen], validation


def validation_fingerprint(validation: list[VideoRef]) -> dict[str, Any]:
    """What checkpoints record of their validation videos: how many, and a hash of their file names."""
    names = "\n".join(sorted(v.path.name for v in validation))
    return {"videos": len(validation), "names_sha256": hashlib.sha256(names.encode()).hexdigest()[:16]}


def _validation_rank(path: Path) -> tuple[float, str]:
    """Where ``path`` comes in the validation ranking: by a hash of its name (ties by the whole path)."""
    return stable_fraction(f"val:{path.name}"), str(path)


def listed_training(prepared: PreparedVideos) -> list[Path]:
    """Every training video the split lists, usable here or not: the population validation is drawn from."""
    return [prepared.dataset.path_of(item) for item in prepared.dataset.train]


def restrict(videos: list[VideoRef], prepared: PreparedVideos, listing: str, reporter: Reporter) -> list[VideoRef]:
    """Keep the training videos named in the file ``listing`` (one path relative to the video root per
    line); validation is unaffected. The sample-based curriculum trains on its hard samples this way."""
    path = Path(listing)
    if not path.is_file():
        raise UsageError(f"--train-list {path} does not exist")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise UsageError(f"cannot read --train-list {path}: not a text file") from None
    root = prepared.dataset.video_root
    wanted = {_listed(line.strip(), root) for line in text.splitlines() if line.strip()}
    kept = [v for v in videos if v.path.relative_to(root).as_posix() in wanted]
    if not kept:
        raise DataError(f"none of the videos in {path} is a usable training video of this dataset")
    reporter.info(f"training on the {len(kept)} of {len(videos)} training videos listed in {path}")
    unused = sorted(wanted - {v.path.relative_to(root).as_posix() for v in kept})
    if unused:
        reporter.warn(
            f"{len(unused)} videos listed in {path} are not usable training videos here (missing, unreadable, "
            f"too short, held out for validation or in the test split), e.g. {unused[0]}"
        )
    return kept


def _listed(line: str, root: Path) -> str:
    """A ``--train-list`` line as a path relative to the video root (absolute paths under it are fine)."""
    path = Path(line)
    if path.is_absolute():  # compared as real paths: --data may be relative or reached through a link
        real, real_root = path.resolve(), root.resolve()
        if real.is_relative_to(real_root):
            return real.relative_to(real_root).as_posix()
    return line.replace("\\", "/")
