"""Collecting what a run folder holds into pictures and one self-contained HTML page.

Any clipcop run folder works: a pretraining, fine-tuning or video QA run, a curriculum folder of stages, or
a demo folder holding several runs. Every ``metrics.jsonl`` gives training curves (of the metrics it
records), a video QA ``results.json`` its Table VI accuracies, every per-class test file a
bar chart (Fig. 5), a demo summary top-k curves (Figs. 6-7) and the fine-tuning comparison, a task
curriculum its stages' validation curves (Fig. 4), and PNGs already there (retrieval grids, Fig. 8) are
shown too. Pictures go to ``RUN/report/``; ``RUN/report/index.html`` embeds them, so it can be mailed.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import read_card
from clipcop.engine.run_dir import read_metrics
from clipcop.errors import CheckpointError, MalformedDataError, UsageError
from clipcop.metrics.qa import TYPE_COLUMNS, TYPE_KEYS
from clipcop.outputs import Output, check_outputs, starts_with
from clipcop.report import figures
from clipcop.results import ReportRecord
from clipcop.validation import INT, NUMBER, STR, Fields, Shape, list_of, object_of, optional, read_json

REPORT = "report"
PAGE_START = "<!doctype html><html><head><meta charset='utf-8'><title>clipcop report</title>"
"""How every report page begins (how a later report knows the page as one it may replace)."""


@dataclass
class Section:
    """One part of the page: a heading, pictures, and small tables of numbers."""

    title: str
    pictures: list[Path] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)


@dataclass
class Report:
    """What ``build_report`` wrote."""

    page: Path
    pictures: list[Path]

    def record(self) -> ReportRecord:
        """What ``clipcop report`` prints (:mod:`clipcop.results`)."""
        return ReportRecord(page=str(self.page), pictures=[str(p) for p in self.pictures], count=len(self.pictures))


def _slug(run_dir: Path, folder: Path) -> str:
    rel = folder.relative_to(run_dir).as_posix()
    return "run" if rel == "." else rel.replace("/", "-")


def _chance(folder: Path) -> float | None:
    try:
        tl = read_card(folder / "best.safetensors").tuple_len or 0
    except CheckpointError:
        return None
    return 1 / math.factorial(tl) if tl else None


def _class_row(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class"), str) and NUMBER(value.get("accuracy"))


_WHAT = "run file"
_ACCURACY = object_of(optional(NUMBER))
_ORDER = {
    "per_class": list_of(Shape("a JSON object with a class and an accuracy", _class_row)),
    "accuracy": NUMBER,
    "videos": INT,
}
_ACTION = {"per_class": object_of(NUMBER), "video_accuracy": NUMBER, "clip_accuracy": NUMBER, "videos": INT}
_SCORED = optional(
    Shape("a JSON object with an accuracy object", lambda v: isinstance(v, dict) and _ACCURACY(v.get("accuracy")))
)
_RESULTS = {"best_epoch": optional(INT), "val": _SCORED, "test": _SCORED, "majority_baseline": _SCORED}
_TOPK = Shape("a JSON object of top-k accuracies", lambda v: object_of(NUMBER)(v) and all(k.isdigit() for k in v))
_MODELS = ("VCOP", "random")


def _per_model(item: Shape) -> Shape:
    """A JSON object with an ``item`` for each of VCOP and random initialisation (a demo's comparison)."""
    return Shape(
        f"a JSON object of {item.noun.removeprefix('a ')}s for VCOP and random",
        lambda v: object_of(item)(v) and all(m in v for m in _MODELS),
    )


_SUMMARY = {"retrieval": _per_model(_TOPK), "finetune": _per_model(NUMBER), "order_accuracy": NUMBER, "chance": NUMBER}
_STAGE = {"tuple_len": INT, "epochs": INT, "val_acc": NUMBER, "test_acc": NUMBER, "run_dir": STR}


def _read(path: Path, shapes: dict[str, Shape], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object in ``path``, every field of ``shapes`` present of its shape and ``required`` ones
    there (or one line naming the file and the field)."""
    fields = Fields(read_json(path, _WHAT, error=MalformedDataError), path, _WHAT, error=MalformedDataError)
    return fields.check(shapes, required=required)


def _read_summary(path: Path) -> dict[str, Any] | list[dict[str, Any]]:
    """A demo's ``summary.json`` (an object) or a task curriculum's (a list of stages), checked."""
    data = read_json(path, _WHAT, error=MalformedDataError)
    if isinstance(data, list):
        for number, stage in enumerate(data):
            Fields(stage, path, _WHAT, prefix=f"stage {number}:", error=MalformedDataError).check(
                _STAGE, required=tuple(_STAGE)
            )
        return data
    fields = Fields(data, path, _WHAT, error=MalformedDataError)
    return fields.check(_SUMMARY, required=("order_accuracy", "chance") if "retrieval" in data else ())


def _run_sections(run_dir: Path, out: Path) -> list[Section]:
    sections = []
    for metrics in sorted(run_dir.rglob("metrics.jsonl")):
        folder = metrics.parent
        if out in folder.parents:
            continue
        name = _slug(run_dir, folder)
        history = read_metrics(folder)
        if not history:
            continue
        section = Section(f"{name}: training")
        section.pictures.append(
            figures.training_curves(history, f"{name}: loss and accuracy", out / f"curves-{name}.png")
        )
        section.tables.append(_epoch_table(history, _best_epoch(folder, history)))
        order = folder / "test_order_accuracy.json"
        if order.is_file():
            data = _read(order, _ORDER, ("accuracy", "videos"))
            if data.get("per_class"):
                section.pictures.append(
                    figures.per_class_bars(
                        data["per_class"],
                        _chance(folder),
                        f"{name}: test order accuracy per class (Fig. 5)",
                        out / f"order-per-class-{name}.png",
                    )
                )
            section.tables.append(
                (["test order accuracy", "videos"], [[f"{100 * data['accuracy']:.1f}%", str(data["videos"])]])
            )
        action = folder / "test_accuracy.json"
        if action.is_file():
            data = _read(action, _ACTION, tuple(_ACTION))
            rows = [{"class": c, "accuracy": a} for c, a in data["per_class"].items()]
            section.pictures.append(
                figures.per_class_bars(
                    rows, None, f"{name}: action recognition per class", out / f"action-per-class-{name}.png"
                )
            )
            section.tables.append(
                (
                    ["test video accuracy", "test clip accuracy", "videos"],
                    [
                        [
                            f"{100 * data['video_accuracy']:.1f}%",
                            f"{100 * data['clip_accuracy']:.1f}%",
                            str(data["videos"]),
                        ]
                    ],
                )
            )
        results = folder / "results.json"
        if results.is_file():
            section.tables.append(_qa_table(_read(results, _RESULTS)))
        sections.append(section)
    return sections


def _best_epoch(folder: Path, history: list[dict[str, Any]]) -> int:
    """The epoch a run kept: recorded per epoch (pretrain, finetune) or in ``results.json`` (video QA)."""
    best = history[-1].get("best_epoch")
    results = folder / "results.json"
    if best is None and results.is_file():
        best = _read(results, _RESULTS).get("best_epoch")
    if best is None:
        best = min(history, key=lambda h: h.get("val_loss", math.inf))["epoch"]
    return int(best)


def _epoch_table(history: list[dict[str, Any]], best_epoch: int) -> tuple[list[str], list[list[str]]]:
    """Epochs run and the kept epoch's validation numbers, as far as the run recorded them."""
    best = next((h for h in history if h["epoch"] == best_epoch), history[-1])
    header, row = ["epochs", "best epoch"], [str(len(history)), str(best["epoch"])]
    if "val_loss" in best:
        header.append("val loss")
        row.append(f"{best['val_loss']:.4f}")
    if "val_acc" in best:
        header.append("val acc")
        row.append(f"{100 * best['val_acc']:.1f}%")
    if "throughput" in history[-1]:
        header.append("samples/s")
        row.append(f"{history[-1]['throughput']:.1f}")
    return header, [row]


def _qa_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Video QA accuracy per question type (Table VI layout) of each split a ``vqa train`` run scored."""
    rows = []
    for name, label in (("val", "val"), ("test", "test"), ("majority_baseline", "majority")):
        scored = results.get(name)
        if isinstance(scored, dict):
            rows.append([label, *(_percent(scored["accuracy"].get(key)) for key in (*TYPE_KEYS, "free", "all"))])
    return ["video QA", *TYPE_COLUMNS, "Free", "All"], rows


def _percent(value: object) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, float | int) and math.isfinite(value) else "-"


def _summary_sections(run_dir: Path, out: Path) -> list[Section]:
    sections = []
    for summary in sorted(run_dir.rglob("summary.json")):
        if out in summary.parents:
            continue
        data = _read_summary(summary)
        name = _slug(run_dir, summary.parent)
        if isinstance(data, dict) and data.get("retrieval"):
            section = Section(f"{name}: VCOP against random initialisation")
            curves = {model: {int(k): v for k, v in acc.items()} for model, acc in data["retrieval"].items()}
            section.pictures.append(
                figures.topk_curves(curves, "video-level retrieval (Fig. 7)", out / f"topk-{name}.png")
            )
            if data.get("finetune"):
                section.pictures.append(
                    figures.grouped_bars(
                        data["finetune"],
                        "fine-tuned action recognition (Table V)",
                        "test video accuracy (%)",
                        out / f"finetune-{name}.png",
                    )
                )
            rows = [
                [
                    "order accuracy (tl=3)",
                    f"{100 * data['order_accuracy']:.1f}%",
                    f"{100 * data['chance']:.1f}% (chance)",
                ]
            ]
            for k in sorted(curves.get("VCOP", {})):
                rows.append(
                    [f"video retrieval top-{k}", _percent(curves["VCOP"][k]), _percent(curves["random"].get(k))]
                )
            if data.get("finetune"):
                rows.append(
                    [
                        "fine-tuned video accuracy",
                        f"{100 * data['finetune']['VCOP']:.1f}%",
                        f"{100 * data['finetune']['random']:.1f}%",
                    ]
                )
            section.tables.append((["measure", "VCOP", "random init"], rows))
            sections.append(section)
        elif isinstance(data, list) and data and "tuple_len" in data[0]:
            section = Section(f"{name}: task-based curriculum")
            stages: dict[str, list[float]] = {
                f"tl={s['tuple_len']}": [m["val_acc"] for m in read_metrics(Path(s["run_dir"]))] for s in data
            }
            section.pictures.append(
                figures.accuracy_curves(
                    stages, None, "validation order accuracy per stage (Fig. 4)", out / f"curriculum-{name}.png"
                )
            )
            section.tables.append(
                (
                    ["stage", "epochs", "val order acc", "test order acc"],
                    [
                        [
                            f"tl={s['tuple_len']}",
                            str(s["epochs"]),
                            f"{100 * s['val_acc']:.1f}%",
                            f"{100 * s['test_acc']:.1f}%",
                        ]
                        for s in data
                    ],
                )
            )
            sections.append(section)
    return sections


def _embed(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.name)}" title="{html.escape(path.name)}">'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def build_report(run_dir: str | Path) -> Report:
    """Draw every picture the run folder's files allow and write ``report/index.html``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist")
    figures.require_matplotlib()
    out = run_dir / REPORT
    check_outputs([Output("report", out / "index.html", "a clipcop report page", starts_with(PAGE_START))], {})
    made = not out.exists()
    out.mkdir(exist_ok=True)
    try:
        sections = _summary_sections(run_dir, out) + _run_sections(run_dir, out)
        extra = [p for p in sorted(run_dir.rglob("*.png")) if out not in p.parents]
        if extra:
            sections.append(Section("pictures in the run folder", pictures=extra))
        if not sections:
            raise UsageError(f"{run_dir} holds no clipcop run files (metrics.jsonl, summary.json, ...)")
    except BaseException:
        if made and not any(out.iterdir()):
            out.rmdir()  # a folder that is not a run (a data folder, say) keeps no empty report/ of ours
        raise
    parts = [f"<h1>clipcop report: {html.escape(str(run_dir))}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.extend(_table(h, r) for h, r in section.tables)
        parts.extend(_embed(p) for p in section.pictures)
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%;display:block;"
        "margin:8px 0}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px}"
    )
    head = f"<style>{style}</style></head>"
    page = f"{PAGE_START}{head}<body>{''.join(parts)}</body></html>"
    write_text_atomic(out / "index.html", page)
    pictures = [p for s in sections for p in s.pictures if out in p.parents]
    return Report(out / "index.html", pictures)


__all__ = ["Report", "build_report"]
