"""The sample-based curriculum (Sec. III-D.2, Table I "*" rows): from a converged model, a window of epochs
scores every training video (:mod:`clipcop.workflows.curriculum_window`); the easy ones are dropped and
training continues from the window's model on the hard rest, optionally beside plain training on all of
them for the same epochs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.checkpoint import read_card
from clipcop.engine.distributed import barrier, is_main
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import check_run_dir, run_lock, write_run_settings
from clipcop.errors import MalformedDataError, UsageError
from clipcop.results import CurriculumSampleRecord
from clipcop.validation import BOOL, LIST, Fields, list_of, malformed, read_json
from clipcop.workflows.curriculum_config import SampleCurriculumConfig, check_sample_options
from clipcop.workflows.curriculum_window import continuing, score_window
from clipcop.workflows.pretrain import PretrainConfig, PretrainResult, pretrain
from clipcop.workflows.pretrain_test import TEST_OUTPUTS


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


HARD_SAMPLES = "hard_samples.txt"
"""The hard (kept) training videos, one path relative to the video root per line."""
WINDOW_CHECKPOINT = "window.safetensors"
"""The model at the end of the scoring window, inside the sample curriculum's folder: both continued runs
(hard samples and, with ``compare_plain``, all samples) start from it."""


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
    check_sample_options(window, threshold, scoring)
    root = Path(out) if out else Path("runs") / f"curriculum-sample-{Path(checkpoint).parent.name}"
    listing = root / HARD_SAMPLES
    windowed = root / WINDOW_CHECKPOINT
    with run_lock(root, reporter):  # the whole curriculum: its runs lock their own folders too
        _check_fresh_or_resumed(root, compare_plain=compare_plain, resume=base.run.resume)
        curriculum = SampleCurriculumConfig.of(  # the model, tuple and geometry it records are the checkpoint's
            continuing(base, checkpoint).with_options(init=None),
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
            scores = _read_scores(root / "scores.json")
            hard = listing.read_text().splitlines()
        else:
            hard, scores = score_window(
                checkpoint,
                base,
                window=window,
                threshold=threshold,
                scoring=scoring,
                reporter=reporter,
                save_to=windowed,
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
        result.continued = pretrain(
            cont.with_options(train_list=str(listing), out=str(root / "hard")), reporter=reporter
        )
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


def _read_scores(path: Path) -> dict[str, Any]:
    """The window's saved scores (``easy`` flags and ``labels`` per training video), checked."""
    what = "window scores"
    fields = Fields(read_json(path, what, error=MalformedDataError), path, what, error=MalformedDataError)
    scores = fields.check({"easy": list_of(BOOL), "labels": LIST}, required=("easy", "labels"))
    if len(scores["easy"]) != len(scores["labels"]):
        raise malformed(path, "window scores", "easy and labels differ in length", error=MalformedDataError)
    return scores
