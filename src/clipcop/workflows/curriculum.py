"""Curriculum learning (Sec. III-D, IV-A, Fig. 4, Table I "*" rows), task-based and sample-based: one
module per curriculum, gathered here.

Task-based (:mod:`.curriculum_task`): train tl = 3, then tl = 4 initialised from it, then tl = 5.
Sample-based (:mod:`.curriculum_sample`, scoring in :mod:`.curriculum_window`): from a converged model,
score every training video over a window of epochs, drop the easy ones and continue on the hard rest.
"""

from __future__ import annotations

from clipcop.config import SCORINGS
from clipcop.workflows.curriculum_config import SampleCurriculumConfig, TaskCurriculumConfig
from clipcop.workflows.curriculum_sample import (
    HARD_SAMPLES,
    WINDOW_CHECKPOINT,
    HardSampleResult,
    curriculum_sample,
    render_dropped,
)
from clipcop.workflows.curriculum_task import (
    StageResult,
    curriculum_task,
    parse_schedule,
    parse_stage_epochs,
    render_stages,
    task_record,
)
from clipcop.workflows.curriculum_window import TrainingPredictions, WindowScores, continuing, score_window

__all__ = [
    "HARD_SAMPLES",
    "SCORINGS",
    "WINDOW_CHECKPOINT",
    "HardSampleResult",
    "SampleCurriculumConfig",
    "StageResult",
    "TaskCurriculumConfig",
    "TrainingPredictions",
    "WindowScores",
    "continuing",
    "curriculum_sample",
    "curriculum_task",
    "parse_schedule",
    "parse_stage_epochs",
    "render_dropped",
    "render_stages",
    "score_window",
    "task_record",
]
