"""How long a training epoch takes on the CPU, estimated before the first one, so that a full-size run there
says up front that it will take hours (and what runs in minutes instead).

The estimate is the epoch's floating-point work, counted on the meta device (shapes only: no memory, no
compute), divided by the rate this CPU runs a 3D convolution at, timed once (about a second on 2 cores). It is
rough, within a factor of two or so: data loading is left out, and a shared machine's speed varies (on a busy
2-core machine, 12 minutes estimated for an R3D epoch on the synthetic set that ran at a pace of 14).
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from clipcop.backbones import build_backbone
from clipcop.config import ModelChoices, TrainingSpec
from clipcop.engine.reporting import Reporter

SLOW_EPOCH_SECONDS = 300.0
"""An epoch estimated to take longer than this on the CPU is worth a warning."""
SLOWEST_CPU_FLOPS = 1e9
"""Fewer floating-point operations per second than any CPU core runs 3D convolutions at: an epoch that would
not be slow even at this rate needs no counting or timing (the small settings of tests and quick checks)."""
FLOPS_BOUND_PER_VOXEL = 600
"""Forward and backward operations of a clipcop backbone per voxel of a clip per squared channel of width, at
most (R3D has about 140, C3D 280 at width 64): an upper bound found without building a model."""
SMALL_SETTINGS = "--width 16 --cl 8 --it 4 --resize 40x52 --crop 32"
"""Settings that train in minutes on a CPU (the ``clipcop pretrain`` example)."""


def clip_flops(arch: str, width: int, choices: ModelChoices, *, clip_len: int, crop: int) -> int:
    """Floating-point operations of the backbone's forward and backward pass per clip of ``clip_len`` frames
    cropped to ``crop``, counted on the meta device; the run's random streams are left as they were."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        backbone = build_backbone(arch, width=width, choices=choices)
        clips = torch.empty(2, 3, clip_len, crop, crop)  # (B, C, T, H, W); batch norm trains on two or more
        with FlopCounterMode(display=False) as counter:
            backbone(clips).sum().backward()
    return int(counter.get_total_flops()) // 2


def cpu_flops_per_second() -> float:
    """The rate this CPU runs a 3D convolution's forward and backward pass at (64 channels, 2x8x56x56, about 33
    GFLOP), timed on a second pass: the first one sets up the convolution's kernels."""
    with torch.random.fork_rng(devices=[]):
        conv = nn.Conv3d(64, 64, kernel_size=3, padding=1)
        x = torch.rand(2, 64, 8, 56, 56)  # (B, C, T, H, W)
        with FlopCounterMode(display=False) as counter:
            conv(x).sum().backward()
        started = time.perf_counter()
        conv(x).sum().backward()
        seconds = time.perf_counter() - started
    return float(counter.get_total_flops()) / max(seconds, 1e-9)


def epoch_clips(*, clips_per_sample: int, samples: int, batch_size: int, steps: int | None) -> int:
    """Clips an epoch trains on: ``samples`` in batches of ``batch_size`` (at most ``steps`` batches when
    given), ``clips_per_sample`` each (a VCOP tuple has ``tl``)."""
    batches = math.ceil(samples / batch_size)
    if steps is not None:
        batches = min(batches, steps)
    return clips_per_sample * min(samples, batches * batch_size)


def describe_seconds(seconds: float) -> str:
    """``"about 40 minutes"``, ``"about 3.5 hours"``, ``"about 2 days"``: the rough size of a duration."""
    if seconds < 90 * 60:
        minutes = max(1, round(seconds / 60))
        return f"about {minutes} minute{'s' if minutes > 1 else ''}"
    if seconds < 48 * 3600:
        return f"about {seconds / 3600:.1f} hours"
    return f"about {seconds / 86400:.0f} days"


def warn_slow_cpu_epoch(
    device: torch.device,
    reporter: Reporter,
    *,
    arch: str,
    width: int,
    choices: ModelChoices,
    clip_len: int,
    crop: int,
    training: TrainingSpec,
    clips_per_sample: int,
    samples: int,
) -> float | None:
    """On the CPU, estimate an epoch's time and warn in one line when it is long (:data:`SLOW_EPOCH_SECONDS`),
    pointing to ``clipcop demo`` and small settings. Returns the estimate in seconds; None when not on the CPU,
    when nobody would read the warning, or when even the slowest CPU would not make it long.

    ``arch``, ``width`` and ``choices`` name the backbone (any ``--arch``, torchvision's included); a training
    sample is ``clips_per_sample`` clips (a VCOP tuple's ``tl``, 1 for fine-tuning) of ``clip_len`` frames
    cropped to ``crop``."""
    if device.type != "cpu" or not reporter.enabled or samples < 1:
        return None
    clips = epoch_clips(
        clips_per_sample=clips_per_sample,
        samples=samples,
        batch_size=training.batch_size,
        steps=training.steps_per_epoch,
    )
    bound = FLOPS_BOUND_PER_VOXEL * max(width, 3) ** 2 * clip_len * crop**2 * clips
    if bound / SLOWEST_CPU_FLOPS <= SLOW_EPOCH_SECONDS:  # small settings: fast on any CPU
        return None
    per_clip = clip_flops(arch, width, choices, clip_len=clip_len, crop=crop)
    seconds = per_clip * clips / cpu_flops_per_second()
    if seconds > SLOW_EPOCH_SECONDS:
        reporter.warn(
            f"one epoch will take {describe_seconds(seconds)} on this CPU ({arch} width "
            f"{width}, {clip_len}-frame clips cropped to {crop}, {samples} training samples); "
            f"for minutes instead, run `clipcop demo` or use small settings ({SMALL_SETTINGS}), or a GPU"
        )
    return seconds
