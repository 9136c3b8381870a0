"""The records of the commands that evaluate and inspect: ``retrieve`` (with and without ``--query``),
``info``, ``demo``, ``report`` and ``vqa train|eval``, with the nested parts only they use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from clipcop.results.fields import Record, doc

# --- nested parts -----------------------------------------------------------------------------------


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
    grid: str | None = field(
        default=None, metadata=doc("The picture of queries and their top neighbours.", when="--grid")
    )
    index: str | None = field(
        default=None, metadata=doc("The FAISS index written (+ .json metadata beside it).", when="--save-index")
    )
    layers: dict[str, dict[str, dict[str, float]]] | None = field(
        default=None,
        metadata=doc(
            'Top-k accuracy per layer, level and k (Table IV): {"conv1": {"clip": {"1": 0.21, ...}, ...}, ...}; '
            "the other keys then describe the deepest layer.",
            fraction=True,
            when="several layers (--layer all or a comma list)",
            lines=True,
        ),
    )


@dataclass(frozen=True, kw_only=True)
class QueryRecord(Record):
    """``clipcop retrieve --query VIDEO``."""

    COMMAND: ClassVar[str] = "retrieve"
    TITLE: ClassVar[str] = "with --query"
    query: str = field(metadata=doc("The query video."))
    neighbours: list[Neighbour] = field(metadata=doc("Nearest gallery videos, nearest first."))


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
