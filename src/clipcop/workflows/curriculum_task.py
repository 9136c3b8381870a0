"""The task-based curriculum (Sec. III-D.1, Fig. 4): train tl = 3, then tl = 4 initialised from it (backbone
and pair layer carried over, a new tl!-way output layer), then tl = 5. Each stage is an ordinary pretraining
run in its own sub-folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import read_card
from clipcop.engine.distributed import is_main
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import changed_settings, read_metrics, run_lock, write_run_settings
from clipcop.errors import CheckpointError, MalformedDataError, UsageError
from clipcop.results import CurriculumTaskRecord, StageSummary
from clipcop.validation import NUMBER, Fields, read_json
from clipcop.workflows.curriculum_config import TaskCurriculumConfig, check_task_options
from clipcop.workflows.pretrain import RESUME_KEYS, PretrainConfig, pretrain

DONE = "test_order_accuracy.json"


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"3,4,5"`` -> ``(3, 4, 5)``: an increasing list of tuple lengths within 2..5."""
    try:
        schedule = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--tl-schedule takes comma-separated tuple lengths, e.g. 3,4,5 (got {text!r})") from None
    check_task_options(schedule, None)
    return schedule


def parse_stage_epochs(text: str) -> tuple[int, ...]:
    """``"300,100,100"`` -> ``(300, 100, 100)``."""
    try:
        epochs = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--stage-epochs takes comma-separated whole numbers (got {text!r})") from None
    if not epochs or min(epochs) < 1:
        raise UsageError(f"--stage-epochs values must be at least 1 (got {text!r})")
    return epochs  # their number is checked against the schedule's (check_task_options)


@dataclass
class StageResult:
    """One stage of the task curriculum."""

    tuple_len: int
    run_dir: Path
    checkpoint: Path
    epochs: int
    best_epoch: int
    val_acc: float
    test_acc: float

    def summary(self) -> StageSummary:
        """This stage in ``clipcop curriculum task``'s result (:mod:`clipcop.results`)."""
        return StageSummary(
            tuple_len=self.tuple_len,
            run_dir=str(self.run_dir),
            checkpoint=str(self.checkpoint),
            epochs=self.epochs,
            best_epoch=self.best_epoch,
            val_order_accuracy=self.val_acc,
            test_order_accuracy=self.test_acc,
        )


def task_record(stages: list[StageResult]) -> CurriculumTaskRecord:
    """What ``clipcop curriculum task`` prints for the stages :func:`curriculum_task` returned."""
    return CurriculumTaskRecord(
        run_dir=str(stages[-1].run_dir.parent),
        checkpoint=str(stages[-1].checkpoint),
        stages=[s.summary() for s in stages],
    )


def _finished(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / DONE
    if not path.is_file():
        return None
    what = "test result"
    fields = Fields(read_json(path, what, error=MalformedDataError), path, what, error=MalformedDataError)
    return fields.check({"accuracy": NUMBER}, required=("accuracy",))


def _check_reusable(run_dir: Path, config: PretrainConfig) -> None:
    """Refuse to reuse a finished stage trained otherwise than ``config`` asks (model, clip geometry, data,
    optimiser, seed: everything a ``--resume`` must keep, and its number of epochs)."""
    card = read_card(run_dir / "best.safetensors")
    if card.kind != "vcop":
        raise CheckpointError(f"{run_dir / 'best.safetensors'} is a {card.kind!r} checkpoint, not 'vcop'")
    changed = changed_settings(dict(card.config or {}), config.flat(), (*RESUME_KEYS, "epochs"))
    if changed:
        differs = ", ".join(f"{key} {old} (asked {new})" for key, old, new in changed)
        raise UsageError(f"{run_dir} holds a finished stage trained otherwise: {differs}; choose another --out")


def curriculum_task(
    base: PretrainConfig,
    *,
    schedule: tuple[int, ...] = (3, 4, 5),
    epochs: tuple[int, ...] | None = None,
    out: str | Path | None = None,
    reporter: Reporter | None = None,
) -> list[StageResult]:
    """Train the stages of ``schedule``, each initialised from the previous stage's best checkpoint.

    ``epochs`` gives the epochs per stage (default: ``base.training.epochs`` for every stage). A stage that
    finished earlier is reused; an interrupted one resumes when ``base.run.resume`` is set.
    """
    reporter = reporter or Reporter()
    check_task_options(schedule, epochs)
    epochs = epochs or (base.training.epochs,) * len(schedule)
    root = (
        Path(out)
        if out
        else Path("runs") / f"curriculum-task-{base.model.arch}-{base.tuples.clip_len}-{base.tuples.interval}"
    )
    with run_lock(root, reporter):  # the whole curriculum: its stages lock their own folders too
        write_run_settings(root, TaskCurriculumConfig.of(base, schedule, epochs, str(root)), "clipcop curriculum task")
        results: list[StageResult] = []
        init = base.init
        for tl, stage_epochs in zip(schedule, epochs, strict=True):
            run_dir = root / f"tl{tl}"
            config = base.with_options(tuple_len=tl, epochs=stage_epochs, init=init, out=str(run_dir))
            done = _finished(run_dir)
            if done is not None:
                _check_reusable(run_dir, config)
                reporter.note(f"stage tl={tl} already finished in {run_dir}: reusing it")
            else:
                reporter.info(f"curriculum stage tl={tl} ({stage_epochs} epochs)" + (f", from {init}" if init else ""))
                pretrain(config, reporter=reporter)
                done = _finished(run_dir)
            history = read_metrics(run_dir)
            best = max((h for h in history if h["epoch"] == h["best_epoch"]), key=lambda h: h["epoch"], default={})
            results.append(
                StageResult(
                    tl,
                    run_dir,
                    run_dir / "best.safetensors",
                    len(history),
                    int(best.get("epoch", 0)),
                    float(best.get("val_acc", float("nan"))),
                    float(done["accuracy"]) if done else float("nan"),
                )
            )
            init = str(run_dir / "best.safetensors")
        reporter.table(render_stages(results))
        if is_main():
            summary = [{**asdict(r), "run_dir": str(r.run_dir), "checkpoint": str(r.checkpoint)} for r in results]
            write_text_atomic(root / "summary.json", json.dumps(summary, indent=2))
        return results


def render_stages(results: list[StageResult]) -> Table:
    """The stage summary: tl, chance, epochs, best epoch, validation and test order accuracy."""
    table = Table(title="Task-based curriculum (Sec. III-D.1)")
    for column in ("stage", "chance", "epochs", "best epoch", "val order acc", "test order acc"):
        table.add_column(column, justify="right")
    for r in results:
        chance = 1 / float(np.prod(range(1, r.tuple_len + 1)))
        table.add_row(
            f"tl={r.tuple_len}",
            f"{100 * chance:.1f}%",
            str(r.epochs),
            str(r.best_epoch),
            f"{100 * r.val_acc:.1f}%",
            f"{100 * r.test_acc:.1f}%",
        )
    return table
