"""Decoders compared on VCOP's access pattern: random tuples of 3 clips x 16 frames, resized at decode time.

Inputs are written by the script: UCF101-like 320x240, 25 fps, ~7 s videos with texture and motion, as
MPEG-4 Part 2 in AVI (UCF101's codec; a keyframe every 12 frames) and as H.264 in MP4 (``libx264`` from
PyAV's wheel, CRF 24 and x264's default keyframe interval of 250, so one keyframe per 7 s video, as in
much camera and web footage). Each backend reads the same tuples (16-8-3, frames resized to 128x171
inside the decoder, one reader opened per tuple as clipcop does) in a worker process pinned to ONE CPU
with ``sched_setaffinity`` (and one decoder thread, ``OMP_NUM_THREADS=1``). Rates count the CPU seconds
the worker used (``time.process_time``, its threads included), so they are per core, and other work on
a shared machine stretches the wall clock rather than the rates. Measurements are interleaved: every
round runs every backend once, in rotating order; the table gives the median rates and the median (and
range) of each round's rate over PyAV's in that round.

decord 0.6 and decord2 both install as ``import decord``, so each backend runs in the interpreter named
for it; ``--python NAME=PATH`` (NAME one of ``pyav``, ``decord06``, ``decord2``, ``torchcodec``) adds a
backend run by that Python, which must import numpy and the backend's library (and clipcop from
``PYTHONPATH``). Exactness is measured against PyAV at full size (no resize): the largest and mean
absolute difference per pixel, and how many requested indices return the same frame PyAV returns
(the nearest of PyAV's frames to the one returned); and, for the resized frames, the mean absolute
difference from PyAV's resize (each library resizes with its own FFmpeg build's bilinear filter).

    python benchmarks/decode.py --python decord06=/tmp/d06/bin/python --python decord2=/tmp/d2/bin/python \\
        --python torchcodec=/tmp/tc/bin/python --rounds 5 --seconds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZE = (128, 171)
"""Decode-time resize target (height, width), the paper's Sec. IV-A."""
CLIP, INTERVAL, TUPLE = 16, 8, 3
QUALITY = {".avi": 2, ".mp4": 6}
"""The writer's MPEG-4 quantiser (as the other benchmarks' inputs) and H.264 CRF 24 (near x264's default 23)."""
BACKENDS = ("pyav", "decord06", "decord2", "torchcodec")


# --------------------------------------------------------------------------- worker (any interpreter)


def _pin_to_one_cpu(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def _reader(backend: str) -> Any:
    """``read(path, indices, size)`` for ``backend``: clipcop's own backend where clipcop has one."""
    if backend in ("decord06", "decord2"):
        import decord

        expected = "0.6" if backend == "decord06" else "3."
        if not decord.__version__.startswith(expected):
            raise SystemExit(f"{backend}: this interpreter imports decord {decord.__version__}")
        from clipcop.videos.decord_backend import BACKEND

        return BACKEND.read
    if backend == "pyav":
        from clipcop.videos.pyav_backend import BACKEND as PYAV

        return PYAV.read
    if backend == "torchcodec":
        import torch

        torch.set_num_threads(1)
        from torchcodec.decoders import VideoDecoder
        from torchcodec.transforms import Resize

        def read(path: Path, indices: list[int], size: tuple[int, int] | None) -> np.ndarray:
            transforms = [Resize(size)] if size is not None else None
            decoder = VideoDecoder(
                str(path), dimension_order="NHWC", num_ffmpeg_threads=1, seek_mode="exact", transforms=transforms
            )
            frames: np.ndarray = decoder.get_frames_at(indices).data.numpy()
            return frames

        return read
    raise SystemExit(f"unknown backend {backend}")


def _version(backend: str) -> str:
    if backend.startswith("decord"):
        import decord

        return f"{'decord' if backend == 'decord06' else 'decord2'} {decord.__version__}"
    if backend == "torchcodec":
        import torchcodec

        return f"TorchCodec {torchcodec.__version__}"
    import av

    return f"PyAV {av.__version__}"


def worker(backend: str, plan_file: Path, out: Path, cpu: int, seconds: float, exact: bool) -> None:
    """Read the plan's tuples for ``seconds`` on one CPU; write rates (and full-size frames if ``exact``)."""
    _pin_to_one_cpu(cpu)
    plan = json.loads(plan_file.read_text())
    read = _reader(backend)
    size = (SIZE[0], SIZE[1])
    result: dict[str, Any] = {"backend": backend, "version": _version(backend)}
    if exact:
        arrays = {}
        for k, (path, indices) in enumerate(plan["exact"]):
            arrays[f"f{k}"] = read(Path(path), indices, None)
            arrays[f"r{k}"] = read(Path(path), indices, size)
        np.savez(out.with_suffix(".npz"), **arrays)
    tuples = plan["tuples"]
    read(Path(tuples[0][0]), tuples[0][1], size)  # warm-up: libraries loaded, file in the page cache
    count, frames, k = 0, 0, 0
    start = time.process_time()  # CPU seconds of this process, its decoder threads included
    while time.process_time() - start < seconds:
        path, indices = tuples[k % len(tuples)]
        got = read(Path(path), indices, size)
        assert got.shape == (len(indices), *size, 3), got.shape
        count, frames, k = count + 1, frames + len(indices), k + 1
    elapsed = time.process_time() - start
    result |= {"tuples_per_s": count / elapsed, "frames_per_s": frames / elapsed}
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- driver (clipcop's venv)


def _make_videos(folder: Path, count: int, frames: int) -> dict[str, list[Path]]:
    import av

    from clipcop.synth.motions import MOTIONS
    from clipcop.synth.video import render_video
    from clipcop.videos.writer import write_video

    suffixes = [".avi"] + ([".mp4"] if "libx264" in av.codecs_available else [])
    if ".mp4" not in suffixes:
        print("note: this PyAV has no libx264 encoder; H.264 MP4 inputs are left out", file=sys.stderr)
    motions = sorted(MOTIONS)
    videos: dict[str, list[Path]] = {s: [] for s in suffixes}
    for i in range(count):
        video, _ = render_video(
            motions[i % len(motions)], np.random.default_rng(i), frames=frames, height=240, width=320
        )
        for suffix in suffixes:
            path = folder / f"v{i}{suffix}"
            if not path.is_file():
                write_video(path, video, quality=QUALITY[suffix])
            videos[suffix].append(path)
    return videos


def _plan(videos: list[Path], frames: int, tuples: int, seed: int) -> dict[str, Any]:
    from clipcop.config import TupleSpec
    from clipcop.sampling.tuples import sample_tuple

    spec = TupleSpec(clip_len=CLIP, interval=INTERVAL, tuple_len=TUPLE)
    rng = np.random.default_rng(seed)
    plan = []
    for k in range(tuples):
        sample = sample_tuple(frames, spec, rng)
        indices = sorted({s + j for s in sample.starts for j in range(CLIP)})
        plan.append((str(videos[k % len(videos)]), indices))
    # Exactness: one tuple per video plus the first and last frames, compared at full size.
    picks = [(str(v), sorted({0, frames - 1, *plan[k][1][::5]})) for k, v in enumerate(videos)]
    return {"tuples": plan, "exact": picks}


def _run(python: str, backend: str, plan: Path, out: Path, cpu: int, seconds: float, exact: bool) -> dict[str, Any]:
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [python, __file__, "--worker", backend, "--plan", str(plan), "--out", str(out), "--cpu", str(cpu)]
    cmd += ["--seconds", str(seconds)] + (["--exact"] if exact else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"backend": backend, "error": tail[:160]}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _exactness(videos: list[Path], other: Path, pyav: Path, plan: dict[str, Any]) -> tuple[int, float, int, int, float]:
    """Max and mean absolute difference against PyAV at full size; hits: returned frames whose nearest
    PyAV frame (within 3 either side) is the one requested; mean absolute difference of the resized frames."""
    from clipcop.videos.decoder import probe_video, read_frames

    got, theirs = np.load(other), np.load(pyav)
    resized = float(
        np.mean([np.abs(got[f"r{k}"].astype(np.int16) - theirs[f"r{k}"]).mean() for k in range(len(videos))])
    )
    worst, total, pixels, hits, asked = 0, 0.0, 0, 0, 0
    for k, (video, (_, indices)) in enumerate(zip(videos, plan["exact"], strict=True)):
        count = probe_video(video, backend="pyav").num_frames
        ref = read_frames(video, list(range(count)), backend="pyav").astype(np.int16)
        frames = got[f"f{k}"].astype(np.int16)
        if frames.shape[1:] != ref.shape[1:]:
            return -1, float("nan"), 0, len(indices), resized
        for frame, index in zip(frames, indices, strict=True):
            diff = np.abs(frame - ref[index])
            worst, total, pixels = max(worst, int(diff.max())), total + float(diff.sum()), pixels + diff.size
            lo = max(0, index - 3)
            near = np.abs(ref[lo : index + 4] - frame).mean(axis=(1, 2, 3))
            hits += int(near[index - lo] <= near.min())  # a still scene's equal neighbours tie: a hit
            asked += 1
    return worst, total / pixels, hits, asked, resized


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| input | backend | frames/s per core | tuples/s per core | vs PyAV (range) "
        "| max abs diff | mean abs diff | same frame | mean abs diff, resized |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['input']} | {r['label']} | failed: {r['error']} | | | | | | |")
            continue
        lines.append(
            f"| {r['input']} | {r['label']} | {r['frames_per_s']:.0f} | {r['tuples_per_s']:.2f} | "
            f"{r['ratio']:.2f}x ({r['spread'][0]:.2f}-{r['spread'][1]:.2f}) | {r['max']} | {r['mean']:.2f} | "
            f"{r['hits']}/{r['asked']} | {r['resized']:.2f} |"
        )
    return "\n".join(lines)


def driver(args: argparse.Namespace) -> None:
    pythons = {"pyav": sys.executable}
    for item in args.python:
        name, _, path = item.partition("=")
        if name not in BACKENDS or not path:
            raise SystemExit(f"--python wants NAME=PATH with NAME in {', '.join(BACKENDS)}")
        pythons[name] = path
    frames = int(args.duration * 25)
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    folder = Path(args.folder or tempfile.mkdtemp(prefix="clipcop-decode-"))
    folder.mkdir(parents=True, exist_ok=True)
    inputs = _make_videos(folder, args.videos, frames)
    rows = []
    for suffix, videos in inputs.items():
        plan = _plan(videos, frames, args.tuples, args.seed)
        plan_file = folder / f"plan{suffix}.json"
        plan_file.write_text(json.dumps(plan))
        rates: dict[str, list[dict[str, Any]]] = {name: [] for name in pythons}
        names = list(pythons)
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                out = folder / f"{name}{suffix}.json"
                rates[name].append(_run(pythons[name], name, plan_file, out, cpu, args.seconds, exact=round_ == 0))
        label = {".avi": "MPEG-4 AVI", ".mp4": "H.264 MP4"}[suffix]
        for name in names:
            good = [r for r in rates[name] if "error" not in r]
            if not good:
                rows.append({"input": label, "label": name, "error": rates[name][0]["error"]})
                continue
            tps = statistics.median(r["tuples_per_s"] for r in good)
            # Each round's rate over PyAV's in the same round: a load that slows one round slows both.
            ratios = sorted(
                r["tuples_per_s"] / p["tuples_per_s"]
                for r, p in zip(rates[name], rates["pyav"], strict=True)
                if "error" not in r and "error" not in p
            )
            fps = statistics.median(r["frames_per_s"] for r in good)
            worst, mean, hits, asked, resized = _exactness(
                videos, folder / f"{name}{suffix}.npz", folder / f"pyav{suffix}.npz", plan
            )
            rows.append(
                {
                    "input": label,
                    "label": good[0]["version"],
                    "tuples_per_s": tps,
                    "frames_per_s": fps,
                    "ratio": statistics.median(ratios),
                    "spread": (ratios[0], ratios[-1]),
                    "max": worst,
                    "mean": mean,
                    "hits": hits,
                    "asked": asked,
                    "resized": resized,
                }
            )
    print(f"{args.videos} videos per input, {frames} frames of 320x240 at 25 fps; tuples {CLIP}-{INTERVAL}-{TUPLE}")
    print(f"resized at decode to {SIZE[0]}x{SIZE[1]}; one process pinned to CPU {cpu}; median of {args.rounds} rounds")
    print(_table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", default=[], metavar="NAME=PATH", help="backend interpreter")
    parser.add_argument("--videos", type=int, default=4, help="videos per input codec")
    parser.add_argument("--duration", type=float, default=7.0, help="seconds per video")
    parser.add_argument("--tuples", type=int, default=64, help="distinct tuples in the plan")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0, help="CPU seconds per backend per round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="the one CPU every measurement runs on")
    parser.add_argument("--folder", default=None, help="where the videos are written (kept; reused)")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--exact", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.plan, args.out, args.cpu, args.seconds, args.exact)
    else:
        driver(args)


if __name__ == "__main__":
    main()
