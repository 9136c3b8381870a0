"""``clipcop demo``: the paper's pipeline in miniature on the built-in synthetic data, CPU-friendly.

Pretrain VCOP (tl = 3), then compare it with a random initialisation of the same network: order
accuracy against chance, nearest-neighbour retrieval (video level, Fig. 7) and action-recognition
fine-tuning (Table V), in one summary table whose relations (VCOP > random?) come from this run.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.table import Table

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.reporting import Reporter
from clipcop.report.build import build_report
from clipcop.results import DemoRecord
from clipcop.synth.dataset import SynthSpec, ensure_synthetic
from clipcop.workflows.cache import cache_frames
from clipcop.workflows.extract import ModelSource
from clipcop.workflows.finetune import FinetuneConfig, finetune
from clipcop.workflows.pretrain import PretrainConfig, pretrain
from clipcop.workflows.retrieve import retrieve
from clipcop.workflows.samples import write_samples_grid

QUICK_SYNTH = SynthSpec(classes=5, videos_per_class=8, frames=40, size=(32, 40))
SUMMARY = "summary.json"
"""The demo's numbers, in its run folder."""


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Sizes of the miniature run. Defaults take ~3 minutes on 2 CPU cores; ``quick`` under a minute.

    The demo geometry (width 16, 8-frame clips 8 apart, 40x52 frames, 32 crops, Adam 1e-3, 16 tuples
    per step) is where order prediction leaves chance within minutes on a CPU; see docs/synthetic.md.
    """

    quick: bool = False
    out: str = "runs/demo"
    arch: str = "r3d"
    width: int | None = None
    """Backbone width: 16, or 4 with ``quick``."""
    epochs: int | None = None
    finetune_epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    workers: int = 0

    def pretrain_config(self, data: Path) -> PretrainConfig:
        """The VCOP run of the demo."""
        epochs = self.epochs or (2 if self.quick else 30)
        size = (24, 32) if self.quick else (40, 52)
        return PretrainConfig.from_options(
            arch=self.arch,
            width=(4 if self.quick else 16) if self.width is None else self.width,
            clip_len=4 if self.quick else 8,
            interval=2 if self.quick else 8,
            tuple_len=3,
            resize=size,
            crop=16 if self.quick else 32,
            data=str(data),
            epochs=epochs,
            batch_size=16,
            optimizer="adam",
            lr=1e-3,
            workers=self.workers,
            device=self.device,
            seed=self.seed,
            out=str(Path(self.out) / "pretrain"),
        )


@dataclass
class DemoResult:
    """Every number the demo printed, and where its files are."""

    run_dir: Path
    order_accuracy: float
    chance: float
    retrieval: dict[str, dict[int, float]] = field(default_factory=dict)
    finetune: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["run_dir"] = str(self.run_dir)
        return out

    def record(self) -> DemoRecord:
        """What ``clipcop demo`` prints (:mod:`clipcop.results`)."""
        return DemoRecord(
            run_dir=str(self.run_dir),
            summary=str(self.run_dir / SUMMARY),
            order_accuracy=self.order_accuracy,
            chance=self.chance,
            retrieval={name: {str(k): v for k, v in acc.items()} for name, acc in self.retrieval.items()},
            finetune=dict(self.finetune),
        )


def fresh_folder(path: Path) -> Path:
    """``path`` if it is new or empty, else the first free ``path-2``, ``path-3``, ... (never overwrite)."""
    candidate, number = path, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def run_demo(config: DemoConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any) -> DemoResult:
    """Run the miniature pipeline and print the summary table (in a new run folder every time)."""
    config = config or DemoConfig(**options)
    reporter = reporter or Reporter()
    out = fresh_folder(Path(config.out))
    if out != Path(config.out):
        reporter.note(f"{config.out} holds an earlier demo: this one goes to {out}")
    config = replace(config, out=str(out))
    spec = QUICK_SYNTH if config.quick else SynthSpec()
    with reporter.progress(spec.classes * spec.videos_per_class, "synthetic videos", "videos") as bar:
        data, made = ensure_synthetic(spec, workers=2, on_progress=lambda d, t: bar.advance(d - bar.done))
    reporter.note(f"{'generated' if made else 'using'} the built-in synthetic dataset at {data}")
    pre = config.pretrain_config(data)
    cache_frames(data, resize=pre.geometry.resize, workers=2, reporter=reporter)
    vcop = pretrain(pre, reporter=reporter)
    result = DemoResult(Path(config.out), vcop.test_accuracy, 1 / pre.tuples.num_orders)
    sources = {
        "VCOP": ModelSource(checkpoint=str(vcop.best_checkpoint)),
        "random": ModelSource(
            random=True,
            arch=pre.model.arch,
            width=pre.model.width,
            seed=config.seed,
            clip_len=pre.tuples.clip_len,
            resize=pre.geometry.resize,
            crop=pre.geometry.crop,
        ),
    }
    ft_epochs = config.finetune_epochs or (1 if config.quick else 10)
    for name, source in sources.items():
        tuned = finetune(
            FinetuneConfig.from_options(
                source=source,
                data=str(data),
                epochs=ft_epochs,
                batch_size=16,
                optimizer="adam",
                lr=1e-3,
                workers=config.workers,
                device=config.device,
                seed=config.seed,
                out=str(Path(config.out) / f"finetune-{name.lower()}"),
            ),
            reporter=Reporter(quiet=True),
        )
        result.finetune[name] = tuned.video_accuracy
        reporter.info(f"fine-tuned {name}: test video accuracy {tuned.video_accuracy:.1%} ({ft_epochs} epochs)")
        found = retrieve(
            source=source,
            data=str(data),
            level="video",
            ks=(1, 5, 10),
            pool="global",
            workers=config.workers,
            device=config.device,
            reporter=Reporter(quiet=True),
        )
        result.retrieval[name] = found.accuracy["video"]
        if importlib.util.find_spec("matplotlib") is not None:  # drawn with the report's pictures
            write_samples_grid(found, Path(config.out) / f"retrieval-samples-{name.lower()}.png")
    reporter.table(summary_table(result))
    write_text_atomic(Path(config.out) / SUMMARY, json.dumps(result.as_dict(), indent=2))
    _pictures(Path(config.out), reporter)
    return result


def _pictures(out: Path, reporter: Reporter) -> None:
    """Draw the report when matplotlib is there; otherwise say how to get it."""
    if importlib.util.find_spec("matplotlib") is None:
        reporter.note(f'for pictures: pip install "clipcop[plot]" && clipcop report {out}')
        return
    page = build_report(out).page
    reporter.info(f"pictures and a report page: {page}")


def _mark(vcop: float, other: float) -> str:
    return "yes" if vcop > other else "tie" if vcop == other else "no"


def summary_table(result: DemoResult) -> Table:
    """One table: each of the paper's relations with this run's numbers and whether it held."""
    table = Table(title="clipcop demo: the paper in miniature (synthetic data)")
    table.add_column("measure")
    table.add_column("VCOP", justify="right")
    table.add_column("random init", justify="right")
    table.add_column("VCOP > random?", justify="center")
    table.add_row(
        "order accuracy, tl=3 (random = chance)",
        f"{100 * result.order_accuracy:.1f}%",
        f"{100 * result.chance:.1f}%",
        _mark(result.order_accuracy, result.chance),
    )
    vcop, rand = result.retrieval.get("VCOP", {}), result.retrieval.get("random", {})
    for k in sorted(vcop):
        table.add_row(
            f"video retrieval top-{k}",
            f"{100 * vcop[k]:.1f}%",
            f"{100 * rand[k]:.1f}%",
            _mark(vcop[k], rand[k]),
        )
    if result.finetune:
        v, r = result.finetune["VCOP"], result.finetune["random"]
        table.add_row("fine-tuned action recognition (video acc.)", f"{100 * v:.1f}%", f"{100 * r:.1f}%", _mark(v, r))
    return table
