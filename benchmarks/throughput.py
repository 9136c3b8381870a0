"""Training throughput of the three backbones: the published code's loop beside clipcop's, same run.

    python benchmarks/throughput.py                       # CUDA if present: 3x16x112x112, width 64
    python benchmarks/throughput.py --device cpu --width 16 --clip-len 8 --crop 56 --steps 6
    python benchmarks/throughput.py --archs r3d --sweep 8 16 32 64 128 256   # peak memory per batch size
    python benchmarks/throughput.py --archs r3d --batch 128 --compile          # does torch.compile pay?

Per arch (tl=3 tuples):
- published style: fp32, 8 tuples per step, the backbone called once per clip position;
- clipcop: one backbone call over all batch x tl clips, --batch tuples per step, and on CUDA bf16
  autocast + channels_last_3d (the defaults of ``clipcop pretrain``);
- forward only (clips/s) in clipcop's numerics, the extraction workload.
Peak GPU memory is printed for each clipcop row. ``--sweep`` instead runs clipcop's training step alone at
each batch size given (tuples/s and peak memory; a size that runs out of memory is reported as such), and
``--compile`` puts clipcop's row beside the same model under ``torch.compile`` with its compile time.
End-to-end pretraining from video files is measured by running ``clipcop pretrain`` itself
(``benchmarks/device_checks.sh``; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from clipcop.backbones import ARCHS, build_backbone
from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.heads.vcop import VCOPModel


class PerClipVCOP(nn.Module):
    """The published forward: the backbone runs once per clip position of the tuple."""

    def __init__(self, model: VCOPModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, tuples: torch.Tensor) -> torch.Tensor:
        features = torch.stack([self.model.backbone(tuples[:, i]) for i in range(tuples.shape[1])], dim=1)
        return self.model.head(features)


def calls_per_second(call: Callable[[], object], args: argparse.Namespace) -> float:
    """Run ``call`` ``args.warmup`` times untimed, then ``args.steps`` times timed (GPU work included)."""
    device = torch.device(args.device)
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
        call()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return args.steps / (time.perf_counter() - started)


def steps_per_second(
    model: nn.Module, batch: int, args: argparse.Namespace, runtime: Runtime | None, *, compiled: bool = False
) -> float:
    """SGD steps per second on one fixed batch of ``batch`` tuples.

    ``runtime=None`` is the published style: a float ``(B, tl, 3, T, H, W)`` batch in true fp32 (TF32,
    which ``resolve_runtime`` may have turned on, is off while it runs). With a runtime the step is
    clipcop's: a uint8 channels-last batch as the loader delivers it, converted by :meth:`Runtime.clips`
    inside the step, in the runtime's precision and memory format.
    """
    device = torch.device(args.device)
    shape = (batch, 3, args.clip_len, args.crop, args.crop)
    if runtime is None:
        x = torch.randn(batch, 3, 3, args.clip_len, args.crop, args.crop, device=device)
    else:
        x = torch.randint(0, 256, (*shape, 3), dtype=torch.uint8, device=device)
        model = runtime.prepare(model)
    y = torch.randint(0, 6, (batch,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    forward = torch.compile(model) if compiled else model  # as ``clipcop pretrain --compile`` does

    def step() -> None:
        inputs = x if runtime is None else runtime.clips(x)
        with contextlib.nullcontext() if runtime is None else runtime.autocast():
            loss = F.cross_entropy(forward(inputs).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    if runtime is None:
        matmul.allow_tf32 = cudnn.allow_tf32 = False
    try:
        return calls_per_second(step, args)
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


@torch.no_grad()
def clips_per_second(model: nn.Module, args: argparse.Namespace, runtime: Runtime) -> float:
    """Forward passes of single clips per second, inputs converted as in ``clipcop extract``."""
    device = torch.device(args.device)
    shape = (args.batch * 3, args.clip_len, args.crop, args.crop, 3)
    x = torch.randint(0, 256, shape, dtype=torch.uint8, device=device)
    model.eval()

    def forward() -> None:
        with runtime.autocast():
            model(runtime.clips(x))

    return len(x) * calls_per_second(forward, args)


def sweep(args: argparse.Namespace, runtime: Runtime) -> None:
    """clipcop's training step alone at each batch size of ``--sweep``: tuples/s and peak memory."""
    cuda = runtime.device.type == "cuda"
    total = f"{torch.cuda.get_device_properties(runtime.device).total_memory / 2**30:.0f} GiB" if cuda else "RAM"
    print("| arch | tuples per batch | clipcop step | peak memory |")
    print("| --- | --- | --- | --- |")
    for arch in args.archs:
        for batch in args.sweep:
            torch.manual_seed(0)
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            model = VCOPModel(build_backbone(arch, width=args.width), 3).to(runtime.device)
            try:
                speed = f"{batch * steps_per_second(model, batch, args, runtime):.1f} tuples/s"
                memory = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if cuda else "n/a"
            except torch.OutOfMemoryError:
                speed, memory = "out of memory", f"over {total}"
            del model
            print(f"| {arch} | {batch} | {speed} | {memory} |", flush=True)


def compiled(args: argparse.Namespace, runtime: Runtime) -> None:
    """clipcop's step eager and under ``torch.compile`` at ``--batch``; the compile time is the first steps'."""
    print(f"| arch | eager, {args.batch} tuples | torch.compile | compile + warm-up |")
    print("| --- | --- | --- | --- |")
    for arch in args.archs:
        speeds = []
        for compile_model in (False, True):
            torch.manual_seed(0)
            model = VCOPModel(build_backbone(arch, width=args.width), 3).to(runtime.device)
            started = time.perf_counter()
            speeds.append(args.batch * steps_per_second(model, args.batch, args, runtime, compiled=compile_model))
            warmup = time.perf_counter() - started - args.steps * args.batch / speeds[-1]
        ratio = speeds[1] / speeds[0]
        print(
            f"| {arch} | {speeds[0]:.1f} tuples/s | {speeds[1]:.1f} tuples/s ({ratio:.2f}x) | {warmup:.0f} s |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--archs", nargs="+", default=list(ARCHS))
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--clip-len", type=int, default=16)
    parser.add_argument("--crop", type=int, default=112)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--sweep", type=int, nargs="+", help="Batch sizes: clipcop's step alone, with peak memory.")
    parser.add_argument("--compile", action="store_true", help="clipcop's step eager vs torch.compile at --batch.")
    args = parser.parse_args()
    runtime = resolve_runtime(args.device)
    args.device = str(runtime.device)
    cuda = runtime.device.type == "cuda"
    name = torch.cuda.get_device_name(runtime.device) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; tuples 3x{args.clip_len}x{args.crop}x{args.crop}, width {args.width}")
    if args.sweep:
        sweep(args, runtime)
        return
    if args.compile:
        compiled(args, runtime)
        return
    print(
        "| arch | published style (fp32, 8 tuples, per-clip calls) | clipcop (uint8 in, one call, "
        f"{args.batch} tuples{', bf16 + channels_last_3d' if cuda else ''}) | forward only | peak memory |"
    )
    print("| --- | --- | --- | --- | --- |")
    for arch in args.archs:
        torch.manual_seed(0)
        published = PerClipVCOP(VCOPModel(build_backbone(arch, width=args.width), 3)).to(runtime.device)
        old = 8 * steps_per_second(published, 8, args, None)
        del published
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        ours_model = VCOPModel(build_backbone(arch, width=args.width), 3).to(runtime.device)
        ours = args.batch * steps_per_second(ours_model, args.batch, args, runtime)
        memory = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if cuda else "n/a"
        forward = clips_per_second(ours_model.backbone, args, runtime)
        ratio = f"{ours:.1f} tuples/s ({ours / old:.2f}x)"
        print(f"| {arch} | {old:.1f} tuples/s | {ratio} | {forward:.0f} clips/s | {memory} |", flush=True)


if __name__ == "__main__":
    main()
