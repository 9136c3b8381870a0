"""Collecting what a run folder holds into pictures and one self-contained HTML page.

Any clipcop run folder works: a pretraining, fine-tuning or video QA run, a curriculum folder of stages, or
a demo folder holding several runs. The page follows the paper's order: pretraining (training curves,
order accuracy per class, Fig. 5), the curriculum (Fig. 4), retrieval (top-k curves of a demo summary,
Figs. 6-7; top-k by layer from ``clipcop retrieve --layer all --json`` records saved as ``*.json``,
Table IV; retrieval grids already there, Fig. 8), fine-tuning (curves, per-class bars with VCOP and
random initialisation side by side, confusion matrices, Table V) and video QA (Table VI). Every picture
has a caption; a provenance block names the clipcop version, the report command and each run's own
command and settings (its ``config.toml``). Pictures go to ``RUN/report/``; ``RUN/report/index.html``
embeds them, so it can be mailed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.engine.checkpoint import read_card
from clipcop.engine.run_dir import SETTINGS, read_metrics
from clipcop.errors import CheckpointError, MalformedDataError, UsageError
from clipcop.metrics.qa import TYPE_COLUMNS, TYPE_KEYS
from clipcop.outputs import Output as Guarded
from clipcop.outputs import check_outputs, starts_with
from clipcop.report import figures
from clipcop.report.figures import Output
from clipcop.report.page import Picture, Section, write_page
from clipcop.results import ReportRecord
from clipcop.validation import INT, NUMBER, STR, Fields, Shape, list_of, malformed, object_of, optional, read_json

REPORT = "report"
ORDER = ("pretrain", "curriculum", "retrieval", "finetune", "vqa")
"""The page's parts, in the paper's order."""
TITLES = {
    "pretrain": "Pretraining: video clip order prediction (Sec. IV-A)",
    "curriculum": "Curriculum learning (Sec. III-C, Fig. 4)",
    "retrieval": "Nearest-neighbour retrieval (Sec. IV-B, Table IV, Figs. 6-8)",
    "finetune": "Fine-tuning for action recognition (Sec. IV-C, Table V)",
    "vqa": "Video question answering (Sec. IV-D, Table VI)",
}
LAYER_KS = (1, 5, 10)
"""The k shown in the by-layer picture: all three for one model, top-1 and top-5 for two, top-1 for more
(every k is in the table under it)."""
PAGE_START = "<!doctype html><html><head><meta charset='utf-8'><title>clipcop report"
"""How every report page begins (how a later report knows the page as one it may replace)."""


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
_LAYERS = object_of(object_of(_TOPK))
"""A ``retrieve --layer`` record's ``layers``: top-k accuracies by layer and level."""
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


@dataclass
class Report:
    """What ``build_report`` wrote."""

    page: Path
    pictures: list[Path]

    def record(self) -> ReportRecord:
        """What ``clipcop report`` prints (:mod:`clipcop.results`)."""
        return ReportRecord(page=str(self.page), pictures=[str(p) for p in self.pictures], count=len(self.pictures))


@dataclass
class Collected:
    """The sections found so far, by part of the page."""

    parts: dict[str, list[Section]] = field(default_factory=lambda: {part: [] for part in ORDER})

    def add(self, part: str, section: Section) -> None:
        self.parts[part].append(section)

    def ordered(self) -> list[Section]:
        return [section for part in ORDER for section in self.parts[part]]


def _slug(run_dir: Path, folder: Path) -> str:
    rel = folder.relative_to(run_dir).as_posix()
    return "run" if rel == "." else rel.replace("/", "-")


def _card_kind(folder: Path) -> tuple[str | None, float | None]:
    """The kind of a run's best checkpoint (vcop, finetune, vqa) and its order chance (1/tl!)."""
    try:
        card = read_card(folder / "best.safetensors")
    except CheckpointError:
        return None, None
    tl = card.tuple_len or 0
    return card.kind, (1 / math.factorial(tl) if tl and card.kind == "vcop" else None)


def _part_of(folder: Path, kind: str | None) -> str:
    """Which part of the page a run folder belongs to: by its checkpoint, else by its result files."""
    if kind in ("vcop", "finetune", "vqa"):
        return {"vcop": "pretrain", "finetune": "finetune", "vqa": "vqa"}[kind]
    if (folder / "test_accuracy.json").is_file():
        return "finetune"
    if (folder / "results.json").is_file():
        return "vqa"
    return "pretrain"


def _inside(out: Path, path: Path) -> bool:
    return out in path.parents


def _run_sections(run_dir: Path, out: Output, found: Collected, stages: set[Path]) -> None:
    """A section per run folder (``metrics.jsonl``): its curves and test results, in its part of the page."""
    for metrics in sorted(run_dir.rglob("metrics.jsonl")):
        folder = metrics.parent
        history = read_metrics(folder)
        if _inside(out.folder, folder) or not history:
            continue
        name = _slug(run_dir, folder)
        kind, chance = _card_kind(folder)
        part = "curriculum" if folder.resolve() in stages else _part_of(folder, kind)
        section = Section(f"{name}: training", provenance=_provenance(folder))
        caption = f"{name}: loss (left axis) and accuracy (right axis) per epoch, training and validation."
        section.add(figures.training_curves(history, f"{name}: loss and accuracy", out, f"curves-{name}"), caption)
        section.tables.append(_epoch_table(history, _best_epoch(folder, history)))
        _order_results(folder, name, chance, out, section)
        _action_results(folder, name, out, section)
        results = folder / "results.json"
        if results.is_file():
            section.tables.append(_qa_table(_read(results, _RESULTS)))
        found.add(part, section)


def _order_results(folder: Path, name: str, chance: float | None, out: Output, section: Section) -> None:
    """Test order accuracy (per class: Fig. 5) of a pretraining run."""
    order = folder / "test_order_accuracy.json"
    if not order.is_file():
        return
    data = _read(order, _ORDER, ("accuracy", "videos"))
    if data.get("per_class"):
        per_class = {row["class"]: row["accuracy"] for row in data["per_class"]}
        picture = figures.per_class_bars(
            {name: per_class}, chance, f"{name}: test order accuracy per class (Fig. 5)", out, f"order-per-class-{name}"
        )
        section.add(picture, "Test order accuracy per class (Fig. 5), best first; the dotted line is chance.")
    section.tables.append(
        (["test order accuracy", "videos"], [[f"{100 * data['accuracy']:.1f}%", str(data["videos"])]])
    )


def _action_results(folder: Path, name: str, out: Output, section: Section) -> None:
    """Test accuracy of a fine-tuned run and its confusion matrix (``confusion_matrix.csv``)."""
    action = folder / "test_accuracy.json"
    if action.is_file():
        data = _read(action, _ACTION, tuple(_ACTION))
        section.tables.append(
            (
                ["test video accuracy", "test clip accuracy", "videos"],
                [[_percent(data["video_accuracy"]), _percent(data["clip_accuracy"]), str(data["videos"])]],
            )
        )
    matrix = folder / "confusion_matrix.csv"
    if matrix.is_file():
        classes, counts = read_confusion(matrix)
        title = f"{name}: test confusion matrix ({len(classes)} classes)"
        picture = figures.confusion_heatmap(classes, counts, title, out, f"confusion-{name}")
        section.add(picture, "Test confusion matrix: each row is a true class, as % of its test videos.")


def read_confusion(path: Path) -> tuple[list[str], np.ndarray]:
    """A ``confusion_matrix.csv`` (header ``true \\ predicted``, then a row per true class)."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    classes = rows[0][1:] if rows else []
    if not classes or len(rows) != len(classes) + 1 or any(len(row) != len(classes) + 1 for row in rows):
        raise malformed(
            path, "confusion matrix", "it is not a square table with a header row", error=MalformedDataError
        )
    try:
        counts = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
    except ValueError as err:
        raise malformed(path, "confusion matrix", str(err), error=MalformedDataError) from None
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise malformed(path, "confusion matrix", "a count is negative or not finite", error=MalformedDataError)
    return classes, counts


def _per_class_comparison(run_dir: Path, out: Output, found: Collected) -> None:
    """Fine-tuned runs over one class list (VCOP and random initialisation of a demo): one per-class chart,
    side by side in one class order, with chance (one over the number of classes)."""
    runs: dict[str, dict[str, float]] = {}
    for action in sorted(run_dir.rglob("test_accuracy.json")):
        if _inside(out.folder, action):
            continue
        data = _read(action, _ACTION)
        runs[_slug(run_dir, action.parent)] = dict(data.get("per_class", {}))
    runs = {name: values for name, values in sorted(runs.items(), key=lambda item: "random" in item[0]) if values}
    if not runs:
        return
    classes = {name for values in runs.values() for name in values}
    chance = 1 / len(classes)
    names = " vs ".join(runs)
    section = Section(f"fine-tuning per class: {names}")
    picture = figures.per_class_bars(runs, chance, f"test video accuracy per class: {names}", out, "action-per-class")
    first = next(iter(runs))
    section.add(
        picture,
        f"Test video accuracy per class after fine-tuning, {names} side by side in one class order (best first by "
        f"{first}); the dotted line is chance ({100 * chance:.1f}%). The numbers: action-per-class.csv.",
    )
    found.add("finetune", section)


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


def _demo_sections(run_dir: Path, out: Output, found: Collected, stages: set[Path]) -> None:
    """A demo summary (retrieval and fine-tuning, VCOP against random) or a curriculum summary (Fig. 4)."""
    for summary in sorted(run_dir.rglob("summary.json")):
        if _inside(out.folder, summary):
            continue
        data = _read_summary(summary)
        name = _slug(run_dir, summary.parent)
        if isinstance(data, dict) and data.get("retrieval"):
            _demo_retrieval(data, name, out, found)
        elif isinstance(data, list) and data and "tuple_len" in data[0]:
            stages.update(Path(s["run_dir"]).resolve() for s in data)
            _curriculum(data, name, out, found)


def _demo_retrieval(data: dict[str, Any], name: str, out: Output, found: Collected) -> None:
    curves = {model: {int(k): v for k, v in acc.items()} for model, acc in data["retrieval"].items()}
    section = Section(f"{name}: video retrieval, VCOP against random initialisation")
    picture = figures.topk_curves(curves, "video-level retrieval (Fig. 7)", out, f"topk-{name}")
    section.add(picture, "Top-k video retrieval accuracy (test videos query training videos, mean of 10 clips).")
    rows = [[f"video retrieval top-{k}", *(_percent(curves[m].get(k)) for m in curves)] for k in sorted(curves["VCOP"])]
    rows.insert(0, ["order accuracy (tl=3)", _percent(data["order_accuracy"]), f"{_percent(data['chance'])} (chance)"])
    section.tables.append((["measure", *curves], rows))
    found.add("retrieval", section)
    if data.get("finetune"):
        tuned = Section(f"{name}: fine-tuned from VCOP and from random initialisation")
        picture = figures.grouped_bars(
            data["finetune"],
            "fine-tuned action recognition (Table V)",
            "test video accuracy (%)",
            out,
            f"finetune-{name}",
        )
        tuned.add(picture, "Test video accuracy after the same fine-tuning from each initialisation (Table V).")
        tuned.tables.append(
            (["initialisation", "test video accuracy"], [[m, _percent(v)] for m, v in data["finetune"].items()])
        )
        found.add("finetune", tuned)


def _curriculum(data: list[dict[str, Any]], name: str, out: Output, found: Collected) -> None:
    section = Section(f"{name}: task-based curriculum")
    stages: dict[str, list[float]] = {
        f"tl={s['tuple_len']}": [m["val_acc"] for m in read_metrics(Path(s["run_dir"]))] for s in data
    }
    chances = {f"tl={s['tuple_len']}": 1 / math.factorial(int(s["tuple_len"])) for s in data}
    picture = figures.accuracy_curves(
        stages, chances, "validation order accuracy per stage (Fig. 4)", out, f"curriculum-{name}"
    )
    section.add(picture, "Validation order accuracy per epoch of each stage; dotted: each stage's chance (1/tl!).")
    rows = [[f"tl={s['tuple_len']}", str(s["epochs"]), _percent(s["val_acc"]), _percent(s["test_acc"])] for s in data]
    section.tables.append((["stage", "epochs", "val order acc", "test order acc"], rows))
    found.add("curriculum", section)


def layer_records(run_dir: Path, out: Output) -> dict[str, dict[str, Any]]:
    """``clipcop retrieve --layer all --json`` outputs saved in the run folder, by file name."""
    records = {}
    for path in sorted(run_dir.rglob("*.json")):
        if _inside(out.folder, path):
            continue
        try:
            data = read_json(path, _WHAT, error=MalformedDataError)
        except MalformedDataError:
            continue  # not every JSON file in a run folder is a record, nor readable
        if isinstance(data, dict) and data.get("command") == "retrieve" and data.get("layers") is not None:
            Fields(data, path, "retrieve record", error=MalformedDataError).get("layers", _LAYERS)
            records[path.stem] = data
    return dict(sorted(records.items(), key=lambda item: "random" in item[0]))


def _layer_section(run_dir: Path, out: Output, found: Collected) -> None:
    """Top-k by layer (Table IV) of every saved ``retrieve --layer`` record, one colour per file."""
    records = layer_records(run_dir, out)
    if not records:
        return
    tables = {
        name: {
            layer: {level: {int(k): v for k, v in acc.items()} for level, acc in levels.items()}
            for layer, levels in data["layers"].items()
        }
        for name, data in records.items()
    }
    all_ks = sorted({k for t in tables.values() for levels in t.values() for acc in levels.values() for k in acc})
    lines = max(1, len(LAYER_KS) - len(tables) + 1)  # fewer k per model as models are added: a readable plot
    shown = ([k for k in LAYER_KS if k in all_ks] or all_ks)[:lines]
    section = Section("retrieval by layer (Table IV)")
    picture = figures.layer_curves(tables, shown, "retrieval top-k accuracy by layer (Table IV)", out, "layers")
    section.add(
        picture,
        f"Top-{'/'.join(map(str, shown))} retrieval accuracy of each layer's features (saved `clipcop retrieve "
        f"--layer all --json` outputs: {', '.join(f'{n}.json' for n in tables)}).",
    )
    header = ["file", "layer", "level", *(f"top-{k}" for k in all_ks)]
    rows = [
        [name, layer, level, *(_percent(acc.get(k)) for k in all_ks)]
        for name, table in tables.items()
        for layer, levels in table.items()
        for level, acc in levels.items()
    ]
    section.tables.append((header, rows))
    found.add("retrieval", section)


def _grid_pictures(run_dir: Path, out: Output, found: Collected) -> None:
    """Pictures already in the run folder (retrieval grids, Fig. 8), shown as they are."""
    extra = [p for p in sorted(run_dir.rglob("*")) if p.suffix in (".png", ".svg") and not _inside(out.folder, p)]
    if not extra:
        return
    section = Section("pictures in the run folder")
    for path in extra:
        caption = path.relative_to(run_dir).as_posix()
        if path.name.startswith("retrieval-samples"):
            caption += (
                ": test queries (left) and their nearest training videos by rank (Fig. 8), frames across each "
                "video; green: same class as the query, red: another class."
            )
        section.pictures.append(Picture(path, caption))
    found.add("retrieval", section)


def _provenance(folder: Path) -> tuple[str, str] | None:
    """A run's command (from the header of its ``config.toml``) and its settings, when it wrote them."""
    settings = folder / SETTINGS
    if not settings.is_file():
        return None
    text = settings.read_text()
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
    command = next((line for line in lines if line.startswith("clipcop ") and "--config" in line), "")
    return command, text


def build_report(
    run_dir: str | Path, *, fmt: str = "png", dpi: int = figures.DPI, command: str | None = None
) -> Report:
    """Draw every picture the run folder's files allow (``fmt``: png, svg or pdf, at ``dpi``) and write
    ``report/index.html``; ``command`` is what the page names as the command that made it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist")
    figures.require_matplotlib()
    out = Output(run_dir / REPORT, fmt, dpi)
    check_outputs([Guarded("report", out.folder / "index.html", "a clipcop report page", starts_with(PAGE_START))], {})
    made = not out.folder.exists()
    out.folder.mkdir(exist_ok=True)
    found = Collected()
    try:
        stages: set[Path] = set()
        _demo_sections(run_dir, out, found, stages)
        _run_sections(run_dir, out, found, stages)
        _per_class_comparison(run_dir, out, found)
        _layer_section(run_dir, out, found)
        _grid_pictures(run_dir, out, found)
        if not found.ordered():
            raise UsageError(f"{run_dir} holds no clipcop run files (metrics.jsonl, summary.json, ...)")
    except BaseException:
        if made and not any(out.folder.iterdir()):
            out.folder.rmdir()  # a folder that is not a run (a data folder, say) keeps no empty report/ of ours
        raise
    command = command or f"clipcop report {run_dir} --format {fmt} --dpi {dpi}"
    parts = [(TITLES[part], found.parts[part]) for part in ORDER if found.parts[part]]
    page = write_page(out, run_dir, parts, command)
    pictures = [p.path for _, sections in parts for s in sections for p in s.pictures if _inside(out.folder, p.path)]
    return Report(page, pictures)


__all__ = ["Report", "build_report"]
