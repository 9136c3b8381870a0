"""Every command's result as a typed record: the one JSON object ``--json`` prints, and its documented schema.

One frozen dataclass per command (two for ``retrieve``: with and without ``--query``); each field carries a
one-line meaning. :func:`to_json` turns a record into the printed object and adds ``command``,
``schema_version`` and ``clipcop_version``; :func:`schema` lists the fields (``docs/cli.md`` is generated
from it) and :func:`validate` checks an object against it. The library's result objects make their records
(e.g. :meth:`clipcop.workflows.pretrain.PretrainResult.record`).

Rules every record follows:

- Accuracies are fractions in [0, 1] (marked ``fraction``); a NaN (no questions of a type) prints as null.
- Paths the command wrote: folders end in ``_dir`` (``run_dir``, ``data_dir``, ``qa_dir``, ``cache_dir``);
  files are named for what they hold (``checkpoint``, ``features``, ``manifest``, ``predictions``,
  ``page``, ``summary``, ``grid``, ``index``, ``neighbours_csv``). A key marked ``when`` is present only
  in that case (e.g. ``grid`` when the picture was written).
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from clipcop._version import __version__

SCHEMA_VERSION = 1
"""Raised when a key of a printed object is renamed, removed or changes meaning; new keys keep it."""

ENVELOPE = ("command", "schema_version", "clipcop_version")
"""The keys every ``--json`` object starts with."""


def doc(text: str, *, fraction: bool = False, when: str | None = None, lines: bool = False) -> dict[str, Any]:
    """A record field's metadata: its one-line meaning; ``fraction`` marks accuracies (every number in it in
    [0, 1]); ``when`` makes the key optional (present only in that case, absent otherwise; such a field
    defaults to None); ``lines`` shows a nested object in the plain ``key: value`` output too, one dotted key
    per number."""
    return {"doc": text, "fraction": fraction, "when": when, "lines": lines}


class Record:
    """Base of the command records; ``COMMAND`` is the command path (``"data synth"``)."""

    COMMAND: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    """Which form of the command's result this is, when it has several (``retrieve --query``)."""


# --- nested parts -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubsetCounts:
    """One subset of a split, as ``data index`` found it."""

    videos: int = field(metadata=doc("Videos the split lists."))
    usable: int = field(metadata=doc("Videos readable and long enough for the cl/it/tl span."))
    classes: int = field(metadata=doc("Classes among the usable videos."))
    unreadable: dict[str, str] = field(metadata=doc("Unreadable video -> why."))
    too_short: dict[str, int] = field(metadata=doc("Video too short for the span -> its frames."))


@dataclass(frozen=True, kw_only=True)
class StageSummary:
    """One stage of the task curriculum."""

    tuple_len: int = field(metadata=doc("Clips per tuple of this stage."))
    run_dir: str = field(metadata=doc("The stage's run folder (`OUT/tlN`)."))
    checkpoint: str = field(metadata=doc("The stage's best checkpoint."))
    epochs: int = field(metadata=doc("Epochs the stage trained."))
    best_epoch: int = field(metadata=doc("Epoch of the lowest validation loss."))
    val_order_accuracy: float | None = field(
        metadata=doc("Validation order accuracy at the best epoch.", fraction=True)
    )
    test_order_accuracy: float | None = field(
        metadata=doc("Test order accuracy of the best checkpoint.", fraction=True)
    )


@dataclass(frozen=True, kw_only=True)
class Neighbour:
    """One gallery video near a ``retrieve --query`` video."""

    rank: int = field(metadata=doc("1 for the nearest."))
    similarity: float = field(metadata=doc("Cosine similarity to the query video."))
    video: str = field(metadata=doc("Gallery video id."))
    class_name: str = field(metadata=doc("Its class ('' when unlabelled)."))


@dataclass(frozen=True, kw_only=True)
class QAScores:
    """Video QA accuracy per question type (Table VI) and the questions it was measured on."""

    accuracy: dict[str, float | None] = field(
        metadata=doc("Per type (motion .. other), then free and all; null for a type without questions.", fraction=True)
    )
    questions: dict[str, int] = field(metadata=doc("Questions per type, free and all."))


# --- one record per command ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SynthRecord(Record):
    """``clipcop data synth``."""

    COMMAND: ClassVar[str] = "data synth"
    data_dir: str = field(metadata=doc("The dataset folder written (UCF101 layout)."))
    videos: int = field(metadata=doc("Videos written."))
    classes: int = field(metadata=doc("Motion classes."))
    qa_dir: str | None = field(default=None, metadata=doc("The question folder written.", when="--qa"))
    questions: int | None = field(default=None, metadata=doc("Questions written over all splits.", when="--qa"))
    questions_per_split: dict[str, int] | None = field(default=None, metadata=doc("Questions per split.", when="--qa"))


@dataclass(frozen=True, kw_only=True)
class IndexRecord(Record):
    """``clipcop data index``."""

    COMMAND: ClassVar[str] = "data index"
    data: str = field(metadata=doc("The dataset folder."))
    layout: str = field(metadata=doc("ucf101, hmdb51 or folder."))
    split: int = field(metadata=doc("The split indexed."))
    classes: int = field(metadata=doc("Classes of the dataset."))
    manifest: str = field(metadata=doc("The probe manifest written (or reused)."))
    probed: int = field(metadata=doc("Videos probed now."))
    reused: int = field(metadata=doc("Videos whose probe the manifest already held."))
    span: int = field(metadata=doc("Frames one cl/it/tl tuple spans."))
    train: SubsetCounts = field(metadata=doc("The training subset."))
    test: SubsetCounts = field(metadata=doc("The test subset."))
    missing: list[str] = field(metadata=doc("Listed videos not found on disk."))
    notes: list[str] = field(metadata=doc("What was assumed about the layout."))
    warnings: list[str] = field(metadata=doc("What looks wrong with the dataset."))


@dataclass(frozen=True, kw_only=True)
class CacheRecord(Record):
    """``clipcop data cache``."""

    COMMAND: ClassVar[str] = "data cache"
    cache_dir: str = field(metadata=doc("The frame cache folder."))
    videos: int = field(metadata=doc("Videos of the split (train and test)."))
    written: int = field(metadata=doc("Videos decoded now (the others were cached already)."))
    mib_written: float = field(metadata=doc("MiB written now."))
    failed: int = field(metadata=doc("Videos that failed to decode."))
    failed_videos: list[str] = field(metadata=doc("Those videos."))


@dataclass(frozen=True, kw_only=True)
class PretrainRecord(Record):
    """``clipcop pretrain``."""

    COMMAND: ClassVar[str] = "pretrain"
    run_dir: str = field(metadata=doc("The run folder."))
    checkpoint: str = field(metadata=doc("Its best checkpoint (lowest validation loss)."))
    best_epoch: int = field(metadata=doc("Epoch of the best checkpoint."))
    val_loss: float | None = field(metadata=doc("Validation loss of the best checkpoint."))
    test_order_accuracy: float = field(metadata=doc("Test order accuracy of the best checkpoint.", fraction=True))
    per_class: dict[str, float] = field(metadata=doc("Test order accuracy per class.", fraction=True))
    skipped: dict[str, int] = field(metadata=doc("Listed videos left out: missing, unreadable, too_short."))


@dataclass(frozen=True, kw_only=True)
class CurriculumTaskRecord(Record):
    """``clipcop curriculum task``."""

    COMMAND: ClassVar[str] = "curriculum task"
    run_dir: str = field(metadata=doc("The curriculum folder (one run folder per stage)."))
    checkpoint: str = field(metadata=doc("The last stage's best checkpoint."))
    stages: list[StageSummary] = field(metadata=doc("One entry per stage, in training order."))


@dataclass(frozen=True, kw_only=True)
class CurriculumSampleRecord(Record):
    """``clipcop curriculum sample``."""

    COMMAND: ClassVar[str] = "curriculum sample"
    run_dir: str = field(metadata=doc("The curriculum folder."))
    kept: int = field(metadata=doc("Hard training videos kept."))
    dropped: int = field(metadata=doc("Easy training videos dropped."))
    dropped_per_class: dict[str, int] = field(metadata=doc("Dropped videos per class."))
    kept_per_class: dict[str, int] = field(metadata=doc("Kept videos per class."))
    checkpoint: str | None = field(
        default=None, metadata=doc("Best checkpoint of the run on the hard videos.", when="any video was kept")
    )
    test_order_accuracy: float | None = field(
        default=None, metadata=doc("Test order accuracy of that checkpoint.", fraction=True, when="any video was kept")
    )
    plain_test_order_accuracy: float | None = field(
        default=None,
        metadata=doc("Test order accuracy of the run on all videos.", fraction=True, when="--compare-plain"),
    )


@dataclass(frozen=True, kw_only=True)
class ExtractRecord(Record):
    """``clipcop extract``."""

    COMMAND: ClassVar[str] = "extract"
    features: str = field(metadata=doc("The feature file written (or reused)."))
    videos: int = field(metadata=doc("Videos in it."))
    clips: int = field(metadata=doc("Clips per video."))
    dim: int = field(metadata=doc("Feature size."))
    failed: int = field(metadata=doc("Videos that failed to decode (zero features, flagged in the file)."))
    failed_videos: list[str] = field(metadata=doc("Those videos."))
    skipped: dict[str, int] = field(metadata=doc("Listed videos left out: missing, unreadable, too_short."))


@dataclass(frozen=True, kw_only=True)
class RetrieveRecord(Record):
    """``clipcop retrieve`` (test queries against a train gallery, or two feature files)."""

    COMMAND: ClassVar[str] = "retrieve"
    TITLE: ClassVar[str] = "without --query"
    accuracy: dict[str, dict[str, float]] = field(
        metadata=doc(
            'Top-k accuracy per level and k: {"clip": {"1": 0.37, "5": ...}, "video": {...}}.',
            fraction=True,
            lines=True,
        )
    )
    approximate: bool = field(metadata=doc("Whether the index was approximate (ivf, hnsw)."))
    queries: dict[str, int] = field(metadata=doc("Queries per level."))
    gallery: dict[str, int] = field(metadata=doc("Gallery items per level."))
    neighbours_csv: str | None = field(
        default=None, metadata=doc("The CSV of every query's nearest gallery items.", when="--neighbours")
    )
    grid: str | None = field(default=None, metadata=doc("The PNG of queries and their top neighbours.", when="--grid"))
    index: str | None = field(
        default=None, metadata=doc("The FAISS index written (+ .json metadata beside it).", when="--save-index")
    )


@dataclass(frozen=True, kw_only=True)
class QueryRecord(Record):
    """``clipcop retrieve --query VIDEO``."""

    COMMAND: ClassVar[str] = "retrieve"
    TITLE: ClassVar[str] = "with --query"
    query: str = field(metadata=doc("The query video."))
    neighbours: list[Neighbour] = field(metadata=doc("Nearest gallery videos, nearest first."))


@dataclass(frozen=True, kw_only=True)
class FinetuneRecord(Record):
    """``clipcop finetune``."""

    COMMAND: ClassVar[str] = "finetune"
    run_dir: str = field(metadata=doc("The run folder."))
    checkpoint: str = field(metadata=doc("Its best checkpoint (lowest validation loss)."))
    best_epoch: int = field(metadata=doc("Epoch of the best checkpoint."))
    test_video_accuracy: float = field(metadata=doc("Test accuracy per video (clip softmax averaged).", fraction=True))
    test_clip_accuracy: float = field(metadata=doc("Test accuracy per clip.", fraction=True))
    per_class: dict[str, float] = field(metadata=doc("Test video accuracy per class.", fraction=True))
    skipped: dict[str, int] = field(metadata=doc("Listed videos left out: missing, unreadable, too_short."))


@dataclass(frozen=True, kw_only=True)
class InfoRecord(Record):
    """``clipcop info``."""

    COMMAND: ClassVar[str] = "info"
    checkpoint: str = field(metadata=doc("The checkpoint read."))
    kind: str = field(metadata=doc("vcop, finetune or vqa."))
    metadata: dict[str, Any] = field(
        metadata=doc("Everything the checkpoint records (`version`: the clipcop that wrote it).")
    )


@dataclass(frozen=True, kw_only=True)
class DemoRecord(Record):
    """``clipcop demo``."""

    COMMAND: ClassVar[str] = "demo"
    run_dir: str = field(metadata=doc("The demo folder."))
    summary: str = field(metadata=doc("summary.json in it (the same numbers)."))
    order_accuracy: float = field(metadata=doc("Test order accuracy of the VCOP model.", fraction=True))
    chance: float = field(metadata=doc("Order accuracy by chance (1/tl!).", fraction=True))
    retrieval: dict[str, dict[str, float]] = field(
        metadata=doc("Video-level top-k retrieval accuracy per initialisation (VCOP, random) and k.", fraction=True)
    )
    finetune: dict[str, float] = field(
        metadata=doc("Fine-tuned test video accuracy per initialisation (without --quick).", fraction=True)
    )


@dataclass(frozen=True, kw_only=True)
class ReportRecord(Record):
    """``clipcop report``."""

    COMMAND: ClassVar[str] = "report"
    page: str = field(metadata=doc("The HTML page written (RUN_DIR/report/index.html)."))
    pictures: list[str] = field(metadata=doc("The PNGs written beside it."))
    count: int = field(metadata=doc("How many PNGs."))


@dataclass(frozen=True, kw_only=True)
class VQATrainRecord(Record):
    """``clipcop vqa train``."""

    COMMAND: ClassVar[str] = "vqa train"
    run_dir: str = field(metadata=doc("The run folder."))
    checkpoint: str = field(metadata=doc("Its best checkpoint (best validation accuracy)."))
    best_epoch: int = field(metadata=doc("Epoch of the best checkpoint."))
    split: str = field(metadata=doc("The split of the reported accuracies: test when it has answers, else val."))
    motion_accuracy: float | None = field(metadata=doc("Accuracy on motion questions of that split.", fraction=True))
    free_accuracy: float | None = field(metadata=doc("Accuracy on free-type questions (types 3-8).", fraction=True))
    all_accuracy: float | None = field(metadata=doc("Accuracy on every question.", fraction=True))
    val: QAScores = field(metadata=doc("Validation scores."))
    test: QAScores | None = field(metadata=doc("Test scores (null without test answers)."))
    majority_baseline: QAScores = field(metadata=doc("The most frequent answer per type, on the reported split."))
    history: list[dict[str, float | None]] = field(
        metadata=doc("Per epoch: epoch, train_loss, val_loss, val_acc (a fraction).")
    )
    issues: dict[str, dict[str, Any]] = field(metadata=doc("Input problems by kind: count and one example."))


@dataclass(frozen=True, kw_only=True)
class VQAEvalRecord(Record):
    """``clipcop vqa eval``."""

    COMMAND: ClassVar[str] = "vqa eval"
    split: str = field(metadata=doc("The split answered."))
    predictions: str = field(metadata=doc("The predictions file written ([{question_id, answer}])."))
    questions: int = field(metadata=doc("Questions answered."))
    motion_accuracy: float | None = field(
        default=None, metadata=doc("Accuracy on motion questions.", fraction=True, when="the split has answers")
    )
    free_accuracy: float | None = field(
        default=None, metadata=doc("Accuracy on free-type questions.", fraction=True, when="the split has answers")
    )
    all_accuracy: float | None = field(
        default=None, metadata=doc("Accuracy on every question.", fraction=True, when="the split has answers")
    )
    scores: QAScores | None = field(metadata=doc("Scores per type (null without answers)."))
    majority_baseline: QAScores | None = field(
        metadata=doc("The most frequent training answer per type (null without answers).")
    )
    issues: dict[str, dict[str, Any]] = field(metadata=doc("Input problems by kind: count and one example."))


RECORDS: tuple[type[Record], ...] = (
    SynthRecord,
    IndexRecord,
    CacheRecord,
    PretrainRecord,
    CurriculumTaskRecord,
    CurriculumSampleRecord,
    ExtractRecord,
    RetrieveRecord,
    QueryRecord,
    FinetuneRecord,
    InfoRecord,
    DemoRecord,
    ReportRecord,
    VQATrainRecord,
    VQAEvalRecord,
)
"""Every record type, in the order of the CLI reference."""

_JSON_NAMES = {"class_name": "class"}
"""Fields whose JSON key is a Python keyword."""


def records_for(command: str) -> tuple[type[Record], ...]:
    """The record types of a command path (``"retrieve"`` has two)."""
    return tuple(r for r in RECORDS if command == r.COMMAND)


# --- to JSON ------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return _JSON_NAMES.get(name, name)


def _value(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _object(value)
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _object(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None and f.metadata.get("when") is not None:
            continue
        out[_key(f.name)] = _value(value)
    return out


def to_json(record: Record) -> dict[str, Any]:
    """The printed object: ``command``, ``schema_version``, ``clipcop_version``, then the record's fields
    (optional ones only when set; NaN and infinity as null)."""
    return {
        "command": record.COMMAND,
        "schema_version": SCHEMA_VERSION,
        "clipcop_version": __version__,
        **_object(record),
    }


def to_lines(record: Record) -> dict[str, Any]:
    """The plain ``key: value`` form: the scalar fields that are set, and fields marked ``lines`` flattened
    to dotted keys (``accuracy.clip.1``)."""
    out: dict[str, Any] = {}
    plain = _object(record)
    for f in fields(record):  # type: ignore[arg-type]
        value = plain.get(_key(f.name))
        if f.metadata.get("lines") and isinstance(value, dict):
            out.update(_dotted(_key(f.name), value))
        elif value is not None and not isinstance(value, dict | list):
            out[_key(f.name)] = value
    return out


def _dotted(prefix: str, value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_dotted(f"{prefix}.{key}", item))
        else:
            out[f"{prefix}.{key}"] = item
    return out


# --- the schema -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSchema:
    """One documented key: dotted path (``stages[].tuple_len``), JSON type, meaning, unit, presence."""

    name: str
    type: str
    doc: str
    fraction: bool
    when: str | None


ENVELOPE_SCHEMA = (
    FieldSchema("command", "string", "The command, e.g. `data synth`.", False, None),
    FieldSchema("schema_version", "integer", f"Version of these keys ({SCHEMA_VERSION}).", False, None),
    FieldSchema("clipcop_version", "string", "The clipcop that printed it.", False, None),
)


def _members(tp: Any) -> tuple[list[Any], bool]:
    """The non-None members of a union (or the type itself) and whether None is allowed."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        return [a for a in args if a is not type(None)], type(None) in args
    return [tp], False


def _type_name(tp: Any) -> str:
    members, nullable = _members(tp)
    names = []
    for member in members:
        origin, args = get_origin(member), get_args(member)
        if origin is list:
            names.append(f"array of {_type_name(args[0])}")
        elif origin is dict:
            names.append(f"object of {_type_name(args[1])}")
        elif is_dataclass(member):
            names.append("object")
        else:
            names.append({str: "string", int: "integer", float: "number", bool: "boolean"}.get(member, "any"))
    name = " or ".join(names)
    return f"{name} or null" if nullable else name


def _nested(tp: Any) -> tuple[Any, str] | None:
    """The dataclass inside ``tp`` (itself, a list's or a dict's items) and the path suffix for its keys."""
    for member in _members(tp)[0]:
        origin, args = get_origin(member), get_args(member)
        if is_dataclass(member):
            return member, "."
        if origin is list and is_dataclass(args[0]):
            return args[0], "[]."
        if origin is dict and is_dataclass(args[1]):
            return args[1], ".*."
    return None


def schema(record_type: type[Any], prefix: str = "") -> list[FieldSchema]:
    """The documented keys of a record type (without the envelope), nested objects' keys after their own."""
    hints = get_type_hints(record_type)
    rows: list[FieldSchema] = []
    for f in fields(record_type):
        name = prefix + _key(f.name)
        tp = hints[f.name]
        when = f.metadata["when"]
        type_name = _type_name(tp).removesuffix(" or null") if when is not None else _type_name(tp)
        rows.append(FieldSchema(name, type_name, f.metadata["doc"], f.metadata["fraction"], when))
        inner = _nested(tp)
        if inner is not None:
            rows.extend(schema(inner[0], name + inner[1]))
    return rows


# --- validation -------------------------------------------------------------------------------------------


def _check(value: Any, tp: Any, where: str, fraction: bool, problems: list[str]) -> None:
    if tp is Any:
        return
    members, nullable = _members(tp)
    if value is None:
        if not nullable:
            problems.append(f"{where}: null where {_type_name(tp)} is documented")
        return
    member = members[0]
    if is_dataclass(member) or get_origin(member) in (list, dict):
        _check_container(value, member, where, fraction, problems)
    else:
        _check_scalar(value, member, where, fraction, problems)


def _check_container(value: Any, member: Any, where: str, fraction: bool, problems: list[str]) -> None:
    origin, args = get_origin(member), get_args(member)
    if is_dataclass(member):
        if isinstance(value, dict):
            _check_object(value, member, where + ".", problems)
        else:
            problems.append(f"{where}: {type(value).__name__} where an object is documented")
    elif origin is list:
        if not isinstance(value, list):
            problems.append(f"{where}: {type(value).__name__} where an array is documented")
            return
        for i, item in enumerate(value):
            _check(item, args[0], f"{where}[{i}]", fraction, problems)
    elif not isinstance(value, dict):
        problems.append(f"{where}: {type(value).__name__} where an object is documented")
    else:
        for key, item in value.items():
            _check(item, args[1], f"{where}.{key}", fraction, problems)


def _check_scalar(value: Any, member: Any, where: str, fraction: bool, problems: list[str]) -> None:
    if member is bool:
        if not isinstance(value, bool):
            problems.append(f"{where}: {value!r} is not a boolean")
    elif member is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: {value!r} is not an integer")
    elif member is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}: {value!r} is not a number")
        elif fraction and not 0.0 <= value <= 1.0:
            problems.append(f"{where}: {value!r} is an accuracy outside [0, 1]")
    elif member is str and not isinstance(value, str):
        problems.append(f"{where}: {value!r} is not a string")


def _check_object(obj: dict[str, Any], record_type: Any, where: str, problems: list[str]) -> None:
    hints = get_type_hints(record_type)
    documented = set()
    for f in fields(record_type):
        key = _key(f.name)
        documented.add(key)
        if key not in obj:
            if f.metadata["when"] is None:
                problems.append(f"{where}{key}: missing")
            continue
        _check(obj[key], hints[f.name], where + key, f.metadata["fraction"], problems)
    problems.extend(f"{where}{key}: not documented" for key in obj if key not in documented)


def validate(obj: dict[str, Any], record_type: type[Record]) -> list[str]:
    """What is wrong with a printed object against ``record_type``'s schema (empty when nothing is): the
    envelope, every documented key present (unless optional) with its type, no other key, accuracies in
    [0, 1]."""
    problems: list[str] = []
    if obj.get("command") != record_type.COMMAND:
        problems.append(f"command: {obj.get('command')!r}, not {record_type.COMMAND!r}")
    if obj.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version: {obj.get('schema_version')!r}, not {SCHEMA_VERSION}")
    if not isinstance(obj.get("clipcop_version"), str):
        problems.append("clipcop_version: missing or not a string")
    _check_object({k: v for k, v in obj.items() if k not in ENVELOPE}, record_type, "", problems)
    return problems


__all__ = [
    "ENVELOPE",
    "RECORDS",
    "SCHEMA_VERSION",
    "CacheRecord",
    "CurriculumSampleRecord",
    "CurriculumTaskRecord",
    "DemoRecord",
    "ExtractRecord",
    "FieldSchema",
    "FinetuneRecord",
    "IndexRecord",
    "InfoRecord",
    "Neighbour",
    "PretrainRecord",
    "QAScores",
    "QueryRecord",
    "Record",
    "ReportRecord",
    "RetrieveRecord",
    "StageSummary",
    "SubsetCounts",
    "SynthRecord",
    "VQAEvalRecord",
    "VQATrainRecord",
    "records_for",
    "schema",
    "to_json",
    "to_lines",
    "validate",
]
