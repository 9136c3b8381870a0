"""Order accuracy of the demo's VCOP run trained from the raw frame cache and from the JPEG store, same seed.

The two runs see the same tuples, crops and batches; only JPEG's pixel changes differ, so the issue asks for
the same order of accuracy, not the same weights. Uses the built-in synthetic set (252 training videos) at
the demo's size (R3D width 16, 8-frame clips 8 apart, 40x52 frames, 32 crops, Adam), as ``clipcop demo``.

    python benchmarks/jpeg_training.py --seeds 0 1 2 --epochs 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _synthetic_runs import QUIET, demo_pretrain_config
from clipcop.synth.dataset import SynthSpec, ensure_synthetic
from clipcop.workflows.cache import cache_frames
from clipcop.workflows.demo import DemoConfig
from clipcop.workflows.pretrain import pretrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=30, help="The demo's 30.")
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "clipcop-jpeg-training")
    args = parser.parse_args()
    data, _ = ensure_synthetic(SynthSpec())
    resize = DemoConfig().pretrain_config(data).geometry.resize
    stores = {
        "raw cache": cache_frames(data, resize=resize, out=args.work / "raw", reporter=QUIET),
        f"JPEG q{args.quality}": cache_frames(
            data, resize=resize, out=args.work / "jpeg", format="jpeg", quality=args.quality, reporter=QUIET
        ),
    }
    folders = {"raw cache": args.work / "raw", f"JPEG q{args.quality}": args.work / "jpeg"}
    print(f"built-in synthetic set, demo setting, {args.epochs} epochs; caches at {resize[0]}x{resize[1]}:")
    for name, report in stores.items():
        print(f"- {name}: {report.stored_bytes / 2**20:.1f} MiB")
    print("\n| seed | " + " | ".join(f"{n}: order accuracy (time)" for n in folders) + " | difference |")
    print("| ---: | " + " | ".join("---:" for _ in folders) + " | ---: |")
    for seed in args.seeds:
        cells, accuracies = [], []
        for folder in folders.values():
            config = demo_pretrain_config(data, seed, args.work / f"run-{folder.name}-seed{seed}")
            config = config.with_options(frame_cache=str(folder), epochs=args.epochs, seed=seed)
            started = time.perf_counter()
            result = pretrain(config, reporter=QUIET)
            accuracies.append(result.test_accuracy)
            cells.append(f"{result.test_accuracy:.1%} ({time.perf_counter() - started:.0f} s)")
        print(f"| {seed} | " + " | ".join(cells) + f" | {accuracies[1] - accuracies[0]:+.1%} |")


if __name__ == "__main__":
    main()
