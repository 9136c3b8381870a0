"""Table VI in miniature: VCOP features against a random init of the same network, through the same E-SA.

    clipcop data synth /tmp/vqa-synth --qa
    clipcop pretrain --data /tmp/vqa-synth --width 16 --cl 8 --it 4 --resize 40x52 --crop 32 \\
        --batch-size 16 --optimizer adam --epochs 60 --workers 0 --out /tmp/vqa-vcop
    clipcop finetune --random --arch r3d --width 16 --cl 8 --resize 40x52 --crop 32 --data /tmp/vqa-synth \\
        --epochs 30 --optimizer adam --batch-size 16 --workers 0 --out /tmp/vqa-sup       # optional
    clipcop finetune --checkpoint /tmp/vqa-vcop/best.safetensors --data /tmp/vqa-synth \\
        --epochs 30 --optimizer adam --batch-size 16 --workers 0 --out /tmp/vqa-ft        # optional
    python benchmarks/vqa.py --data /tmp/vqa-synth --vcop /tmp/vqa-vcop/best.safetensors \\
        --supervised /tmp/vqa-sup/best.safetensors --finetuned /tmp/vqa-ft/best.safetensors --seeds 0 1 2 3 4

Features: 20 evenly spaced clips per video (``extract --clips 20``, conv5, global pooling) from the VCOP
checkpoint, from the same architecture, width and clip geometry at random initialisation (seed 0,
the untrained baseline), and optionally from the same network trained from random initialisation on
action recognition (``--supervised``, what Table VI calls "w/ pre-trained") and from the VCOP checkpoint
fine-tuned on action recognition (``--finetuned``).
Each feature file goes through the same E-SA training (``clipcop.vqa.train_vqa`` defaults unless
overridden) for every seed; the table shows the test accuracy per question type, mean over seeds, and
the baseline that answers each question with its type's most frequent training answer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from clipcop.engine.checkpoint import read_card
from clipcop.engine.reporting import Reporter
from clipcop.metrics.qa import TYPE_KEYS
from clipcop.synth.qa import write_synthetic_qa
from clipcop.vqa.evaluate import eval_vqa
from clipcop.vqa.train import BEST, train_vqa
from clipcop.workflows.extract import ExtractConfig, ModelSource, extract

QUIET = Reporter(quiet=True)
COLUMNS = (*TYPE_KEYS, "free", "all")
HEADERS = ("Motion", "Spat.Rel.", "Temp.Rel.", "Y/N", "Color", "Obj.", "Loc.", "Num.", "Other", "Free", "All")


def sources(vcop: Path, supervised: Path | None, finetuned: Path | None) -> dict[str, ModelSource]:
    """VCOP, the same network at random initialisation, and optionally supervised / fine-tuned checkpoints."""
    card = read_card(vcop)
    random = ModelSource(
        random=True,
        arch=card.arch,
        width=card.width,
        clip_len=card.clip_len,
        resize=card.resize,
        crop=card.crop,
        seed=0,
    )
    found = {"VCOP": ModelSource(checkpoint=str(vcop)), "random init": random}
    if supervised is not None:
        found["action recognition"] = ModelSource(checkpoint=str(supervised))
    if finetuned is not None:
        found["VCOP + fine-tuned"] = ModelSource(checkpoint=str(finetuned))
    return found


def features_for(name: str, source: ModelSource, data: Path, work: Path) -> Path:
    """The 20-clip feature file of ``source`` over every video (extracted once, then reused)."""
    out = work / f"features-{name.replace(' ', '-')}.safetensors"
    if not out.is_file():
        config = ExtractConfig.from_options(
            source=source, data=str(data), subset="all", clips=20, workers=0, out=str(out)
        )
        extract(config, reporter=QUIET)
    return out


def run(features: Path, qa: Path, seed: int, out: Path, options: dict[str, Any]) -> dict[str, Any]:
    """One E-SA training; the test accuracies, the majority baseline, and the motion questions split by kind."""
    if not (out / "results.json").is_file():
        train_vqa(features=str(features), qa=str(qa), seed=seed, out=str(out), reporter=QUIET, **options)
    result: dict[str, Any] = json.loads((out / "results.json").read_text())
    predictions = out / "predictions-test.json"
    if not predictions.is_file():
        eval_vqa(
            checkpoint=str(out / BEST), features=str(features), qa=str(qa), predictions=str(predictions), reporter=QUIET
        )
    result["motion_questions"] = motion_breakdown(qa, predictions)
    return result


def motion_breakdown(qa: Path, predictions: Path) -> dict[str, float]:
    """Accuracy on the two motion questions: the kind of motion, and which way things move."""
    answers = {a["question_id"]: a["answer"] for a in json.loads((qa / "test_a.json").read_text())}
    asked = {q["question_id"]: q["question"] for q in json.loads((qa / "test_q.json").read_text())}
    hits: dict[str, list[bool]] = {"kind": [], "direction": []}
    for row in json.loads(predictions.read_text()):
        question = asked[row["question_id"]]
        key = (
            "kind"
            if question.startswith("what kind of motion")
            else "direction"
            if question.startswith("which way")
            else None
        )
        if key:
            hits[key].append(row["answer"] == answers[row["question_id"]])
    return {key: statistics.fmean(values) for key, values in hits.items() if values}


def table(rows: dict[str, list[dict[str, float]]], title: str) -> Table:
    """Mean over seeds (and the spread of Motion and All) per feature source."""
    out = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    out.add_column("Features")
    for header in HEADERS:
        out.add_column(header, justify="right")
    for name, runs in rows.items():
        cells = []
        for key in COLUMNS:
            values = [100 * r[key] for r in runs]
            spread = f"±{statistics.stdev(values):.1f}" if len(values) > 1 and key in ("motion", "all") else ""
            cells.append(f"{statistics.fmean(values):.1f}{spread}")
        out.add_row(name, *cells)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="synthetic dataset (clipcop data synth --qa)")
    parser.add_argument("--vcop", type=Path, required=True, help="VCOP checkpoint (best.safetensors)")
    parser.add_argument(
        "--supervised", type=Path, default=None, help="random init trained on action recognition (finetune --random)"
    )
    parser.add_argument(
        "--finetuned", type=Path, default=None, help="VCOP checkpoint fine-tuned (finetune --checkpoint)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clipcop-vqa-bench"))
    args = parser.parse_args()
    qa = args.data / "qa"
    if not (qa / "train_q.json").is_file():
        write_synthetic_qa(args.data)
    args.work.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=False, width=120)
    console.print(f"{len(os.sched_getaffinity(0))} CPU cores; seeds {args.seeds}; E-SA {args.epochs} epochs")
    results: dict[str, list[dict[str, Any]]] = {}
    for name, source in sources(args.vcop, args.supervised, args.finetuned).items():
        started = time.perf_counter()
        features = features_for(name, source, args.data, args.work)
        results[name] = []
        for seed in args.seeds:
            out = args.work / f"vqa-{name.replace(' ', '-')}-s{seed}"
            results[name].append(run(features, qa, seed, out, {"epochs": args.epochs}))
            motion = results[name][-1]["test"]["accuracy"]["motion"]
            console.print(f"{name} seed {seed}: test motion accuracy {100 * motion:.1f}%")
        console.print(f"{name}: {time.perf_counter() - started:.0f} s for extraction and {len(args.seeds)} trainings")
    rows = {name: [r["test"]["accuracy"] for r in runs] for name, runs in results.items()}
    rows["majority per type"] = [next(iter(results.values()))[0]["majority_baseline"]["accuracy"]]
    counts = next(iter(results.values()))[0]["test"]["questions"]
    console.print(table(rows, f"Test accuracy (%), mean over seeds {args.seeds}; questions: {counts}"))
    for name, runs in results.items():
        kind = statistics.fmean(100 * r["motion_questions"]["kind"] for r in runs)
        direction = statistics.fmean(100 * r["motion_questions"]["direction"] for r in runs)
        console.print(f"{name}: motion questions, kind of motion {kind:.1f}%, which way {direction:.1f}%")
    summary = {"seeds": args.seeds, "epochs": args.epochs, "results": results}
    (args.work / "summary.json").write_text(json.dumps(summary, indent=2))
    console.print(f"per-run results in {args.work}/summary.json")


if __name__ == "__main__":
    main()
