"""The records of the commands that make data and train models: ``data synth|index|cache``, ``pretrain``,
``curriculum task|sample``, ``extract`` and ``finetune``, with the nested parts only they use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from clipcop.results.fields import Record, doc

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
    format: str = field(metadata=doc("raw (uint8 arrays) or jpeg (the JPEG store)."))
    videos: int = field(metadata=doc("Videos of the split (train and test)."))
    written: int = field(metadata=doc("Videos decoded now (the others were cached already)."))
    mib_written: float = field(metadata=doc("MiB written now."))
    mib_total: float = field(metadata=doc("MiB the cache holds for the split's videos in this format."))
    mib_per_video: float = field(metadata=doc("Those MiB per cached video."))
    seconds: float = field(metadata=doc("Wall-clock seconds the command took, probing included."))
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
