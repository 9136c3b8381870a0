"""The paper's Fig. 4 and Table I "*" rows in miniature, on the synthetic data, several seeds.

    python benchmarks/curriculum.py --seeds 0 1 2 --epochs 15 --sample-epochs 10 [--scoring fixed]

Task-based: tl=4 initialised from the tl=3 model (backbone + pair layer) against tl=4 from scratch, both
for --epochs epochs; validation order accuracy per epoch (chance 4.2%). Sample-based: from the tl=3
model, train a scoring window (3 epochs, threshold 0.8, --scoring as the command's), drop the easy
samples and continue from the window's model on the hard ones, against training on all samples from
that same model for the same epochs; test order accuracy.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _synthetic_runs import QUIET, demo_pretrain_config, synthetic_data, vcop_checkpoint
from clipcop.engine.run_dir import read_metrics
from clipcop.workflows.curriculum import curriculum_sample
from clipcop.workflows.pretrain import pretrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--sample-epochs", type=int, default=10)
    parser.add_argument("--scoring", choices=["training", "fixed"], default="training")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "clipcop-bench-synthetic")
    args = parser.parse_args()
    data = synthetic_data()
    curves: dict[str, list[list[float]]] = {"curriculum": [], "scratch": []}
    sample_rows = []
    for seed in args.seeds:
        tl3 = vcop_checkpoint(data, seed, args.workdir)
        for name, init in (("curriculum", str(tl3)), ("scratch", None)):
            out = args.workdir / f"tl4-{name}-seed{seed}-e{args.epochs}"
            if not (out / "test_order_accuracy.json").is_file():
                config = demo_pretrain_config(data, seed, out).with_options(
                    tuple_len=4,
                    epochs=args.epochs,
                    init=init,
                    resume=out.exists(),
                )
                pretrain(config, reporter=QUIET)
            curves[name].append([m["val_acc"] for m in read_metrics(out)])
        base = demo_pretrain_config(data, seed, args.workdir).with_options(epochs=args.sample_epochs)
        hard = curriculum_sample(
            tl3,
            base,
            window=3,
            threshold=0.8,
            scoring=args.scoring,
            compare_plain=True,
            reporter=QUIET,
            out=args.workdir / f"sample-{args.scoring}-seed{seed}-e{args.sample_epochs}",
        )
        plain = hard.plain.test_accuracy if hard.plain else float("nan")
        cont = hard.continued.test_accuracy if hard.continued else float("nan")
        sample_rows.append((seed, hard.dropped, hard.kept, plain, cont))
        print(
            f"seed {seed}: tl=4 final val acc curriculum {curves['curriculum'][-1][-1]:.1%} "
            f"scratch {curves['scratch'][-1][-1]:.1%}; hard samples kept {hard.kept}/{hard.kept + hard.dropped}, "
            f"test acc plain {plain:.1%} hard {cont:.1%}",
            flush=True,
        )
    print(f"\nFig. 4 in miniature: validation order accuracy, tl=4 (chance 4.2%), mean of seeds {args.seeds}")
    print("| epoch | tl=4 from tl=3 (task curriculum) | tl=4 from scratch |")
    print("| --- | --- | --- |")
    for epoch in range(args.epochs):
        mean_c = sum(c[epoch] for c in curves["curriculum"]) / len(curves["curriculum"])
        mean_s = sum(c[epoch] for c in curves["scratch"]) / len(curves["scratch"])
        print(f"| {epoch + 1} | {100 * mean_c:.1f}% | {100 * mean_s:.1f}% |")
    print(
        f"\nSample-based curriculum ({args.scoring} scoring): {args.sample_epochs} epochs from the window's model, "
        "test order accuracy"
    )
    print("| seed | easy dropped | hard kept | continued on all | continued on hard * |")
    print("| --- | --- | --- | --- | --- |")
    for seed, dropped, kept, plain, cont in sample_rows:
        print(f"| {seed} | {dropped} | {kept} | {100 * plain:.1f}% | {100 * cont:.1f}% |")


if __name__ == "__main__":
    main()
