"""Write a UCF101-sized dataset for extraction and pretraining benchmarks, cheaply.

    python benchmarks/ucf_sized.py /tmp/ucf-sized --videos 13320 --classes 101 --sources 64 --workers 16

``--sources`` distinct 320x240 MPEG-4 AVI files are rendered (in ``--workers`` processes); the dataset's
``--videos`` files are hard links to them in ``--classes`` class folders (the ``folder`` layout, split
70/30 by path hash), so every file is decoded in full by whoever reads it but only the sources take disk.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _videos import linked_dataset, ucf_like_videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="Dataset folder to write (sources go to OUT.sources).")
    parser.add_argument("--videos", type=int, default=13320)
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--sources", type=int, default=64)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--sources-dir", type=Path, help="Where the sources go (default OUT.sources; shared if reused)."
    )
    args = parser.parse_args()
    started = time.perf_counter()
    folder = args.sources_dir or args.out.with_name(args.out.name + ".sources")
    sources = ucf_like_videos(folder, args.sources, args.frames, workers=args.workers)
    linked_dataset(args.out, sources, args.videos, args.classes)
    print(
        f"{args.out}: {args.videos} videos in {args.classes} classes, links to {args.sources} distinct"
        f" 320x240 {args.frames}-frame videos ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
