"""The choices the specs accept (``clipcop.config``, the bottom layer) are the ones the layers above
implement: a new backbone or decoder must be added to both, and this test says so. Defaults that depend on
the machine follow it."""

from __future__ import annotations

import os

import pytest

from clipcop.backbones import ARCHS, TORCHVISION_BACKBONES, build_backbone
from clipcop.config import (
    ARCH_NAMES,
    BACKENDS,
    TAPS,
    TORCHVISION_ARCHS,
    DataSpec,
    ModelSpec,
    available_cores,
    default_workers,
    helper_processes,
)
from clipcop.errors import UsageError
from clipcop.videos.decoder import _backend_modules


def test_the_arch_choices_are_the_registered_backbones() -> None:
    assert set(ARCH_NAMES) == set(ARCHS)
    assert ModelSpec().arch in ARCHS
    assert set(TORCHVISION_ARCHS) == set(TORCHVISION_BACKBONES)
    for arch in ARCH_NAMES:  # the taps --layer and --freeze-until offer
        assert [info.name for info in build_backbone(arch, width=4).feature_info] == list(TAPS), arch


def test_the_backend_choices_are_the_decoders_and_auto() -> None:
    assert set(BACKENDS) == {"auto", *_backend_modules()}


@pytest.mark.parametrize(
    ("cores", "local", "workers"), [(1, None, 0), (2, None, 1), (4, None, 3), (64, None, 8), (16, "4", 3)]
)
def test_default_workers_follow_the_cores_this_process_may_use(
    cores: int, local: str | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker per core less one for the training loop, at most 8, the cores shared by torchrun's processes
    on the node: never more workers than cores (PyTorch warns), as the former default of 4 was on 2 cores."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    if local is None:
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", local)
    assert available_cores() == cores
    assert default_workers() == workers == DataSpec().workers
    assert helper_processes(None) == cores and helper_processes(3) == 3  # data commands: every core unless told
    with pytest.raises(UsageError, match="--workers must be 0 or more, not -3"):
        helper_processes(-3)
