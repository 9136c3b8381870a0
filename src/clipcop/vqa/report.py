"""Video QA results for people (a table in the paper's Table VI layout) and for machines (JSON)."""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.table import Table

from clipcop.metrics.qa import TYPE_COLUMNS, QAAccuracy
from clipcop.results import QAScores

COLUMNS = (*TYPE_COLUMNS, "Free", "All")
"""Table VI: Motion, Spat. Rel., Temp. Rel., Free (Y/N, Color, Obj., Loc., Num., Other), All; plus Free overall."""
_HEADERS = ("Motion", "Spat.\nRel.", "Temp.\nRel.", "Free\nY/N", "\nColor", "\nObj.", "\nLoc.", "\nNum.", "\nOther")


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def accuracy_table(rows: dict[str, QAAccuracy], title: str) -> Table:
    """One row per model (accuracy in %), then the number of questions of each type (fits 80 columns)."""
    table = Table(title=f"{title}; Free: all of types 3-8", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    table.add_column("Model")
    for header in (*_HEADERS, "Free\nall", "\nAll"):
        table.add_column(header, justify="right")
    for name, accuracy in rows.items():
        table.add_row(name, *(_percent(v) for v in accuracy.row().values()))
    if rows:
        counts = next(iter(rows.values())).counts()
        table.add_row("questions", *(str(n) for n in counts.values()), style="dim")
    return table


def accuracy_json(accuracy: QAAccuracy | None) -> dict[str, Any] | None:
    """``{"accuracy": {type: fraction}, "questions": {type: count}}`` (None stays None)."""
    if accuracy is None:
        return None
    return {"accuracy": accuracy.row(), "questions": accuracy.counts()}


def qa_scores(accuracy: QAAccuracy | None) -> QAScores | None:
    """The same as :func:`accuracy_json`, as the result records' part (None stays None)."""
    if accuracy is None:
        return None
    return QAScores(accuracy=dict(accuracy.row()), questions=accuracy.counts())


def describe_source(source: Any) -> str:
    """A short name for a feature file's ``source`` metadata (which model made the features)."""
    if not isinstance(source, dict):
        return str(source)
    origin = source.get("source") or f"seed {source.get('seed')}"
    return f"{source.get('kind', '?')} {source.get('arch', '?')} width {source.get('width', '?')} ({origin})"


__all__ = ["COLUMNS", "accuracy_json", "accuracy_table", "describe_source", "qa_scores"]
