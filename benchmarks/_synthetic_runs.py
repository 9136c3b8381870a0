"""Shared runs for the synthetic-data benchmarks: the demo's VCOP setting, reused across scripts by seed."""

from __future__ import annotations

from pathlib import Path

from clipcop.engine.reporting import Reporter
from clipcop.synth.dataset import SynthSpec, ensure_synthetic
from clipcop.workflows.cache import cache_frames
from clipcop.workflows.demo import DemoConfig
from clipcop.workflows.pretrain import PretrainConfig, pretrain

QUIET = Reporter(quiet=True)


def synthetic_data() -> Path:
    """The built-in synthetic dataset, with its frame cache at the demo size."""
    data, _ = ensure_synthetic(SynthSpec())
    cache_frames(data, resize=DemoConfig().pretrain_config(data).geometry.resize, reporter=QUIET)
    return data


def demo_pretrain_config(data: Path, seed: int, out: Path) -> PretrainConfig:
    """The demo's VCOP setting for ``seed`` writing to ``out``."""
    return DemoConfig(seed=seed).pretrain_config(data).with_options(seed=seed, out=str(out))


def vcop_checkpoint(data: Path, seed: int, workdir: Path) -> Path:
    """Best tl=3 checkpoint of the demo setting for ``seed`` (trained once, then reused)."""
    out = workdir / f"vcop-tl3-seed{seed}"
    best = out / "best.safetensors"
    if not (out / "test_order_accuracy.json").is_file():
        pretrain(demo_pretrain_config(data, seed, out), reporter=QUIET)
    return best
