"""``clipcop data index``: probe every video once, cache the manifest, and report what is usable.

Per subset (train/test of the chosen split): videos, classes, unreadable files (named), and how many
videos are too short for a ``cl/it/tl`` span. Unreadable files are reported, never fatal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from clipcop.config import TupleSpec, check_backend, helper_processes
from clipcop.engine.reporting import Reporter
from clipcop.results import IndexRecord, SubsetCounts
from clipcop.workflows.data import prepare_videos


@dataclass(frozen=True)
class SubsetReport:
    """Counts for one subset of a split."""

    videos: int
    usable: int
    classes: int
    unreadable: dict[str, str] = field(default_factory=dict)
    too_short: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexReport:
    """What ``data index`` found: layout, manifest, and per-subset counts."""

    data: str
    layout: str
    split: int
    classes: int
    manifest: str
    probed: int
    reused: int
    span: int
    train: SubsetReport
    test: SubsetReport
    missing: list[str]
    notes: list[str]
    warnings: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def record(self) -> IndexRecord:
        """What ``clipcop data index --json`` prints (:mod:`clipcop.results`)."""
        return IndexRecord(
            data=self.data,
            layout=self.layout,
            split=self.split,
            classes=self.classes,
            manifest=self.manifest,
            probed=self.probed,
            reused=self.reused,
            span=self.span,
            train=SubsetCounts(**asdict(self.train)),
            test=SubsetCounts(**asdict(self.test)),
            missing=list(self.missing),
            notes=list(self.notes),
            warnings=list(self.warnings),
        )


def index_data(
    data: str | Path | None,
    *,
    split: int = 1,
    dataset: str | None = None,
    clip_len: int = 16,
    interval: int = 8,
    tuple_len: int = 3,
    workers: int | None = None,
    backend: str = "auto",
    reprobe: bool = False,
    reporter: Reporter | None = None,
) -> IndexReport:
    """Probe the dataset at ``data`` (cached; every video again with ``reprobe``) and count usable,
    unreadable and too-short videos, with ``workers`` probing processes (every core when None)."""
    check_backend(backend)
    workers = helper_processes(workers)
    reporter = reporter or Reporter()
    spec = TupleSpec(clip_len=clip_len, interval=interval, tuple_len=tuple_len)
    prepared = prepare_videos(
        data,
        split=split,
        dataset=dataset,
        min_frames=spec.span,
        workers=workers,
        backend=backend,
        reprobe=reprobe,
        reporter=reporter,
    )
    ds = prepared.dataset
    subsets = {}
    for name, items, usable in (("train", ds.train, prepared.train), ("test", ds.test, prepared.test)):
        paths = {item.path for item in items}
        subsets[name] = SubsetReport(
            videos=len(items),
            usable=len(usable),
            classes=len({item.label for item in items if item.label >= 0}),
            unreadable={k: v for k, v in prepared.unreadable.items() if k in paths},
            too_short={k: v for k, v in prepared.too_short.items() if k in paths},
        )
    report = IndexReport(
        data=str(ds.data_root),
        layout=ds.layout,
        split=split,
        classes=len(ds.classes),
        manifest=str(prepared.manifest.location),
        probed=prepared.manifest.probed,
        reused=prepared.manifest.reused,
        span=spec.span,
        train=subsets["train"],
        test=subsets["test"],
        missing=list(ds.missing),
        notes=list(ds.notes),
        warnings=list(ds.warnings),
    )
    reporter.table(render_index(report, spec))
    for path, reason in {**report.train.unreadable, **report.test.unreadable}.items():
        reporter.info(f"unreadable: {path}: {reason}")
    return report


def render_index(report: IndexReport, spec: TupleSpec) -> Table:
    """The per-subset table shown on stderr."""
    table = Table(title=f"{report.data} ({report.layout}, split {report.split}, {report.classes} classes)")
    for column in (
        "subset",
        "videos",
        "classes",
        "usable",
        "unreadable",
        f"too short (< {spec.span} frames)",
    ):
        table.add_column(column, justify="left" if column == "subset" else "right")
    for name, sub in (("train", report.train), ("test", report.test)):
        table.add_row(
            name,
            str(sub.videos),
            str(sub.classes),
            str(sub.usable),
            str(len(sub.unreadable)),
            str(len(sub.too_short)),
        )
    table.caption = f"manifest {report.manifest}: {report.probed} probed, {report.reused} reused"
    return table
