"""Matplotlib figures of clipcop runs, each a fixed-size PNG (960x600 pixels) written atomically.

Matplotlib is an optional extra (``pip install "clipcop[plot]"``); :func:`require_matplotlib` says so
in one line when it is missing.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clipcop.engine.atomic import atomic_path
from clipcop.errors import UsageError
from clipcop.outputs import PNG_SOFTWARE, Output, check_outputs, is_clipcop_png

SIZE_INCHES, DPI = (9.6, 6.0), 100
"""Every figure is 960x600 pixels."""
ACCURACIES = (("train_acc", "train accuracy", "-"), ("val_acc", "val accuracy", "--"))


def require_matplotlib() -> Any:
    """The ``matplotlib.pyplot`` module with a non-interactive backend, or one clear error."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError('clipcop report draws with matplotlib: pip install "clipcop[plot]"')
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """``fig`` as a PNG at ``path``: a new file, or a picture clipcop drew before (never somebody's file)."""
    check_outputs([Output("report", path, "a PNG picture clipcop drew", is_clipcop_png)], {})
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": PNG_SOFTWARE})
    require_matplotlib().close(fig)
    return path


def _figure() -> tuple[Any, Any]:
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    return fig, ax


def _series(history: Sequence[Mapping[str, Any]], key: str) -> list[float] | None:
    """One metric per epoch (NaN where an epoch lacks it), or None when no epoch has it."""
    if not any(key in h for h in history):
        return None
    return [float(h.get(key, math.nan)) for h in history]


def training_curves(history: Sequence[Mapping[str, Any]], title: str, path: Path) -> Path:
    """Loss (left axis) and accuracy (right axis) per epoch, train and validation, as far as recorded.

    Video QA runs, for one, record no training accuracy; what an epoch lacks is left out of the plot.
    """
    fig, ax = _figure()
    epochs = [h["epoch"] for h in history]
    axes = [ax]
    for key, label, style in (("train_loss", "train loss", "-"), ("val_loss", "val loss", "--")):
        values = _series(history, key)
        if values is not None:
            ax.plot(epochs, values, label=label, color="tab:blue", linestyle=style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    accuracies = [(key, label, style, _series(history, key)) for key, label, style in ACCURACIES]
    if any(values is not None for *_, values in accuracies):
        acc = ax.twinx()
        axes.append(acc)
        for _, label, style, values in accuracies:
            if values is not None:
                acc.plot(epochs, values, label=label, color="tab:orange", linestyle=style)
        acc.set_ylabel("accuracy")
        acc.set_ylim(0, 1)
    lines = [line for axis in axes for line in axis.get_legend_handles_labels()[0]]
    labels = [label for axis in axes for label in axis.get_legend_handles_labels()[1]]
    ax.legend(lines, labels, loc="center right")
    ax.set_title(title)
    return _save(fig, path)


def per_class_bars(rows: Sequence[Mapping[str, Any]], chance: float | None, title: str, path: Path) -> Path:
    """Accuracy per class as horizontal bars (the paper's Fig. 5), sorted, with chance marked."""
    fig, ax = _figure()
    ordered = sorted(rows, key=lambda r: r["accuracy"])
    ax.barh([r["class"] for r in ordered], [100 * r["accuracy"] for r in ordered], color="tab:green")
    if chance is not None:
        ax.axvline(100 * chance, color="grey", linestyle=":", label=f"chance {100 * chance:.1f}%")
        ax.legend(loc="lower right")
    ax.set_xlabel("accuracy (%)")
    ax.set_xlim(0, 100)
    ax.set_title(title)
    return _save(fig, path)


def topk_curves(curves: Mapping[str, Mapping[int, float]], title: str, path: Path) -> Path:
    """Top-k retrieval accuracy against k, one line per model (the paper's Figs. 6-7)."""
    fig, ax = _figure()
    for name, values in curves.items():
        ks = sorted(values)
        ax.plot(ks, [100 * values[k] for k in ks], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("top-k accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    ax.set_title(title)
    return _save(fig, path)


def grouped_bars(values: Mapping[str, float], title: str, ylabel: str, path: Path) -> Path:
    """One bar per model (e.g. fine-tuned accuracy of VCOP vs random initialisation)."""
    fig, ax = _figure()
    names = list(values)
    ax.bar(names, [100 * values[n] for n in names], color=["tab:blue", "tab:grey", "tab:orange"][: len(names)])
    for i, name in enumerate(names):
        ax.text(i, 100 * values[name] + 1, f"{100 * values[name]:.1f}%", ha="center")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    return _save(fig, path)


def accuracy_curves(curves: Mapping[str, Sequence[float]], chance: float | None, title: str, path: Path) -> Path:
    """Validation accuracy per epoch for several runs (the curriculum comparison of Fig. 4)."""
    fig, ax = _figure()
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), [100 * v for v in values], label=name)
    if chance is not None:
        ax.axhline(100 * chance, color="grey", linestyle=":", label=f"chance {100 * chance:.1f}%")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation order accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    ax.set_title(title)
    return _save(fig, path)
