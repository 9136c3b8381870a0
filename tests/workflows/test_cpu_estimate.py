"""A full-size run on the CPU says up front how long an epoch will take there; small settings say nothing and
cost nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch
from rich.console import Console

from clipcop.config import ARCH_NAMES, TORCHVISION_ARCHS, ModelChoices, TrainingSpec
from clipcop.engine.reporting import Reporter
from clipcop.workflows import cpu_estimate
from clipcop.workflows.cpu_estimate import (
    FLOPS_BOUND_PER_VOXEL,
    SLOW_EPOCH_SECONDS,
    clip_flops,
    describe_seconds,
    warn_slow_cpu_epoch,
)

UCF101_TRAIN = 9537
"""Training videos of UCF101's split 1."""
FULL: dict[str, Any] = {"arch": "r3d", "width": 64, "choices": ModelChoices(), "crop": 112, "training": TrainingSpec()}
"""The paper's R3D at full size."""


def _reporter() -> tuple[Reporter, io.StringIO]:
    text = io.StringIO()
    return Reporter(console=Console(file=text, width=400, highlight=False, markup=False)), text


def test_a_full_size_cpu_run_warns_in_one_line_with_the_epoch_time_and_what_to_run_instead() -> None:
    reporter, text = _reporter()
    seconds = warn_slow_cpu_epoch(
        torch.device("cpu"), reporter, **FULL, clip_len=16, clips_per_sample=3, samples=UCF101_TRAIN
    )
    lines = text.getvalue().splitlines()
    assert seconds is not None and seconds > SLOW_EPOCH_SECONDS  # 116 GFLOP a clip, 28,611 clips: 3.3 PFLOP
    assert len(lines) == 1 and lines[0].startswith("warning: one epoch will take about ")
    assert "r3d width 64, 16-frame clips cropped to 112" in lines[0]
    assert "`clipcop demo`" in lines[0] and "--width 16 --cl 8" in lines[0]


def test_small_settings_and_gpus_are_neither_timed_nor_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> float:
        raise AssertionError("timed a run that is fast on any CPU")

    monkeypatch.setattr(cpu_estimate, "clip_flops", never)
    monkeypatch.setattr(cpu_estimate, "cpu_flops_per_second", never)
    reporter, text = _reporter()
    tiny = {**FULL, "width": 4, "crop": 16}
    cpu = torch.device("cpu")
    assert warn_slow_cpu_epoch(cpu, reporter, **tiny, clip_len=4, clips_per_sample=3, samples=40) is None
    gpu = torch.device("cuda", 0)
    assert warn_slow_cpu_epoch(gpu, reporter, **FULL, clip_len=16, clips_per_sample=3, samples=UCF101_TRAIN) is None
    assert text.getvalue() == ""


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_the_bound_that_skips_counting_is_above_every_backbone_s_count(arch: str) -> None:
    for width, clip_len, crop in ((4, 4, 16), (64, 16, 112)):
        counted = clip_flops(arch, width, ModelChoices(), clip_len=clip_len, crop=crop)
        assert 0 < counted <= FLOPS_BOUND_PER_VOXEL * max(width, 3) ** 2 * clip_len * crop**2


def test_durations_read_roughly() -> None:
    assert [describe_seconds(s) for s in (20, 600, 4 * 3600, 5 * 86400)] == [
        "about 1 minute",
        "about 10 minutes",
        "about 4.0 hours",
        "about 5 days",
    ]


@pytest.mark.parametrize("arch", TORCHVISION_ARCHS)
def test_fine_tuning_torchvision_s_networks_on_the_cpu_is_estimated_too(arch: str) -> None:
    counted = clip_flops(arch, 64, ModelChoices(), clip_len=16, crop=112)
    assert 0 < counted <= FLOPS_BOUND_PER_VOXEL * 64**2 * 16 * 112**2
    reporter, text = _reporter()
    full = {**FULL, "arch": arch}
    seconds = warn_slow_cpu_epoch(torch.device("cpu"), reporter, **full, clip_len=16, clips_per_sample=1, samples=9537)
    assert seconds is not None and seconds > SLOW_EPOCH_SECONDS
    assert f"({arch} width 64, 16-frame clips cropped to 112, 9537 training samples)" in text.getvalue()
