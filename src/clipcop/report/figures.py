"""Matplotlib figures of clipcop runs, drawn to be read on a slide and written atomically.

Every figure is 9.6 inches wide (960 pixels at the default 100 dpi); per-class bars and confusion
matrices grow taller with the number of classes, so 101 classes stay legible. Curves carry point markers
and a margin (a one-epoch stage is still a visible point, 0% and 100% sit inside the frame), and legends
sit outside the plotting area, never on a line. ``Output`` picks the format (png, svg or pdf) and dpi.

Matplotlib is an optional extra (``pip install "clipcop[plot]"``); :func:`require_matplotlib` says so
in one line when it is missing.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.engine.atomic import atomic_path, write_text_atomic
from clipcop.errors import UsageError
from clipcop.outputs import PNG_SOFTWARE, check_outputs, is_clipcop_figure, starts_with
from clipcop.outputs import Output as Guarded

SIZE_INCHES, DPI = (9.6, 6.0), 100
"""A figure's usual size: 960x600 pixels at the default dpi (taller for many classes)."""
FORMATS = ("png", "svg", "pdf")
ACCURACIES = (("train_acc", "train accuracy", "-"), ("val_acc", "val accuracy", "--"))
PERCENT_LIMITS = (-3.0, 103.0)
"""Percent axes: 0% and 100% drawn inside the frame, not on it."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
ROW_INCHES = 0.16
"""Height of one bar in per-class charts: 101 classes of two bars each fit a tall, legible figure."""


def _signed(fmt: str) -> dict[str, str]:
    """The file's own text naming clipcop as its maker, by which a later run knows it may replace it."""
    return {"Software": PNG_SOFTWARE} if fmt == "png" else {"Creator": PNG_SOFTWARE}


def require_matplotlib() -> Any:
    """The ``matplotlib.pyplot`` module with a non-interactive backend, or one clear error."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError('clipcop report draws with matplotlib: pip install "clipcop[plot]"')
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class Output:
    """Where pictures go and how: a folder, a format (png, svg or pdf) and a resolution in dpi.

    A PDF is not shown by a browser's ``<img>``: each PDF gets a PNG preview beside it for the HTML page.
    """

    folder: Path
    fmt: str = "png"
    dpi: int = DPI

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise UsageError(f"unknown picture format {self.fmt!r}; choose one of {', '.join(FORMATS)}")
        if not 20 <= self.dpi <= 1200:
            raise UsageError(f"--dpi must be between 20 and 1200, not {self.dpi}")

    def path(self, stem: str) -> Path:
        """The picture called ``stem`` in this output's format."""
        return self.folder / f"{stem}.{self.fmt}"

    def preview(self, picture: Path) -> Path:
        """What a browser shows for ``picture``: itself, or the PNG beside a PDF."""
        return picture.with_suffix(".png") if picture.suffix == ".pdf" else picture


def _save(fig: Any, out: Output, stem: str) -> Path:
    """``fig`` as ``stem`` in the output's format (and a PNG preview of a PDF): each a new file or a
    picture clipcop drew before, never somebody else's file (:func:`clipcop.outputs.check_outputs`)."""
    path = out.path(stem)
    previews = [out.preview(path)] if out.fmt == "pdf" else []
    guarded = [Guarded("report", p, "a picture clipcop drew", is_clipcop_figure) for p in (path, *previews)]
    check_outputs(guarded, {})
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=out.fmt, dpi=out.dpi, metadata=_signed(out.fmt))
    for preview in previews:
        with atomic_path(preview) as tmp:
            fig.savefig(tmp, format="png", dpi=out.dpi, metadata=_signed("png"))
    require_matplotlib().close(fig)
    return path


def _figure(height: float = SIZE_INCHES[1], **options: Any) -> tuple[Any, Any]:
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(SIZE_INCHES[0], height), layout="constrained", **options)
    return fig, ax


def _legend_outside(fig: Any, axes: Sequence[Any]) -> None:
    """One legend for ``axes``, to the right of the plotting area (never over a line); chance lines last."""
    pairs = [pair for axis in axes for pair in zip(*axis.get_legend_handles_labels(), strict=True)]
    pairs.sort(key=lambda pair: "chance" in pair[1])
    handles, labels = [h for h, _ in pairs], [label for _, label in pairs]
    if handles:
        fig.legend(handles, labels, loc="outside right upper", frameon=False)


def _epoch_axis(ax: Any, epochs: Sequence[float]) -> None:
    """Whole-number epoch ticks with half an epoch (or 3%) of room on each side: one epoch is a point."""
    from matplotlib.ticker import MaxNLocator

    low, high = (min(epochs), max(epochs)) if epochs else (1, 1)
    pad = max(0.5, 0.03 * (high - low))
    ax.set_xlim(low - pad, high + pad)
    if high - low <= 12:
        ax.set_xticks(range(int(low), int(high) + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def _percent_axis(ax: Any, label: str) -> None:
    ax.set_ylim(*PERCENT_LIMITS)
    ax.set_ylabel(label)
    ax.grid(axis="y", alpha=0.3)


def _marker(shape: str, style: str) -> dict[str, Any]:
    """Filled markers for training, hollow for validation: the two stay apart even for one epoch."""
    return {"marker": shape, "markersize": 6, "markerfacecolor": "white" if style == "--" else None}


def _series(history: Sequence[Mapping[str, Any]], key: str) -> list[float] | None:
    """One metric per epoch (NaN where an epoch lacks it), or None when no epoch has it."""
    if not any(key in h for h in history):
        return None
    return [float(h.get(key, math.nan)) for h in history]


def training_curves(history: Sequence[Mapping[str, Any]], title: str, out: Output, stem: str) -> Path:
    """Loss (left axis) and accuracy in % (right axis) per epoch, train and validation, as far as recorded.

    Video QA runs, for one, record no training accuracy; what an epoch lacks is left out of the plot.
    """
    fig, ax = _figure()
    epochs = [h["epoch"] for h in history]
    axes = [ax]
    for key, label, style in (("train_loss", "train loss", "-"), ("val_loss", "val loss", "--")):
        values = _series(history, key)
        if values is not None:
            ax.plot(epochs, values, label=label, color="tab:blue", linestyle=style, **_marker("o", style))
    ax.set_ylabel("cross-entropy")
    ax.margins(y=0.08)
    _epoch_axis(ax, epochs)
    accuracies = [(label, style, _series(history, key)) for key, label, style in ACCURACIES]
    if any(values is not None for *_, values in accuracies):
        acc = ax.twinx()
        axes.append(acc)
        for label, style, values in accuracies:
            if values is not None:
                percent = [100 * v for v in values]
                acc.plot(epochs, percent, label=label, color="tab:orange", linestyle=style, **_marker("s", style))
        _percent_axis(acc, "accuracy (%)")
    _legend_outside(fig, axes)
    ax.set_title(title)
    return _save(fig, out, stem)


def _class_order(series: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Every class of any series, best first by the first series (then by name): one order for all."""
    first = next(iter(series.values()))
    names = sorted({name for values in series.values() for name in values})
    return sorted(names, key=lambda name: (-first.get(name, -1.0), name))


def per_class_table(series: Mapping[str, Mapping[str, float]]) -> str:
    """The numbers behind a per-class chart as CSV: one row per class, one column per series."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", *series])
    for name in _class_order(series):
        writer.writerow([name, *(_csv_number(values.get(name)) for values in series.values())])
    return buffer.getvalue()


def _bar_text(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.0f}%"


def _csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def per_class_bars(
    series: Mapping[str, Mapping[str, float]], chance: float | None, title: str, out: Output, stem: str
) -> Path:
    """Accuracy per class as horizontal bars (the paper's Fig. 5), one bar per series (e.g. VCOP and random
    initialisation) side by side, every series in one class order (best of the first series at the top),
    with chance marked. The figure grows a row per class; the numbers go to ``STEM.csv`` beside it."""
    names = _class_order(series)
    count = len(series)
    height = max(SIZE_INCHES[1], 1.6 + ROW_INCHES * len(names) * max(count, 1.5))
    fig, ax = _figure(height)
    positions = np.arange(len(names))[::-1]
    thickness = 0.8 / count
    for i, (label, values) in enumerate(series.items()):
        shift = (count - 1) / 2 * thickness - i * thickness
        accuracy = [100 * values.get(name, math.nan) for name in names]
        bars = ax.barh(positions + shift, accuracy, height=thickness, label=label, color=f"C{i}")
        if len(names) * count <= 60:  # the value at each bar's end: a 0% bar is still a visible row
            ax.bar_label(bars, labels=[_bar_text(a) for a in accuracy], padding=2, fontsize=8)
    if chance is not None:
        ax.axvline(100 * chance, color="black", linestyle=":", linewidth=1.2, label=f"chance {100 * chance:.1f}%")
    ax.set_yticks(positions, names, fontsize=9 if len(names) <= 40 else 7)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlim(0, 108)
    ax.set_xlabel("accuracy (%)")
    ax.xaxis.set_ticks_position("both")
    ax.tick_params(axis="x", labeltop=True)
    ax.grid(axis="x", alpha=0.3)
    _legend_outside(fig, [ax])
    ax.set_title(title)
    table = out.folder / f"{stem}.csv"
    check_outputs([Guarded("report", table, "a per-class table clipcop wrote", starts_with("class,"))], {})
    write_text_atomic(table, per_class_table(series))
    return _save(fig, out, stem)


def topk_curves(
    curves: Mapping[str, Mapping[int, float]], title: str, out: Output, stem: str, *, chance: float | None = None
) -> Path:
    """Top-k retrieval accuracy against k, one line per model (the paper's Figs. 6-7), k on a log axis."""
    fig, ax = _figure()
    ks: set[int] = set()
    for i, (name, values) in enumerate(curves.items()):
        order = sorted(values)
        ks.update(order)
        ax.plot(order, [100 * values[k] for k in order], marker=MARKERS[i % len(MARKERS)], label=name)
    if chance is not None:
        ax.axhline(
            100 * chance, color="black", linestyle=":", linewidth=1.2, label=f"chance (top-1) {100 * chance:.1f}%"
        )
    if ks:
        ax.set_xscale("log")
        ax.set_xticks(sorted(ks), [str(k) for k in sorted(ks)])
        ax.minorticks_off()
        ax.set_xlim(min(ks) / 1.3, max(ks) * 1.3)
    ax.set_xlabel("k")
    _percent_axis(ax, "top-k accuracy (%)")
    _legend_outside(fig, [ax])
    ax.set_title(title)
    return _save(fig, out, stem)


def layer_curves(
    tables: Mapping[str, Mapping[str, Mapping[str, Mapping[int, float]]]],
    ks: Sequence[int],
    title: str,
    out: Output,
    stem: str,
) -> Path:
    """Top-k retrieval accuracy by layer (the paper's Table IV as a picture): one panel per level, a
    colour per model, a marker and dash per k, layers shallow to deep along x."""
    levels = sorted({level for table in tables.values() for acc in table.values() for level in acc})
    fig, axes = _figure(SIZE_INCHES[1], ncols=max(1, len(levels)), sharey=True, squeeze=False)
    panels = list(axes[0])
    for panel, level in zip(panels, levels, strict=False):
        for i, (model, table) in enumerate(tables.items()):
            layers = [layer for layer in table if level in table[layer]]
            for j, k in enumerate(ks):
                values = [100 * table[layer][level].get(k, math.nan) for layer in layers]
                style = ("-", "--", ":", "-.")[j % 4]
                panel.plot(
                    layers,
                    values,
                    color=f"C{i}",
                    linestyle=style,
                    marker=MARKERS[j % len(MARKERS)],
                    label=f"{model} top-{k}",
                )
        panel.set_title(f"{level} level" + (" (clips query clips)" if level == "clip" else " (mean of clips)"))
        panel.set_xlabel("layer")
        panel.margins(x=0.08)
        _percent_axis(panel, "top-k accuracy (%)" if panel is panels[0] else "")
    _legend_outside(fig, panels[:1])
    fig.suptitle(title)
    return _save(fig, out, stem)


def grouped_bars(values: Mapping[str, float], title: str, ylabel: str, out: Output, stem: str) -> Path:
    """One bar per model (e.g. fine-tuned accuracy of VCOP vs random initialisation), its value above it."""
    fig, ax = _figure()
    names = list(values)
    ax.bar(names, [100 * values[n] for n in names], color=[f"C{i}" for i in range(len(names))], width=0.6)
    for i, name in enumerate(names):
        ax.text(i, 100 * values[name] + 1.5, f"{100 * values[name]:.1f}%", ha="center", va="bottom")
    ax.set_ylim(0, 110)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.margins(x=0.15)
    ax.set_title(title)
    return _save(fig, out, stem)


def accuracy_curves(
    curves: Mapping[str, Sequence[float]], chances: Mapping[str, float], title: str, out: Output, stem: str
) -> Path:
    """Validation accuracy per epoch for several runs (the curriculum comparison of Fig. 4), each with
    its own chance level dotted in its colour (tl! orders differ per stage)."""
    fig, ax = _figure()
    longest = max((len(v) for v in curves.values()), default=1)
    for i, (name, values) in enumerate(curves.items()):
        epochs = range(1, len(values) + 1)
        ax.plot(epochs, [100 * v for v in values], color=f"C{i}", marker=MARKERS[i % len(MARKERS)], label=name)
        if name in chances:
            chance = 100 * chances[name]
            ax.axhline(chance, color=f"C{i}", linestyle=":", linewidth=1.2, label=f"{name} chance {chance:.1f}%")
    _epoch_axis(ax, [1, longest])
    _percent_axis(ax, "validation order accuracy (%)")
    _legend_outside(fig, [ax])
    ax.set_title(title)
    return _save(fig, out, stem)


def confusion_heatmap(classes: Sequence[str], matrix: np.ndarray, title: str, out: Output, stem: str) -> Path:
    """The test confusion matrix, each row as a share of the true class's videos (recall on the diagonal);
    counts written in the cells while there are few classes. Square, growing with the class count."""
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    n = len(classes)
    side = max(SIZE_INCHES[0], 2.5 + 0.16 * n)
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(side, side * 0.85), layout="constrained")
    image = ax.imshow(100 * share, cmap="Blues", vmin=0, vmax=100, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="% of the true class's test videos", shrink=0.8)
    size = 9 if n <= 30 else 6
    ax.set_xticks(range(n), classes, rotation=90, fontsize=size)
    ax.set_yticks(range(n), classes, fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 15:
        for (row, col), value in np.ndenumerate(counts):
            if value:
                colour = "white" if share[row, col] > 0.6 else "black"
                ax.text(col, row, str(int(value)), ha="center", va="center", color=colour, fontsize=9)
    ax.set_title(title)
    return _save(fig, out, stem)


@dataclass(frozen=True)
class GridCell:
    """One video of the retrieval grid: frames across the video (left to right), its caption and colour."""

    frames: Sequence[np.ndarray]
    caption: str
    colour: str


def _strip(frames: Sequence[np.ndarray], gap: int = 3) -> np.ndarray:
    """Frames side by side with a white gap: the motion of a video in one image."""
    height = max(f.shape[0] for f in frames)
    pieces: list[np.ndarray] = []
    for frame in frames:
        if pieces:
            pieces.append(np.full((height, gap, 3), 255, dtype=np.uint8))
        pieces.append(frame)
    return np.concatenate(pieces, axis=1)


def retrieval_grid(rows: Sequence[Sequence[GridCell]], title: str, path: Path, *, dpi: int = DPI) -> Path:
    """The paper's Fig. 8: one row per query video, then its nearest gallery videos by rank, each shown as
    frames across the video (the synthetic classes differ only by motion), captioned with the rank, the full
    class name and the similarity, framed green (same class as the query) or red (another class)."""
    plt = require_matplotlib()
    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(3.3 * columns, 1.0 * len(rows) + 0.7), squeeze=False, layout="constrained"
    )
    for r, row in enumerate(rows):
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(row):
                ax.set_axis_off()
                continue
            cell = row[c]
            ax.imshow(_strip(cell.frames), interpolation="nearest")
            for spine in ax.spines.values():
                spine.set_edgecolor(cell.colour)
                spine.set_linewidth(4)
            ax.set_xlabel(cell.caption, fontsize=9, color="black")
    for c in range(columns):
        axes[0][c].set_title("query" if c == 0 else f"rank {c}", fontsize=11, fontweight="bold")
    fig.suptitle(title, fontsize=12)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in FORMATS:
        raise UsageError(f"--grid {path}: name a .png, .svg or .pdf file")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_signed(fmt))
    plt.close(fig)
    return path
