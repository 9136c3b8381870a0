"""The settings of ``clipcop curriculum task`` and ``curriculum sample`` (Sec. III-D): pretraining's specs
and the options of each curriculum, so a settings file holds a whole curriculum."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from clipcop.config import SCORINGS
from clipcop.errors import UsageError
from clipcop.workflows.pretrain import PretrainConfig


def check_task_options(schedule: tuple[int, ...], epochs: tuple[int, ...] | None) -> None:
    """Refuse a tuple-length schedule that does not increase within 2..5 over at least two stages, or stage
    epochs that do not give one count of at least 1 per stage."""
    shown = ",".join(map(str, schedule))
    if len(schedule) < 2 or list(schedule) != sorted(set(schedule)) or schedule[0] < 2 or schedule[-1] > 5:
        raise UsageError(f"--tl-schedule must increase within 2..5 with at least two stages (got {shown!r})")
    if epochs is not None:
        if len(epochs) != len(schedule):
            raise UsageError(f"--stage-epochs gives {len(epochs)} values for {len(schedule)} stages")
        if min(epochs) < 1:
            raise UsageError(f"--stage-epochs values must be at least 1 (got {','.join(map(str, epochs))!r})")


def check_sample_options(window: int, threshold: float, scoring: str) -> None:
    """Refuse a scoring window under one epoch, a threshold outside (0, 1), or an unknown way of scoring."""
    if not 0 < threshold < 1:
        raise UsageError(f"--threshold must be between 0 and 1, not {threshold}")
    if window < 1:
        raise UsageError(f"--window must be at least 1 epoch, not {window}")
    if scoring not in SCORINGS:
        raise UsageError(f"--scoring must be one of {', '.join(SCORINGS)}, not {scoring!r}")


def _pretrain_part(config: PretrainConfig) -> PretrainConfig:
    return PretrainConfig(**_pretrain_fields(config))


def _pretrain_fields(config: PretrainConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(PretrainConfig)}


@dataclass(frozen=True, kw_only=True)
class TaskCurriculumConfig(PretrainConfig):
    """Task-based curriculum: pretraining's settings, the tuple lengths of its stages and their epochs
    (default: ``training.epochs`` each). ``run.out`` is the curriculum's folder, one run per stage."""

    tl_schedule: tuple[int, ...] = (3, 4, 5)
    stage_epochs: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_task_options(self.tl_schedule, self.stage_epochs)

    @classmethod
    def of(
        cls, base: PretrainConfig, schedule: tuple[int, ...], epochs: tuple[int, ...] | None, out: str
    ) -> TaskCurriculumConfig:
        """The curriculum that :func:`~clipcop.workflows.curriculum.curriculum_task` runs, for its settings file."""
        settings = _pretrain_fields(base.with_options(out=out))
        return cls(**settings, tl_schedule=schedule, stage_epochs=epochs)

    def base(self) -> PretrainConfig:
        """The first stage's pretraining settings (each stage then sets its tl, epochs, init and folder)."""
        return _pretrain_part(self).with_options(tuple_len=self.tl_schedule[0], out=None)


@dataclass(frozen=True, kw_only=True)
class SampleCurriculumConfig(PretrainConfig):
    """Sample-based curriculum: a converged checkpoint, the scoring window, the threshold, and pretraining's
    settings for the continued training (its model, tuple and geometry come from the checkpoint)."""

    checkpoint: str = ""
    window: int = 5
    threshold: float = 0.8
    scoring: str = "training"
    compare_plain: bool = False

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise UsageError("the sample curriculum needs --checkpoint, a converged VCOP checkpoint")
        check_sample_options(self.window, self.threshold, self.scoring)

    @classmethod
    def of(cls, base: PretrainConfig, out: str, **options: Any) -> SampleCurriculumConfig:
        """The curriculum that :func:`~clipcop.workflows.curriculum.curriculum_sample` runs (``options``: its
        checkpoint, window, threshold, scoring and compare_plain), for its settings file."""
        return cls(**_pretrain_fields(base.with_options(out=out)), **options)

    def base(self) -> PretrainConfig:
        """The pretraining settings the window and the continued runs start from."""
        return _pretrain_part(self).with_options(out=None, init=None, train_list=None)
