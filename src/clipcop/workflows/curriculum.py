"""Curriculum learning (Sec. III-D, IV-A, Fig. 4, Table I "*" rows): task-based and sample-based.

Task-based: train tl = 3, then tl = 4 initialised from it (backbone and pair layer carried over, a new
tl!-way output layer), then tl = 5. Each stage is an ordinary pretraining run in its own sub-folder.

Sample-based: from a converged model, score every training video in each epoch of a window (by the
predictions made on it while training, or on a fixed tuple); the videos ordered correctly with a softmax
above the threshold in every epoch are "easy" and dropped; training continues on the rest (the hard
samples).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from rich.table import Table

from clipcop.clips.datasets import VCOPTupleDataset
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import load_checkpoint, now_iso, read_card, save_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.distributed import (
    barrier,
    gather_objects,
    init_distributed,
    is_main,
    rank,
    world_size,
    wrap_ddp,
)
from clipcop.engine.evaluate import evaluate_classifier
from clipcop.engine.fit import check_finite, train_one_epoch, unwrap
from clipcop.engine.loading import Batch, make_loader
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import changed_settings, check_run_dir, read_metrics, write_run_settings
from clipcop.engine.sampler import EpochSampler
from clipcop.engine.seeding import seed_everything
from clipcop.errors import CheckpointError, UsageError
from clipcop.heads.vcop import VCOPModel
from clipcop.results import CurriculumSampleRecord, CurriculumTaskRecord, StageSummary
from clipcop.workflows.cache import frame_source
from clipcop.workflows.curriculum_config import SCORINGS, SampleCurriculumConfig, TaskCurriculumConfig
from clipcop.workflows.data import hold_out, listed_training
from clipcop.workflows.pretrain import (
    RESUME_KEYS,
    TEST_OUTPUTS,
    PretrainConfig,
    PretrainResult,
    build_vcop_model,
    make_optimizer,
    prepare_tuple_videos,
    pretrain,
    select_tuples,
)

DONE = "test_order_accuracy.json"


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"3,4,5"`` -> ``(3, 4, 5)``: an increasing list of tuple lengths within 2..5."""
    try:
        schedule = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--tl-schedule takes comma-separated tuple lengths, e.g. 3,4,5 (got {text!r})") from None
    if len(schedule) < 2 or list(schedule) != sorted(set(schedule)) or schedule[0] < 2 or schedule[-1] > 5:
        raise UsageError(f"--tl-schedule must increase within 2..5 with at least two stages (got {text!r})")
    return schedule


def parse_stage_epochs(text: str) -> tuple[int, ...]:
    """``"300,100,100"`` -> ``(300, 100, 100)``."""
    try:
        epochs = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--stage-epochs takes comma-separated whole numbers (got {text!r})") from None
    if not epochs or min(epochs) < 1:
        raise UsageError(f"--stage-epochs values must be at least 1 (got {text!r})")
    return epochs


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
    return json.loads(path.read_text()) if path.is_file() else None


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
    epochs = epochs or (base.training.epochs,) * len(schedule)
    if len(epochs) != len(schedule):
        raise UsageError(f"--stage-epochs gives {len(epochs)} values for {len(schedule)} stages")
    root = (
        Path(out)
        if out
        else Path("runs") / f"curriculum-task-{base.model.arch}-{base.tuples.clip_len}-{base.tuples.interval}"
    )
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


@dataclass
class HardSampleResult:
    """What the sample-based curriculum found and what continued training on the hard samples gave."""

    run_dir: Path
    kept: int
    dropped: int
    dropped_per_class: dict[str, int] = field(default_factory=dict)
    kept_per_class: dict[str, int] = field(default_factory=dict)
    continued: PretrainResult | None = None
    plain: PretrainResult | None = None

    def record(self) -> CurriculumSampleRecord:
        """What ``clipcop curriculum sample`` prints (:mod:`clipcop.results`)."""
        return CurriculumSampleRecord(
            run_dir=str(self.run_dir),
            kept=self.kept,
            dropped=self.dropped,
            dropped_per_class=dict(self.dropped_per_class),
            kept_per_class=dict(self.kept_per_class),
            checkpoint=None if self.continued is None else str(self.continued.best_checkpoint),
            test_order_accuracy=None if self.continued is None else self.continued.test_accuracy,
            plain_test_order_accuracy=None if self.plain is None else self.plain.test_accuracy,
        )


def continuing(base: PretrainConfig, checkpoint: str | Path) -> PretrainConfig:
    """``base`` continuing from ``checkpoint``: its architecture, cl/it/tl and clip geometry, initialised
    from it (a converged model goes on seeing clips as it was trained on them)."""
    card = load_checkpoint(checkpoint, kind="vcop").card
    shape = ("arch", "width", "clip_len", "interval", "tuple_len", "resize", "crop")
    missing = [k for k in shape if getattr(card, k) is None]
    if missing:
        raise CheckpointError(f"{checkpoint} does not record its {', '.join(missing)}; cannot continue from it")
    return base.with_options(**{k: getattr(card, k) for k in shape}, init=str(checkpoint))


HARD_SAMPLES = "hard_samples.txt"
"""The hard (kept) training videos, one path relative to the video root per line."""
WINDOW_CHECKPOINT = "window.safetensors"
"""The model at the end of the scoring window, inside the sample curriculum's folder: both continued runs
(hard samples and, with ``compare_plain``, all samples) start from it."""


class WindowScores:
    """Per window epoch and training video: the lowest softmax of the right order and whether every
    prediction was right. A video with no prediction in an epoch has NaN there and is never easy."""

    def __init__(self, epochs: int, videos: int) -> None:
        self.p_true = np.full((epochs, videos), np.nan, dtype=np.float32)
        self.right = np.ones((epochs, videos), dtype=bool)

    def add(self, epoch: int, index: np.ndarray, p_true: np.ndarray, correct: np.ndarray) -> None:
        """Predictions of ``epoch`` (from 1) for the videos ``index``; a video may come more than once."""
        np.fmin.at(self.p_true[epoch - 1], index, p_true.astype(np.float32))
        np.logical_and.at(self.right[epoch - 1], index, correct.astype(bool))

    def merge_processes(self) -> None:
        """Combine the scores of every process (under torchrun each sees a share of an epoch's videos)."""
        parts = cast(list[tuple[np.ndarray, np.ndarray]], gather_objects((self.p_true, self.right)))
        self.p_true = np.fmin.reduce(np.stack([p for p, _ in parts]), axis=0)
        self.right = np.logical_and.reduce(np.stack([r for _, r in parts]), axis=0)

    @property
    def correct(self) -> np.ndarray:
        """Scored, and every prediction right."""
        return self.right & ~np.isnan(self.p_true)

    def easy(self, threshold: float) -> np.ndarray:
        """Per video: ordered right with a softmax above ``threshold`` in every epoch (Sec. IV-A)."""
        return np.asarray((self.correct & (self.p_true > threshold)).all(axis=0))


class TrainingPredictions:
    """Collects an epoch's training predictions on the device (no per-step copy to the host)."""

    def __init__(self) -> None:
        self.parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def __call__(self, batch: Batch, logits: torch.Tensor, targets: torch.Tensor) -> None:
        probs = logits.float().softmax(dim=1)
        right = probs.argmax(dim=1) == targets
        self.parts.append((batch["index"], probs.gather(1, targets[:, None])[:, 0], right))

    def flush(self, scores: WindowScores, epoch: int) -> None:
        """Add the collected predictions to ``scores`` as ``epoch``'s and start afresh."""
        if self.parts:
            index, p_true, right = (torch.cat(column).cpu().numpy() for column in zip(*self.parts, strict=True))
            scores.add(epoch, index, p_true, right)
        self.parts.clear()


def score_window(
    checkpoint: str | Path,
    base: PretrainConfig,
    *,
    window: int,
    threshold: float,
    reporter: Reporter,
    scoring: str = "training",
    save_to: str | Path | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """Train ``window`` more epochs, scoring every training video in each (see ``SCORINGS``).

    Returns the videos to keep (the hard ones) and the scores. A video is easy when it was ordered
    correctly with a softmax above ``threshold`` in every epoch of the window (Sec. IV-A). With
    ``save_to`` the model at the end of the window is saved there, so the window's epochs are not lost:
    the subsequent training continues from them (Sec. III-D.2).
    """
    if scoring not in SCORINGS:
        raise UsageError(f"--scoring must be one of {', '.join(SCORINGS)}, not {scoring!r}")
    runtime = resolve_runtime(base.run.device, base.run.precision)
    init_distributed(runtime.device)
    if base.training.batch_size % world_size():
        raise UsageError(f"batch size {base.training.batch_size} must divide evenly over {world_size()} processes")
    config = continuing(base, checkpoint)
    prepared = prepare_tuple_videos(config, reporter)
    train_videos, _ = hold_out(prepared.train, config.training.val_size, reporter, listed=listed_training(prepared))
    seed_everything(config.training.seed)
    model = cast(VCOPModel, runtime.prepare(build_vcop_model(config, reporter)))
    optimizer = make_optimizer(config.training, model.parameters())
    train_model = wrap_ddp(model, runtime.device)
    frames = frame_source(config.data.frame_cache, config.data.backend)

    def tuples(train: bool) -> VCOPTupleDataset:
        spec, geometry = config.tuples, config.geometry
        return VCOPTupleDataset(
            train_videos,
            spec,
            geometry,
            train=train,
            seed=config.training.seed,
            source=frames,
        )

    local_batch = config.training.batch_size // world_size()
    sampler = EpochSampler(
        len(train_videos), shuffle=True, seed=config.training.seed, rank=rank(), world_size=world_size()
    )
    loader = make_loader(tuples(True), sampler, batch_size=local_batch, workers=config.data.workers, runtime=runtime)
    full_steps = -(-len(sampler) // local_batch)
    steps = full_steps if config.training.steps_per_epoch is None else min(full_steps, config.training.steps_per_epoch)
    fixed = tuples(False) if scoring == "fixed" else None
    scores = WindowScores(window, len(train_videos))
    predictions = TrainingPredictions()
    for epoch in range(1, window + 1):
        sampler.set_epoch(10_000 + epoch)
        trained = train_one_epoch(
            train_model,
            loader,
            select_tuples,
            optimizer,
            None,
            runtime,
            reporter,
            epoch=epoch,
            epochs=window,
            steps=steps,
            unit="tuples",
            world=world_size(),
            observe=predictions if fixed is None else None,
        )
        check_finite(epoch, "training", trained["train_loss"])
        if fixed is None:
            predictions.flush(scores, epoch)
            reporter.info(f"window epoch {epoch}/{window}: training tuples ordered right {trained['train_acc']:.1%}")
        else:
            # By dataset index: a video that failed to decode is absent from ``scored`` (never shifted).
            scored = evaluate_classifier(
                model, fixed, select_tuples, runtime, batch_size=local_batch, workers=config.data.workers
            )
            scores.add(epoch, scored.index, scored.p_true, scored.correct)
            reporter.info(f"window epoch {epoch}/{window}: fixed tuples ordered right {scored.accuracy:.1%}")
    scores.merge_processes()
    unscored = int(np.isnan(scores.p_true).any(axis=0).sum())
    if unscored:
        cut = fixed is None and steps < full_steps
        why = "they failed to decode, or --steps-per-epoch cut the epoch short" if cut else "they failed to decode"
        hint = "; --scoring fixed scores every video whatever --steps-per-epoch is" if cut else ""
        reporter.warn(
            f"{unscored} training videos have no score in some window epoch ({why}); they are kept as hard{hint}"
        )
    if save_to is not None:
        meta = _window_meta(checkpoint, window, steps, threshold, scoring)
        if is_main():
            save_checkpoint(save_to, unwrap(model).state_dict(), meta)
        barrier()
    easy = scores.easy(threshold)
    root = prepared.dataset.video_root
    names = [v.path.relative_to(root).as_posix() for v in train_videos]
    hard = [n for n, e in zip(names, easy, strict=True) if not e]
    classes = prepared.dataset.classes
    labels = [classes[v.label] if classes and v.label >= 0 else "(unlabelled)" for v in train_videos]
    summary = {
        "videos": names,
        "labels": labels,
        "p_true": [[None if np.isnan(p) else float(p) for p in row] for row in scores.p_true],
        "correct": scores.correct.tolist(),
        "easy": easy.tolist(),
        "threshold": threshold,
        "window": window,
        "scoring": scoring,
    }
    return hard, summary


def _window_meta(checkpoint: str | Path, window: int, steps: int, threshold: float, scoring: str) -> dict[str, Any]:
    """The window model's metadata: the source's model description, its own epoch, step and provenance.

    The source's metrics describe another model and are not carried; the window's scores are in
    ``scores.json``.
    """
    source = read_card(checkpoint)
    return replace(
        source.model_only(),
        epoch=(source.epoch or 0) + window,
        step=(source.step or 0) + window * steps,
        metrics={},
        created=now_iso(),
        init=str(checkpoint),
        window={"epochs": window, "steps_per_epoch": steps, "threshold": threshold, "scoring": scoring},
    ).to_meta()


def _reusable_window(root: Path, checkpoint: str | Path, window: int, threshold: float, scoring: str) -> bool:
    """Whether a ``--resume`` can reuse the listing and window model in ``root``; refuses a mismatch."""
    listing, windowed = root / HARD_SAMPLES, root / WINDOW_CHECKPOINT
    if not listing.is_file():
        return False
    if not windowed.is_file():
        raise UsageError(
            f"{root} has {HARD_SAMPLES} but no {WINDOW_CHECKPOINT} (an older clipcop continued from the original "
            "checkpoint): choose a new --out"
        )
    card = read_card(windowed)
    if Path(str(card.init)).resolve() != Path(checkpoint).resolve():
        raise UsageError(f"cannot resume {root}: its samples were scored from {card.init}, not {checkpoint}")
    scored = card.window or {}
    for flag, old, new in (
        ("--window", scored.get("epochs"), window),
        ("--threshold", scored.get("threshold"), threshold),
        ("--scoring", scored.get("scoring", "fixed"), scoring),  # earlier clipcop scored fixed tuples only
    ):
        if old != new:
            raise UsageError(f"cannot resume {root}: its samples were scored with {flag} {old}, now {flag} {new}")
    return True


def _check_fresh_or_resumed(root: Path, *, compare_plain: bool, resume: bool) -> None:
    """Refuse, before the window trains, to overwrite an earlier sample curriculum in ``root``.

    Without ``--resume`` the window's model, scores and listing would be replaced (and the continued runs'
    starting point with them) only for the continued run to find its folder taken.
    """
    if resume:
        return
    if (root / WINDOW_CHECKPOINT).exists() or (root / HARD_SAMPLES).exists():
        raise UsageError(
            f"{root} already holds a sample curriculum; pass --resume to continue it or choose another --out"
        )
    for run in ("hard", "plain") if compare_plain else ("hard",):
        check_run_dir(root / run, resume, TEST_OUTPUTS)


def curriculum_sample(
    checkpoint: str | Path,
    base: PretrainConfig,
    *,
    window: int = 5,
    threshold: float = 0.8,
    scoring: str = "training",
    out: str | Path | None = None,
    compare_plain: bool = False,
    reporter: Reporter | None = None,
) -> HardSampleResult:
    """Drop the easy samples of a converged model and continue training on the hard ones (Sec. III-D.2).

    The window's epochs train the model as they score the samples; training on the hard samples continues
    from the end of the window (``OUT/window.safetensors``). With ``compare_plain`` the same number of
    epochs of plain training on all samples continues from the same point, so the two differ only in
    their data and can be compared as R3D and R3D* in the paper's Table I.
    """
    reporter = reporter or Reporter()
    if not 0 < threshold < 1:
        raise UsageError(f"--threshold must be between 0 and 1, not {threshold}")
    if window < 1:
        raise UsageError(f"--window must be at least 1 epoch, not {window}")
    if scoring not in SCORINGS:
        raise UsageError(f"--scoring must be one of {', '.join(SCORINGS)}, not {scoring!r}")
    root = Path(out) if out else Path("runs") / f"curriculum-sample-{Path(checkpoint).parent.name}"
    listing = root / HARD_SAMPLES
    windowed = root / WINDOW_CHECKPOINT
    _check_fresh_or_resumed(root, compare_plain=compare_plain, resume=base.run.resume)
    curriculum = SampleCurriculumConfig.of(
        base,
        str(root),
        checkpoint=str(checkpoint),
        window=window,
        threshold=threshold,
        scoring=scoring,
        compare_plain=compare_plain,
    )
    write_run_settings(root, curriculum, "clipcop curriculum sample")
    if base.run.resume and _reusable_window(root, checkpoint, window, threshold, scoring):
        reporter.note(f"reusing the hard samples listed in {listing} and the window's model {windowed}")
        scores = json.loads((root / "scores.json").read_text())
        hard = listing.read_text().splitlines()
    else:
        hard, scores = score_window(
            checkpoint, base, window=window, threshold=threshold, scoring=scoring, reporter=reporter, save_to=windowed
        )
        if is_main():
            write_text_atomic(root / "scores.json", json.dumps(scores))
            write_text_atomic(listing, "".join(f"{n}\n" for n in hard))
        barrier()  # every process reads the listing next
    easy = np.array(scores["easy"], dtype=bool)
    labels = scores["labels"]
    dropped = Counter(label for label, e in zip(labels, easy, strict=True) if e)
    kept = Counter(label for label, e in zip(labels, easy, strict=True) if not e)
    result = HardSampleResult(root, int((~easy).sum()), int(easy.sum()), dict(dropped), dict(kept))
    reporter.table(render_dropped(result))
    if not hard:
        reporter.warn("every training sample is easy at this threshold: nothing left to continue on")
        return result
    cont = continuing(base, windowed)
    result.continued = pretrain(cont.with_options(train_list=str(listing), out=str(root / "hard")), reporter=reporter)
    if compare_plain:
        result.plain = pretrain(cont.with_options(out=str(root / "plain")), reporter=reporter)
        table = Table(title="Continued training: hard samples (*) vs all samples, same epochs")
        table.add_column("run")
        table.add_column("training videos", justify="right")
        table.add_column("test order accuracy", justify="right")
        table.add_row("plain (all samples)", str(len(easy)), f"{100 * result.plain.test_accuracy:.1f}%")
        table.add_row("hard samples *", str(len(hard)), f"{100 * result.continued.test_accuracy:.1f}%")
        reporter.table(table)
    return result


def render_dropped(result: HardSampleResult) -> Table:
    """Per class: samples kept (hard) and dropped (easy)."""
    table = Table(title=f"Sample-based curriculum: {result.dropped} easy samples dropped, {result.kept} hard kept")
    table.add_column("class")
    table.add_column("kept (hard)", justify="right")
    table.add_column("dropped (easy)", justify="right")
    for name in sorted(set(result.kept_per_class) | set(result.dropped_per_class)):
        table.add_row(name, str(result.kept_per_class.get(name, 0)), str(result.dropped_per_class.get(name, 0)))
    return table
